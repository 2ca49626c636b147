"""Grounding: is the quote a model gave really in the paper, and where?

Small local models invent quotes. Each quote is looked for in its page's stored text:
``exact`` (verbatim), then ``normalized`` (whitespace, case, line-end hyphenation, ligatures,
unicode ×/−/– unified), then ``fuzzy`` (token overlap: a span of the page covers at least 75%
of the quote's tokens, with at least one matching token in three — langextract's thresholds —
and holds every number the quote states), else ``ungrounded``. The claimed page is searched
first, then the others; a quote found on another page corrects the page. Offsets are into
the stored page text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from extraction.evidence.textnorm import normalize, normalize_with_map

MIN_COVERAGE = 0.75
MIN_DENSITY = 1 / 3
MIN_FUZZY_TOKENS = 4
"""Quotes shorter than this must match exactly or normalised: a fuzzy 3-word match is noise."""


class Level(StrEnum):
    EXACT = "exact"
    NORMALIZED = "normalized"
    FUZZY = "fuzzy"
    UNGROUNDED = "ungrounded"


@dataclass(frozen=True, slots=True)
class Grounding:
    """Where a quote was found."""

    level: Level
    page: int | None
    """The page it was found on (1-based), or the claimed page when ungrounded."""
    start: int | None = None
    end: int | None = None
    """Character offsets into the stored text of ``page``."""


_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=256)
def _normalized_page(text: str) -> tuple[str, tuple[int, ...]]:
    normalized, offsets = normalize_with_map(text)
    return normalized, tuple(offsets)


@lru_cache(maxsize=256)
def _page_tokens(text: str) -> tuple[tuple[str, int, int], ...]:
    """The page's tokens in normalised text, with their offsets into the stored text."""
    normalized, offsets = _normalized_page(text)
    return tuple(
        (m.group(0), offsets[m.start()], offsets[m.end() - 1] + 1)
        for m in _TOKEN.finditer(normalized)
    )


def _search_order(claimed: int | None, count: int) -> list[int]:
    if claimed is not None and 1 <= claimed <= count:
        return [claimed] + [p for p in range(1, count + 1) if p != claimed]
    return list(range(1, count + 1))


def ground(quote: str | None, claimed_page: int | None, pages: Sequence[str]) -> Grounding:
    """Locate ``quote`` in ``pages`` (index 0 is page 1)."""
    if not quote or not quote.strip():
        return Grounding(Level.UNGROUNDED, claimed_page)
    order = _search_order(claimed_page, len(pages))
    stripped = quote.strip()
    for page in order:
        index = pages[page - 1].find(stripped)
        if index >= 0:
            return Grounding(Level.EXACT, page, index, index + len(stripped))
    wanted = normalize(stripped).strip()
    if wanted:
        for page in order:
            normalized, offsets = _normalized_page(pages[page - 1])
            index = normalized.find(wanted)
            if index >= 0:
                end = offsets[index + len(wanted) - 1] + 1
                return Grounding(Level.NORMALIZED, page, offsets[index], end)
    quote_tokens = _TOKEN.findall(wanted)
    if len(quote_tokens) >= MIN_FUZZY_TOKENS:
        best: tuple[float, int, int, int] | None = None
        for page in order:
            found = _fuzzy(quote_tokens, _page_tokens(pages[page - 1]))
            if found and (best is None or found[0] > best[0]):
                best = (found[0], page, found[1], found[2])
                if found[0] >= 0.999:
                    break
        if best is not None:
            return Grounding(Level.FUZZY, best[1], best[2], best[3])
    return Grounding(Level.UNGROUNDED, claimed_page)


def _fuzzy(
    quote: list[str], page: tuple[tuple[str, int, int], ...]
) -> tuple[float, int, int] | None:
    """The best span of ``page`` for ``quote`` by token overlap, as (coverage, start, end).

    A window of the quote's length (plus a quarter, for words the model dropped) slides over
    the page keeping a running count of quote tokens inside it; the best window is trimmed
    to its first and last matching token and kept if it meets the coverage and density bars.
    """
    if not page:
        return None
    wanted = Counter(quote)
    size = len(quote)
    window = min(len(page), max(size, int(size * 1.25) + 1))
    inside: Counter[str] = Counter()
    matched = 0

    def add(token: str) -> int:
        inside[token] += 1
        return 1 if inside[token] <= wanted.get(token, 0) else 0

    def remove(token: str) -> int:
        inside[token] -= 1
        return 1 if inside[token] < wanted.get(token, 0) else 0

    for token, _, _ in page[:window]:
        matched += add(token)
    best_matched, best_start = matched, 0
    for start in range(1, len(page) - window + 1):
        matched -= remove(page[start - 1][0])
        matched += add(page[start + window - 1][0])
        if matched > best_matched:
            best_matched, best_start = matched, start
    coverage = best_matched / size
    if coverage < MIN_COVERAGE:
        return None
    span = page[best_start : best_start + window]
    hits = [i for i, (token, _, _) in enumerate(span) if token in wanted]
    first, last = hits[0], hits[-1]
    if best_matched / (last - first + 1) < MIN_DENSITY:
        return None
    # Numbers are the facts: a span that matches the words but not the numbers ("512 TPU v4
    # chips" for a quoted "1024 TPU v4 chips") is not evidence for the quote.
    inside_span = {token for token, _, _ in span[first : last + 1]}
    if any(any(c.isdigit() for c in token) and token not in inside_span for token in wanted):
        return None
    return coverage, span[first][1], span[last][2]
