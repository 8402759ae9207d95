"""Cards: what the intro and outro cards say, in which size and where, and how they look.
Pure: the sizes come from the template and the text, nothing is drawn here.

>>> from scas_lib.highlights.templates import Template
>>> template = Template(name="doc")
>>> [(line.size, line.y) for line in card_lines(CardText("Ana 安娜", "Expo"), template)]
[(90, 0.4), (41, 0.56)]
>>> charsets = {template.font: ((0x20, 0x7E), (0x4E00, 0x9FFF)),
...             "Noto Sans Arabic:style=Bold": ((0x20, 0x20), (0x600, 0x6FF))}
>>> [line.font for line in card_lines(CardText("محمد علي", "Expo"), template, charsets)]
['Noto Sans Arabic:style=Bold', 'Noto Sans CJK SC:style=Bold']
>>> text_alpha(template)
'min(1,max(0,(t-0.2)/0.6))'
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scas_lib.highlights.templates import Template

#: The code points a font has glyphs for, as fontconfig lists them: sorted inclusive ranges.
Charset = tuple[tuple[int, int], ...]

#: Glyphs from this code point on (CJK and after) are about one em wide; others less.
WIDE_GLYPHS_FROM = 0x2E80
#: Part of the picture's width a line of text may take.
TEXT_WIDTH = 0.9
#: The smallest font size a long line is made.
MIN_FONT_SIZE = 12
#: Shadow under the text: colour, and offset as a part of the picture's height.
SHADOW_COLOR = "black@0.6"
SHADOW_OFFSET_DIVISOR = 360
#: A logo is this part of the picture's height tall, in the top right corner.
LOGO_HEIGHT_DIVISOR = 8


@dataclass(frozen=True)
class CardText:
    """The two lines of a card, filled in (either may be empty)."""

    title: str
    subtitle: str


@dataclass(frozen=True)
class TextLine:
    """One line of a card: its text, font size (pixels) and the height of its middle (a
    part of the picture's height)."""

    text: str
    size: int
    y: float
    #: The fontconfig pattern it is drawn in.
    font: str = ""


def card_lines(
    text: CardText, template: Template, charsets: Mapping[str, Charset] | None = None
) -> list[TextLine]:
    """The lines of a card that have text, each at a size that fits the width, in the
    template's font or, for a line it has no glyphs for, in the first of its fallback fonts
    that has them (``charsets``: what each font has; without it, the template's font)."""
    height, width = template.height, template.width
    wanted = (
        (text.title, height // template.title_size_divisor, template.title_y),
        (text.subtitle, height // template.subtitle_size_divisor, template.subtitle_y),
    )
    fonts = [template.font, *template.fallback_fonts] if charsets else [template.font]
    return [
        TextLine(
            line,
            fitting_size(line, size, TEXT_WIDTH * width),
            y,
            font_for(line, fonts, charsets or {}),
        )
        for line, size, y in wanted
        if line
    ]


def font_for(line: str, fonts: Sequence[str], charsets: Mapping[str, Charset]) -> str:
    """The first of ``fonts`` with a glyph for every character of ``line`` (spaces and
    invisible marks aside), else the one with glyphs for the most of them.

    >>> charsets = {"CJK": ((0x20, 0x7E), (0x4E00, 0x9FFF)), "Thai": ((0xE01, 0xE5B),)}
    >>> [font_for(name, ["CJK", "Thai"], charsets) for name in ("Ana 安娜", "สมชาย")]
    ['CJK', 'Thai']
    """
    for font in fonts:
        if not missing_glyphs(line, charsets.get(font, ())):
            return font
    return min(fonts, key=lambda font: missing_glyphs(line, charsets.get(font, ())))


def missing_glyphs(line: str, charset: Charset) -> int:
    """How many characters of ``line`` (spaces and invisible marks aside) a font with
    ``charset`` has no glyph for.

    >>> missing_glyphs("Ana 安娜", ((0x20, 0x7E),))
    2
    """
    shown = [ord(char) for char in line if not char.isspace() and char.isprintable()]
    return sum(not _has_glyph(charset, point) for point in shown)


def _has_glyph(charset: Charset, point: int) -> bool:
    index = bisect.bisect_right(charset, (point, 0x10FFFF)) - 1
    return index >= 0 and charset[index][0] <= point <= charset[index][1]


def fitting_size(line: str, size: int, max_width: float) -> int:
    """A font size at most ``size`` at which ``line`` fits in ``max_width`` pixels: CJK
    glyphs are about one em wide, others about 0.6 em (a generous estimate, so names are
    never cut); never under :data:`MIN_FONT_SIZE`.

    >>> fitting_size("Ana", 90, 1728.0)
    90
    >>> fitting_size("谢谢光临" * 6, 90, 1728.0)   # 24 wide glyphs: 1728 / 24
    72
    >>> fitting_size("x" * 1000, 90, 1728.0)
    12
    """
    ems = sum(1.0 if ord(char) >= WIDE_GLYPHS_FROM else 0.6 for char in line)
    return max(MIN_FONT_SIZE, min(size, int(max_width / max(ems, 1.0))))


def text_alpha(template: Template, lead_s: float = 0.0) -> str:
    """drawtext's opacity over the time ``t`` of a stream that starts ``lead_s`` seconds
    into the card: the text fades in after a moment.

    >>> text_alpha(Template(name="doc"), 2.4)
    'min(1,max(0,(t+2.4-0.2)/0.6))'
    """
    delay, fade = template.text_fade_in_delay_s, template.text_fade_in_s
    time = f"t+{lead_s:g}" if lead_s else "t"
    return f"min(1,max(0,({time}-{delay:g})/{fade:g}))"


def still_span(
    kind: Literal["intro", "outro"], length_s: float, template: Template, *, text: bool = True
) -> tuple[float, float]:
    """Seconds from a card's start between which it shows one unchanging picture: after
    its fade-in, the crossfade into it and its text's fade-in, before the crossfade out of
    it or its fade-out. Empty (start >= end) when the card never stands still.

    >>> template = Template(name="doc", intro_fade_in_s=0.5)   # (from black: not the default)
    >>> still_span("intro", 3.0, template), still_span("outro", 3.0, template)
    ((0.8, 2.4), (0.8, 2.2))
    >>> still_span("intro", 3.0, template, text=False)
    (0.5, 2.4)
    """
    text_in = template.text_fade_in_delay_s + template.text_fade_in_s if text else 0.0
    if kind == "intro":
        return max(template.intro_fade_in_s, text_in), length_s - template.transition_s
    return max(template.transition_s, text_in), length_s - template.outro_fade_out_s


def shadow_offset(template: Template) -> int:
    """How far (pixels) the text's shadow falls right and down.

    >>> shadow_offset(Template(name="doc")), shadow_offset(Template(name="s", height=240))
    (3, 1)
    """
    return max(1, template.height // SHADOW_OFFSET_DIVISOR)


def still_width(template: Template) -> int:
    """Width at which a card's still is blurred: an eighth of the output's (cheap).

    >>> still_width(Template(name="doc"))
    240
    """
    return max(2, template.width // 8)
