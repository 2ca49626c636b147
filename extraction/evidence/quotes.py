"""Evidence an annotator chose: a quote checked against the page it is on.

A human answer is stored with a page and a quote the annotator picked (the sentence around a
find match or a hint, or words they typed). The quote must be found on the page's stored
text — ``exact``, or ``normalized`` (differing only in case, spacing, line-end hyphenation,
ligatures); a fuzzy match is not evidence for a person's answer. What is stored is the page's
own passage at the offsets found, so the quote is always an exact passage of that page.
The check itself is :meth:`extraction.evidence.mentions.IndexedPaper.locate`, which keeps the
normalised pages of the paper under review.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_QUOTE = 300
"""Longest quote kept (a sentence around a match is cut to this, around the match)."""
MIN_QUOTE = 3
"""Shortest quote accepted: "8" alone is found everywhere and shows nothing."""


class QuoteProblem(ValueError):
    """The quote cannot be evidence; the message says why, for the annotator."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A page and an exact passage of it, with where it is."""

    page: int
    quote: str
    """The stored text of ``page`` at ``start:end``."""
    start: int
    end: int
    grounding: str
    """How the annotator's quote matched: ``exact`` or ``normalized``."""

    @property
    def shown(self) -> str:
        """The quote on one line, as the screen shows it."""
        return one_line(self.quote)


def passage(pages: Sequence[str], page: int, start: int, end: int) -> Evidence:
    """Evidence for a span of a page (offsets into its stored text), taken as it stands."""
    text = pages[page - 1]
    return Evidence(page, text[start:end], start, end, "exact")


# A sentence ends at . ! or ? (after a letter, digit or closing bracket) followed by space, or
# at an empty line; a footnote mark may follow the full stop ("total).13 Training"). PDF text
# breaks lines mid-sentence, so a single newline is not an end.
_BOUNDARY = re.compile(
    r"(?<=[\w)\]%][.!?])[\"'’”)]*\s+"
    r"|(?:(?<=[^\W\d_][.!?])|(?<=[)\]][.!?]))\d{1,3}\s+(?=[A-Z])"
    r"|\n[ \t]*\n"
)


def sentence_around(text: str, start: int, end: int, limit: int = MAX_QUOTE) -> tuple[int, int]:
    """The sentence of ``text`` holding ``start:end``, as offsets, at most ``limit`` long
    (cut around the match, at spaces, when the sentence is longer)."""
    left = 0
    for match in _BOUNDARY.finditer(text, max(0, start - limit), start):
        left = match.end()
    if left == 0 and start > limit:
        left = start - limit
    right_match = _BOUNDARY.search(text, end)
    right = right_match.start() if right_match else len(text)
    # the full stop belongs to the sentence
    while right < len(text) and text[right] in ".!?" and right < end + limit:
        right += 1
    left = _after_heading(text, left, start)
    left, right = _within_short_lines(text, left, right, start, end)
    if right - left > limit:
        room = max(0, limit - (end - start))
        left = max(left, start - room // 2)
        right = min(right, end + room - (start - left))
        right = max(right, end)
        left = _word_edge(text, left, forward=True, bound=start)
        right = _word_edge(text, right, forward=False, bound=end)
    while left < right and text[left].isspace():
        left += 1
    while right > left and text[right - 1].isspace():
        right -= 1
    return left, right


_HEADING = re.compile(r"[^\n]{1,60}\n(?=[A-Z•(])")


def _after_heading(text: str, left: int, start: int) -> int:
    """Skip short lines without a full stop before the match: headings ("Appendix B:
    Compute") run into the sentence that follows them in PDF text."""
    while True:
        line = _HEADING.match(text, left, start)
        if line is None:
            return left
        body = line.group().rstrip()
        if body[-1:] in ".!?,;" or len(body.split()) > 8:
            return left
        left = line.end()


SHORT_LINE = 0.6
"""A line shorter than this share of the longest line near it ends a passage."""
NEAR_LINES = 3
"""How many lines each side a line is compared with."""


def _within_short_lines(text: str, left: int, right: int, start: int, end: int) -> tuple[int, int]:
    """Narrow ``left:right`` at short lines around the match: the PDF text of a title, an
    affiliation block or a table has no full stops, so "the sentence" around "Google
    Research" ran from an author's name through the e-mail addresses into the abstract.
    Body text runs on from line to line at the width of its column; a line much shorter
    than those near it (a heading, an address, a paragraph's end) ends the passage."""
    first = text.rfind("\n", 0, left) + 1
    for _ in range(NEAR_LINES):  # from NEAR_LINES lines before the passage…
        first = text.rfind("\n", 0, max(0, first - 1)) + 1
    lines: list[tuple[int, str]] = []  # (offset of the line's newline, the line)
    position, after = first, 0
    while position <= len(text) and after <= NEAR_LINES:  # …to NEAR_LINES lines after it
        newline = text.find("\n", position)
        newline = len(text) if newline == -1 else newline
        lines.append((newline, text[position:newline].strip()))
        after += newline >= right
        position = newline + 1

    def ends_short(index: int) -> bool:
        line = lines[index][1]
        near = lines[max(0, index - NEAR_LINES) : index] + lines[index + 1 : index + 1 + NEAR_LINES]
        longest = max((len(other) for _, other in near), default=0)
        return bool(line) and len(line) < SHORT_LINE * longest and not line.endswith("-")

    for index, (newline, _) in enumerate(lines):
        if left <= newline < start and ends_short(index):
            left = newline + 1
    for index, (newline, _) in enumerate(lines):
        if end <= newline < right and ends_short(index):
            return left, newline
    return left, right


def _word_edge(text: str, position: int, *, forward: bool, bound: int) -> int:
    """Move ``position`` to a space so a cut quote does not start or end mid-word."""
    if forward:
        while position < bound and position > 0 and not text[position - 1].isspace():
            position += 1
        return position
    while position > bound and position < len(text) and not text[position].isspace():
        position -= 1
    return position


_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    """A quote as one line: line-end hyphenation joined ("pa-\\nper" → "paper"), line breaks
    and runs of spaces as one space. Display only: the stored quote is the page's text."""
    return _SPACES.sub(" ", _LINE_END_HYPHEN.sub("", text)).strip()
