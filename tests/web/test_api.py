"""The web app's REST API on a real server (uvicorn on loopback), on the real catalog,
object store and face models, with real photos."""

from __future__ import annotations

import random
import time
from pathlib import Path

import requests

from scas_lib.catalog.records import Output
from scas_lib.catalog.tokens import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TRIES_BURST,
    CODE_TRIES_PER_MINUTE,
)
from scas_lib.events import ConsentText
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.storage import keys
from scas_lib.visitors.stage import enroll_visitor
from scas_lib.web.texts import VISITOR_ERRORS

from ..conftest import CONSENT
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, no_face_photo, portrait

VERSION = ConsentText().version


def enroll(
    web: WebServer, photo: bytes, *, name: str = "王小明", language: str = "zh",
    token: str | None = None, consent: bool = True, version: str = VERSION,
    remember: bool | None = None,
) -> requests.Response:  # fmt: skip
    data = {"name": name, "language": language, "consent": str(consent).lower(),
            "consent_version": version}  # fmt: skip
    if remember is not None:
        data["remember"] = str(remember).lower()
    return requests.post(
        web.api("/kiosk/enroll"),
        headers={"Authorization": f"Bearer {token or web.kiosk.token}"},
        data=data,
        files={"photo": ("selfie.jpg", photo, "image/jpeg")},
        timeout=60,
    )  # fmt: skip


