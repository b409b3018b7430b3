"""What people write on the board: a title, a comment, a complaint must show something.

A text made only of invisible characters — spaces, zero-width spaces (U+200B–U+200D, U+2060, U+FEFF),
control characters, combining marks alone, the Hangul filler (U+3164), the braille blank (U+2800) —
looks empty on every page, so it is refused like an empty one. Visible means a letter, a digit, a
punctuation mark or a symbol (Unicode categories L*, N*, P*, S*); the Hangul filler and the braille blank
are letters and symbols to Unicode but show nothing.
"""
from __future__ import annotations

import unicodedata

BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")     # Hangul fillers, the braille blank


def is_visible(text: str | None) -> bool:
    """Whether the text has at least one character that shows."""
    return any(ch not in BLANK_GLYPHS and unicodedata.category(ch)[0] in "LNPS" for ch in text or "")
