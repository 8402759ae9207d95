"""Every refusal a visitor can meet has a kind sentence in every language the pages offer."""

from __future__ import annotations

from scas_lib.faces import enrollment
from scas_lib.web.texts import LANGUAGES, PAGE_TEXTS, VISITOR_ERRORS, all_texts


def test_every_enrollment_gate_has_its_sentence_in_chinese_and_english() -> None:
    gates = {
        cls.code
        for cls in vars(enrollment).values()
        if isinstance(cls, type)
        and issubclass(cls, enrollment.EnrollmentError)
        and cls is not enrollment.EnrollmentError
    }
    assert {"no_face", "multiple_faces", "face_too_small", "face_too_blurred", "extreme_pose",
            "unsupported_image", "image_too_large"} <= gates  # fmt: skip
    assert gates <= set(VISITOR_ERRORS)
    for texts in [*VISITOR_ERRORS.values(), *PAGE_TEXTS.values()]:
        assert set(texts) == set(LANGUAGES) and all(text.strip() for text in texts.values())
    # The Chinese texts are Chinese, not English left untranslated.
    assert all(
        any("\u4e00" <= char <= "\u9fff" for char in text)
        for name, text in all_texts()["zh"].items()
    )
