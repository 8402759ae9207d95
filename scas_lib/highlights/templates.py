"""Highlight templates: what a video looks like, chosen per event.

A template is a YAML file named ``<name>.yaml``: the shipped ones are in
``scas_lib/highlights/templates/``, a venue's own in a ``templates/`` folder beside the event
files (:func:`scas_lib.events.event_templates_dir`). An event's config names a template and
may override fields of it. Templates are chosen by name only, never by path: a run's params
cannot make the renderer read any other file (or the music and logo that file names).
A shipped name wins over a venue's template of the same name.

>>> template = load_template("default", {"target_length_s": 20})
>>> template.target_length_s, template.width, template.height
(20.0, 1920, 1080)
>>> load_template("default").music
'generated'
>>> load_template("default", {"punch_in": False}).punch_in   # YAML's off
'off'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scas_lib.errors import ScasError, field_problems

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: A template's name: what an id may be (no path, no suffix).
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class TemplateError(ScasError):
    """A template is missing or invalid."""


class Template(BaseModel):
    """The look of a highlight video. Lengths are in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    target_length_s: float = Field(30.0, gt=0, description="whole video, cards included")
    min_clip_s: float = Field(2.0, gt=0)
    max_clip_s: float = Field(6.0, gt=0)
    width: int = Field(1920, ge=16, multiple_of=2)
    height: int = Field(1080, ge=16, multiple_of=2)
    fps: int = Field(25, ge=1, le=120)
    transition_s: float = Field(0.6, ge=0)
    intro_s: float = Field(3.0, ge=0)
    outro_s: float = Field(3.0, ge=0)
    intro_title: str = "{visitor}"
    intro_subtitle: str = "{event} · {date}"
    date_format: str = "%Y-%m-%d"
    outro_title: str = ""
    outro_subtitle: str = "{event}"
    font: str = "Noto Sans CJK SC:style=Bold"
    #: Fonts for a line ``font`` has no glyphs for (a name in Arabic, Thai, Hebrew, Hindi,
    #: Vietnamese...): the first that has them all draws it (Debian's fonts-noto-core).
    fallback_fonts: tuple[str, ...] = (
        "Noto Sans:style=Bold",
        "Noto Sans Arabic:style=Bold",
        "Noto Sans Thai:style=Bold",
        "Noto Sans Hebrew:style=Bold",
        "Noto Sans Devanagari:style=Bold",
        "Noto Sans Bengali:style=Bold",
        "Noto Sans Tamil:style=Bold",
        "Noto Sans Armenian:style=Bold",
        "Noto Sans Georgian:style=Bold",
        "Noto Sans Ethiopic:style=Bold",
    )
    text_color: str = "white"
    #: The cards' look: a still of the neighbouring footage, blurred (box blur of this
    #: radius and this many passes, at a quarter of the width) and darkened, under the text.
    card_blur_radius: int = Field(6, ge=0)
    card_blur_passes: int = Field(2, ge=1)
    card_brightness: float = Field(-0.12, ge=-1, le=1)
    card_saturation: float = Field(0.8, ge=0, le=3)
    #: 0: the video opens on the card's picture, never on black (its text fades in).
    intro_fade_in_s: float = Field(0.0, ge=0)
    outro_fade_out_s: float = Field(0.8, ge=0)
    #: Font sizes as a part of the picture's height (height // divisor), before a line too
    #: long for the width is made smaller; where each line's middle is, as a part of it.
    title_size_divisor: int = Field(12, ge=1)
    subtitle_size_divisor: int = Field(26, ge=1)
    title_y: float = Field(0.40, ge=0, le=1)
    subtitle_y: float = Field(0.56, ge=0, le=1)
    #: The text fades in this long after the card has been shown this long.
    text_fade_in_delay_s: float = Field(0.2, ge=0)
    text_fade_in_s: float = Field(0.6, gt=0)
    music: str = "generated"
    loudness_lufs: float = Field(-16.0, ge=-40, le=-5)
    logo: Path | None = None
    copy_unchanged_footage: bool = True
    #: Also render a 9:16 version (1080x1920 for a 1080p template) whose crop follows the
    #: visitor's face. It is encoded whole: it costs about a plain re-encode.
    vertical: bool = False
    crf: int = Field(20, ge=0, le=51)
    #: Punch in: a window of the output's shape that follows the visitor (their upper body,
    #: estimated from the face) is scaled up to the output, so that a wide camera's small
    #: visitor fills the picture (:mod:`~scas_lib.highlights.punch_in`). ``auto`` punches
    #: in on the cameras that show the visitor's face small (under 0.15 / 1.1 of the
    #: frame's height) and on clips where another face is as large as theirs, ``on`` on
    #: every camera, ``off`` never. A clip where the visitor is at the frame's edge is
    #: shown whole. A punched-in clip is encoded, not copied.
    punch_in: Literal["auto", "on", "off"] = "auto"
    #: The share of the window's height the visitor's upper body fills: at 0.55 their face
    #: is 0.16 of the picture's height (an upper body is 3.4 face heights).
    punch_in_subject_share: float = Field(0.55, ge=0.1, le=1)
    #: Never more than this many output pixels per source pixel (2: a 1080p output shows
    #: at least 960x540 of the camera's pixels).
    punch_in_max_upscale: float = Field(2.0, ge=1, le=4)
    #: How much a smile adds to a moment's score (face quality x identity similarity): a
    #: stretch whose faces all smile counts ``1 + smile_weight`` times one where none do,
    #: so at 0.5 a smiling moment wins over a neutral one unless the neutral one's face is
    #: 1.5x better (bigger, sharper, more frontal, surer). Higher trades more of the best
    #: shots for smiles; 0 ignores expressions (and a pack without an expression model has
    #: no smiles to weigh).
    smile_weight: float = Field(0.5, ge=0, le=4)

    @field_validator("punch_in", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        # YAML reads an unquoted on / off as true / false.
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _coherent(self) -> Template:
        if self.min_clip_s > self.max_clip_s:
            raise ValueError("min_clip_s is longer than max_clip_s")
        if 2 * self.transition_s > self.min_clip_s:
            raise ValueError("a clip must be at least two transitions long (min_clip_s)")
        if self.transition_s > min(self.intro_s, self.outro_s) > 0:
            raise ValueError("a card must be at least one transition long")
        if self.footage_budget_s < self.min_clip_s:
            # Else every visitor would get no clip at all, and be reported as not seen.
            raise ValueError(
                f"target_length_s {self.target_length_s:g} leaves no room for a clip of "
                f"{self.min_clip_s:g} s after the cards ({self.intro_s:g} s + {self.outro_s:g} s)"
            )
        return self

    @property
    def footage_budget_s(self) -> float:
        """Seconds of footage that fill ``target_length_s`` once the cards are counted
        (each transition overlaps two neighbours)."""
        return self.target_length_s - self.intro_s - self.outro_s


def available_templates(extra_dir: Path | None = None) -> list[str]:
    """The names of the shipped templates and of those in ``extra_dir``."""
    folders = [TEMPLATES_DIR] + ([extra_dir] if extra_dir else [])
    return sorted({path.stem for folder in folders for path in folder.glob("*.yaml")})


def template_path(name: str, extra_dir: Path | None = None) -> Path:
    """The file of the template called ``name``: shipped, else in ``extra_dir``. Raises
    TemplateError for a name that is not a template name (a path, say) or names none.

    >>> template_path("default").name
    'default.yaml'
    >>> template_path("../../etc/passwd")
    Traceback (most recent call last):
    scas_lib.highlights.templates.TemplateError: no template '../../etc/passwd' (templates: default)
    """
    if _NAME.fullmatch(name):
        for folder in [TEMPLATES_DIR] + ([extra_dir] if extra_dir else []):
            if (folder / f"{name}.yaml").is_file():
                return folder / f"{name}.yaml"
    raise TemplateError(
        f"no template {name!r} (templates: {', '.join(available_templates(extra_dir))})"
    )


def load_template(
    name: str = "default", overrides: dict[str, Any] | None = None, extra_dir: Path | None = None
) -> Template:
    """The template called ``name`` (shipped, else in ``extra_dir``), with ``overrides``
    applied."""
    path = template_path(name, extra_dir)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: expected a mapping of settings")
    data = {**data, **(overrides or {})}
    data.setdefault("name", name)
    try:
        return Template.model_validate(data)
    except ValidationError as error:
        raise TemplateError(f"template {data['name']!r}: {field_problems(error)}") from None