def test_a_kiosk_enrolls_a_visitor_whose_page_opens_with_its_token_or_short_code(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    answer = enroll(web, portrait(photos).path.read_bytes())

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["display_name"] == "王小明"
    token = body["page_url"].rsplit("/v/", 1)[1]
    assert len(token) >= 40 and body["visitor_id"] not in token
    assert body["qr_svg"].startswith("data:image/svg+xml")
    with web.services.catalog() as catalog:
        visitor = catalog.visitors.get(EVENT, body["visitor_id"])
    assert visitor is not None and visitor.display_name == "王小明"
    assert (visitor.consent.version, visitor.consent.language) == (VERSION, "zh")

    for credential in (token, body["short_code"], body["short_code"].lower().replace("-", "")):
        status = requests.get(web.api(f"/visitor/{credential}"), timeout=10)
        assert status.status_code == 200, status.text
        assert status.json()["state"] == "waiting"  # the event has not even started
        assert status.json()["video_path"] is None
    page = requests.get(body["page_url"], timeout=10)
    assert page.status_code == 200 and "王小明" in page.text

    session = requests.get(
        web.api("/kiosk/session"), headers={"Authorization": f"Bearer {web.kiosk.token}"},
        timeout=10,
    ).json()  # fmt: skip
    assert session["event_id"] == EVENT and session["consent_version"] == VERSION
    assert set(session["consent_texts"]) == {"en", "zh"}


def test_short_codes_are_tried_at_a_limited_rate_and_a_right_one_costs_no_try(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    body = enroll(web, portrait(photos).path.read_bytes()).json()
    token, code = body["page_url"].rsplit("/v/", 1)[1], body["short_code"]
    for _ in range(CODE_TRIES_BURST + 10):  # more than the bucket holds: each gives it back
        assert requests.get(web.api(f"/visitor/{code}"), timeout=10).status_code == 200

    # A script trying codes: refused once the bucket is empty (it refills 1 a second).
    rng = random.Random(0)
    started, statuses = time.monotonic(), []
    while 429 not in statuses and len(statuses) < 3 * CODE_TRIES_BURST:
        guess = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        statuses.append(requests.get(web.api(f"/visitor/{guess}"), timeout=10).status_code)
    refilled = (time.monotonic() - started) * CODE_TRIES_PER_MINUTE / 60
    assert set(statuses[:-1]) == {404} and statuses[-1] == 429
    assert CODE_TRIES_BURST <= len(statuses) - 1 <= CODE_TRIES_BURST + refilled + 1

    # Meanwhile the right code waits too (it cannot be told from a guess before it is
    # looked up), in the visitor's language; the QR code's long token opens the page.
    limited = requests.get(web.api(f"/visitor/{code}"), timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["code"] == "code_tries_limited"
    page = requests.get(f"{web.url}/v/{code}", headers={"Accept-Language": "zh"}, timeout=10)
    assert page.status_code == 429
    assert VISITOR_ERRORS["code_tries_limited"]["zh"] in page.text
    assert requests.get(web.api(f"/visitor/{token}"), timeout=10).status_code == 200
    assert requests.delete(web.api(f"/visitor/{code}"), timeout=10).status_code == 429


def test_a_name_is_shown_as_typed_never_as_markup(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    name = '<img src=x onerror="alert(1)"> & Co'
    body = enroll(web, portrait(photos).path.read_bytes(), name=name).json()
    page = requests.get(body["page_url"], timeout=10).text
    assert name not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Co" in page
    headers = requests.get(body["page_url"], timeout=10).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"  # the address is the credential


def test_each_refusal_is_kind_in_the_visitors_language_and_stores_nothing(
    web: WebServer, photos: dict[str, SamplePhoto], engine: FaceEngine, tmp_path: Path
) -> None:
    person = portrait(photos).path.read_bytes()
    no_face = no_face_photo(portrait(photos), engine, tmp_path / "no-face.jpg").read_bytes()
    group = next(p for p in photos.values() if p.group_size > 1).path.read_bytes()
    cases = [
        (no_face, {}, 422, "no_face"),
        (group, {}, 422, "multiple_faces"),
        (b"%PDF-1.4 not a photo", {}, 422, "unsupported_image"),
        (person, {"consent": False}, 422, "consent_missing"),
        (person, {"version": "an-old-text"}, 409, "consent_changed"),
        (person, {"name": "  "}, 422, "name_missing"),
        (person, {"name": "Ana 🎉"}, 422, "invalid_name"),
    ]
    for photo, fields, status, code in cases:
        for language in ("zh", "en"):
            answer = enroll(web, photo, language=language, **fields)
            assert answer.status_code == status, (code, answer.text)
            assert answer.json() == {"code": code, "message": VISITOR_ERRORS[code][language]}
    with web.services.catalog() as catalog:
        assert catalog.visitors.for_event(EVENT) == []
    store = web.services.object_store()
    assert store.list(web.services.settings.bucket_enrollments, f"{EVENT}/") == []


def test_missing_wrong_and_revoked_tokens_are_refused(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    photo = portrait(photos).path.read_bytes()
    no_token = requests.post(web.api("/kiosk/enroll"), data={"name": "x"}, timeout=10)
    assert no_token.status_code == 401 and no_token.json()["code"] == "kiosk_not_paired"
    assert set(no_token.json()) == {"code", "message"}
    wrong = enroll(web, photo, token="scask_" + "A" * 43)
    assert wrong.status_code == 401 and wrong.json()["code"] == "kiosk_not_paired"
    # The page without its cookie is refused too.
    page = requests.get(f"{web.url}/kiosk/{EVENT}", timeout=10)
    assert page.status_code == 401 and 'data-code="kiosk_not_paired"' in page.text

    ok = enroll(web, photo)
    assert ok.status_code == 201
    with web.services.catalog() as catalog:
        assert catalog.kiosks.revoke(web.kiosk.kiosk.id)
    revoked = enroll(web, photo)
    assert revoked.status_code == 401 and revoked.json()["code"] == "kiosk_not_paired"
    paired = requests.get(web.pairing_url(), timeout=10)
    assert paired.status_code == 401

    # Visitor pages: a wrong token, a short code of the right form, nothing leaks.
    for credential in ("x" * 43, "ABCD-EFGH", "..%2F..%2Fetc%2Fpasswd"):
        api = requests.get(web.api(f"/visitor/{credential}"), timeout=10)
        assert api.status_code == 404 and api.json()["code"] in ("page_not_found", "not_found")
        html = requests.get(f"{web.url}/v/{credential}", timeout=10)
        assert html.status_code == 404 and "Traceback" not in html.text
        assert requests.delete(web.api(f"/visitor/{credential}"), timeout=10).status_code == 404

    # Operator endpoints: only the operator token, not a kiosk token, not nothing.
    for headers in ({}, {"Authorization": f"Bearer {web.kiosk.token}"},
                    {"Authorization": "Bearer wrong"}):  # fmt: skip
        answer = requests.get(web.api("/events"), headers=headers, timeout=10)
        assert answer.status_code == 401 and answer.json()["code"] == "not_authenticated"
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    events = requests.get(web.api("/events"), headers=operator, timeout=10)
    assert events.status_code == 200 and events.json()[0]["id"] == EVENT
    assert events.json()[0]["visitors"] == 1
    visitors = requests.get(web.api(f"/events/{EVENT}/visitors"), headers=operator, timeout=10)
    assert [v["display_name"] for v in visitors.json()] == ["王小明"]
    kiosks = requests.get(web.api(f"/events/{EVENT}/kiosks"), headers=operator, timeout=10)
    assert kiosks.json()[0]["revoked_at"] is not None


def test_a_kiosk_over_its_rate_limit_gets_a_clear_429(web: WebServer) -> None:
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    paired = requests.post(web.api(f"/events/{EVENT}/kiosks"), headers=operator, timeout=10)
    assert paired.status_code == 201
    assert (paired.json()["kiosk"]["per_minute"], paired.json()["kiosk"]["burst"]) == (20, 10)
    # A kiosk allowed 3 at once, then one every 30 s (slow enough for a loaded machine).
    with web.services.catalog() as catalog:
        token = catalog.kiosks.pair(EVENT, per_minute=2, burst=3).token
    answers = [enroll(web, b"not a photo", token=token) for _ in range(4)]
    codes = [answer.json()["code"] for answer in answers]
    assert codes == ["unsupported_image"] * 3 + ["rate_limited"], codes
    limited = answers[-1]
    assert limited.status_code == 429 and 20 <= int(limited.headers["Retry-After"]) <= 30
    assert limited.json()["message"].startswith(VISITOR_ERRORS["rate_limited"]["zh"])
    # Another kiosk is not slowed down by this one.
    assert enroll(web, b"not a photo").json()["code"] == "unsupported_image"


def test_delete_my_data_forgets_the_visitor_everywhere(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    body = enroll(web, portrait(photos).path.read_bytes(), name="Ana").json()
    token, visitor = body["page_url"].rsplit("/v/", 1)[1], body["visitor_id"]
    store, bucket = web.services.object_store(), web.services.settings.bucket_enrollments
    assert store.list(bucket, keys.visitor_enrollment_prefix(EVENT, visitor))

    deleted = requests.delete(web.api(f"/visitor/{token}"), timeout=30)

    assert deleted.status_code == 200 and deleted.json() == {"deleted": True, "objects_deleted": 1}
    assert store.list(bucket, keys.visitor_enrollment_prefix(EVENT, visitor)) == []
    with web.services.catalog() as catalog:
        assert catalog.visitors.get(EVENT, visitor) is None
        assert catalog.visitors.enrollments(EVENT, "default") == []
    assert requests.get(web.api(f"/visitor/{token}"), timeout=10).status_code == 404
    assert requests.get(body["page_url"], timeout=10).status_code == 404


def test_a_returning_visitor_links_an_earlier_visit_and_their_page_shows_both_videos(
    web: WebServer, engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    # She was at last year's fair, asked to be remembered, and got a video there.
    earlier, store = "fair-2025", web.services.object_store()
    enroll_visitor(
        web.services, engine, consent=CONSENT, event_id=earlier, display_name="Jacinda",
        photos=[photos["ardern1"].path.read_bytes()], visitor_id="v-fair", remember=True,
    )  # fmt: skip
    bucket = web.services.settings.bucket_highlights
    store.put_bytes(bucket, keys.highlight_key(earlier, "v-fair"), b"last year's video")
    with web.services.catalog() as catalog:
        catalog.outputs.upsert(
            Output(earlier, "v-fair", "done", keys.highlight_key(earlier, "v-fair"))
        )

    # Today's kiosk, with another photo of her: without the second consent nothing is offered.
    selfie = photos["ardern2"].path.read_bytes()
    plain = enroll(web, selfie, name="Jacinda", language="en").json()
    plain_token = plain["page_url"].rsplit("/v/", 1)[1]
    status = requests.get(web.api(f"/visitor/{plain_token}"), timeout=30).json()
    assert (status["remembered"], status["offered_visits"]) == (False, [])
    refused = requests.post(web.api(f"/visitor/{plain_token}/visits/{earlier}"), timeout=30)
    assert refused.status_code == 409 and refused.json()["code"] == "not_remembered"

    # With it, the fair is offered; nothing is linked until she says it was her.
    body = enroll(web, selfie, name="Jacinda", language="en", remember=True).json()
    token = body["page_url"].rsplit("/v/", 1)[1]
    status = requests.get(web.api(f"/visitor/{token}"), timeout=30).json()
    assert status["remembered"] and status["other_visits"] == []
    assert [v["event_id"] for v in status["offered_visits"]] == [earlier]
    other_media = web.api(f"/visitor/{token}/visits/{earlier}/media/video")
    assert requests.get(other_media, timeout=30).status_code == 404
    not_offered = requests.post(web.api(f"/visitor/{token}/visits/{EVENT}"), timeout=30)
    assert not_offered.status_code == 404 and not_offered.json()["code"] == "not_offered"

    linked = requests.post(web.api(f"/visitor/{token}/visits/{earlier}"), timeout=30)

    assert linked.status_code == 200, linked.text
    assert linked.json()["offered_visits"] == []
    (other,) = linked.json()["other_visits"]
    assert other["event_id"] == earlier and other["files"]["state"] == "ready"
    assert requests.get(web.url + other["files"]["video_path"], timeout=30).content == (
        b"last year's video"
    )
    page = requests.get(body["page_url"], timeout=30).text
    assert 'id="other-visits"' in page and other["files"]["video_path"] in page

    # "Delete my data" forgets her at both events; the visitor who did not link stays.
    deleted = requests.delete(web.api(f"/visitor/{token}"), timeout=60)
    assert deleted.status_code == 200 and deleted.json()["deleted"]
    assert deleted.json()["objects_deleted"] == 3  # two photos and last year's video
    with web.services.catalog() as catalog:
        assert catalog.visitors.for_event(earlier) == []
        assert [v.id for v in catalog.visitors.for_event(EVENT)] == [plain["visitor_id"]]
    assert store.list(bucket, f"{earlier}/") == []


def test_the_docs_describe_the_api_and_errors_never_show_a_traceback(web: WebServer) -> None:
    schema = requests.get(f"{web.url}/openapi.json", timeout=10).json()
    assert {"/api/kiosk/enroll", "/api/visitor/{token}", "/api/events"} <= set(schema["paths"])
    docs = requests.get(f"{web.url}/docs", timeout=10)
    assert docs.status_code == 200 and "/scas/openapi.json" in docs.text
    assert "cdn" not in docs.text.lower()  # venues are often offline
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert requests.get(f"{web.url}/docs-static/{asset}", timeout=10).status_code == 200
    bad = requests.post(web.api("/kiosk/enroll"), data=b"\x00garbage", timeout=10,
                        headers={"Content-Type": "multipart/form-data; boundary=zz",
                                 "Authorization": f"Bearer {web.kiosk.token}"})  # fmt: skip
    assert bad.status_code in (400, 422) and set(bad.json()) == {"code", "message"}
    assert "Traceback" not in bad.text
