"""Normalised copies of page text for search and matching.

Stored page text stays exactly what PyMuPDF returned, so evidence offsets are reproducible.
Search (FTS) and quote matching work on a normalised copy instead: compatibility forms
expanded (ligatures such as "ﬁ", superscript digits), accents and case folded, dashes, minus
signs, multiplication signs and quotes unified, words split by a hyphen (at a line end or
not) joined, and whitespace collapsed.

:func:`normalize` is the fast whole-string form used at ingest; :func:`normalize_with_map`
also returns, for every character of the result, the offset in the original text it came
from, so a match in normalised text can be reported as offsets into the stored text. Both
apply the same per-character table and the same regular expressions, so they always agree
(a property test checks it).
"""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = {
    "\u00d7": "x",  # multiplication sign: "8 × A100"
    "\u2217": "*",
    "\u00ad": "",  # soft hyphen
    "^": "",  # "10^24" as typed, where the PDF text lost the superscript: "1024"
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u2248": "~",  # almost equal: "≈100 hours"
    "\u223c": "~",  # tilde operator: "∼8 hours"
}
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


class _FoldTable(dict[int, str]):
    """``str.translate`` table computed per character on first use, then cached."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if char in _SPECIAL:
            folded = _SPECIAL[char]
        elif char in _DASHES:
            folded = "-"
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
            # Decomposition can yield characters that themselves need the special table
            # (e.g. a compatibility form of a dash).
            folded = "".join(_SPECIAL.get(c, "-" if c in _DASHES else c) for c in folded)
        self[codepoint] = folded
        return folded


_TABLE = _FoldTable()
_SPECIAL_CHAR = re.compile(r"[^\x00-\x5d\x5f-\x7f]")
"""Characters that may not fold to exactly their ASCII lowercase: non-ASCII, and "^"."""
_LETTER = r"[^\W\d_]"
# The lookbehind comes after the "-" so the engine scans for the literal hyphen instead of
# testing the lookbehind at every position (ten times faster on real pages).
_HYPHEN_JOIN = re.compile(rf"-(?<={_LETTER}-)(?:[ \t]*\r?\n[ \t]*)?(?={_LETTER})")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """The normalised copy of ``text`` used for search and matching."""
    folded = text.translate(_TABLE)
    joined = _HYPHEN_JOIN.sub("", folded)
    return _SPACE.sub(" ", joined)


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalise ``text`` and map each character of the result to its offset in ``text``.

    Returns:
        ``(normalised, offsets)`` where ``offsets[i]`` is the index in ``text`` of the
        character that produced ``normalised[i]``; ``len(offsets) == len(normalised)``.
    """
    chars: list[str] = []
    offsets: list[int] = []
    position = 0
    # ASCII folds one character to one (lowercase), so runs of it are copied in bulk; only the
    # rest (ligatures, dashes, "^", accents) is folded character by character.
    for special in _SPECIAL_CHAR.finditer(text):
        start = special.start()
        if start > position:
            chars.append(text[position:start].lower())
            offsets.extend(range(position, start))
        folded = _TABLE[ord(special.group())]
        chars.append(folded)
        offsets.extend([start] * len(folded))
        position = start + 1
    if position < len(text):
        chars.append(text[position:].lower())
        offsets.extend(range(position, len(text)))
    folded_text = "".join(chars)
    joined, offsets = _sub_with_map(_HYPHEN_JOIN, "", folded_text, offsets)
    return _sub_with_map(_SPACE, " ", joined, offsets)


def _sub_with_map(
    pattern: re.Pattern[str], replacement: str, text: str, offsets: list[int]
) -> tuple[str, list[int]]:
    """``pattern.sub(replacement, text)``, carrying the offset map along."""
    out: list[str] = []
    out_offsets: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        out.append(text[position:start])
        out_offsets.extend(offsets[position:start])
        out.append(replacement)
        out_offsets.extend([offsets[start]] * len(replacement))
        position = end
    out.append(text[position:])
    out_offsets.extend(offsets[position:])
    return "".join(out), out_offsets
