"""What a visitor's name may be: it is drawn on their video's cards as typed. Pure.

Any script the card font has (Noto Sans CJK: Chinese, Japanese, Korean, Latin, Greek,
Cyrillic) and any punctuation, ``%``, ``\\`` and quotes included, is drawn as typed (the
renderer does no text expansion). Refused, with the reason: emoji and other pictographs
(the card font has none, so they would be drawn as empty boxes; no emoji font is
installed), control and invisible characters (a line break would split the card's line),
and names longer than :data:`MAX_NAME_LENGTH`.

>>> validate_display_name("  100% Fan ")
'100% Fan'
>>> validate_display_name("王小明"), validate_display_name("A\\\\B")
('王小明', 'A\\\\B')
>>> validate_display_name("Ana 🎉")
Traceback (most recent call last):
scas_lib.visitors.names.InvalidName: the name 'Ana 🎉' has an emoji or symbol (🎉) the video's font cannot draw: leave it out
"""  # noqa: E501

from __future__ import annotations

import unicodedata

from scas_lib.errors import ScasError

#: The longest name, in characters: longer ones would be drawn too small to read.
MAX_NAME_LENGTH = 40
#: Unicode categories refused: control, format (invisible), surrogate, private use,
#: unassigned, line and paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: Pictographs, emoji and other symbols: the card font has no glyphs for them.
_SYMBOLS = {"So"}


class InvalidName(ScasError, ValueError):
    """A visitor's name cannot be drawn on their video as typed."""


def name_problem(name: str) -> str | None:
    """Why ``name`` (already stripped) cannot be a visitor's name, or None.

    >>> name_problem("x" * 41)
    'the name is 41 characters long: at most 40'
    >>> name_problem("Ana\\nLee")
    "the name 'Ana\\\\nLee' has an invisible or control character (U+000A): leave it out"
    """
    if not name:
        return "the visitor needs a name for their video"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is {len(name)} characters long: at most {MAX_NAME_LENGTH}"
    for char in name:
        category = unicodedata.category(char)
        if category in _INVISIBLE:
            return (
                f"the name {name!r} has an invisible or control character "
                f"(U+{ord(char):04X}): leave it out"
            )
        if category in _SYMBOLS:
            return (
                f"the name {name!r} has an emoji or symbol ({char}) the video's font cannot "
                "draw: leave it out"
            )
    return None


def validate_display_name(name: str) -> str:
    """``name`` without surrounding blanks, in composed form (NFC), if it can be drawn as
    typed (:func:`name_problem`); else :class:`InvalidName` with the reason."""
    cleaned = unicodedata.normalize("NFC", name.strip())
    problem = name_problem(cleaned)
    if problem:
        raise InvalidName(problem)
    return cleaned
