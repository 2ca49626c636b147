"""Where a statement sits in a paper, as the rules engine reads it.

A number next to "GPUs" or "days" is a disclosure only in the right place: in a sentence about
the paper's own training run, not in an example of other work, a figure's axis, a table of
contents, the inference set-up or a hypothetical. This module cuts the page into sentences
(quotes that start and end on word boundaries, cut from the stored text) and answers those
questions about a position on a page, from the wording of its sentence and the shape of its
line — never from the paper's title or anything corpus-specific.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from extraction.evidence.textnorm import normalize_with_map

MAX_QUOTE = 280
"""Characters of a quoted sentence at most; longer sentences are cut around the match."""
_REACH = 220
"""How far a sentence may extend on either side of a match before it is cut."""

_BOUNDARY = re.compile(r"(?<=[a-z0-9)\]][.!?])\s+|\n\n")
_WORD_CHAR = re.compile(r"[\w%$~]")
_LETTER = re.compile(r"[^\W\d_]")
_DOT_LEADER = re.compile(r"(?:\. ?){4,}\s*\d+\s*$|\.{4,}", re.MULTILINE)
_NUMBER_RUN = re.compile(r"(?<![\w.,])(?:\d[\d.,]*\s+){2,}$")
_NUMBER_LINE = re.compile(r"^[\s\d.,%()+\-x×–−/~≈]*\d[\s\d.,%()+\-x×–−/~≈]*$")


@dataclass(frozen=True, slots=True)
class Page:
    """One page: the stored text, its normalised copy and the map between them."""

    number: int
    raw: str
    norm: str
    offsets: tuple[int, ...]
    line_starts: tuple[int, ...] = field(default=(), repr=False)
    """Offsets (into ``raw``) where each raw line starts."""
    breaks: tuple[int, ...] = field(default=(), repr=False)
    """Where each sentence break starts in ``norm`` (the space after a full stop)."""
    break_ends: tuple[int, ...] = field(default=(), repr=False)
    """Where the sentence after each break starts."""

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """The sentence (in normalised offsets) around ``start:end``, at most MAX_QUOTE long.

        Both ends fall on word boundaries, so a quote never starts or ends mid-word (nor
        after a line-end hyphen whose word was joined: "ad-\\ndress" is one word here).
        """
        reach_left = max(0, start - _REACH)
        before = bisect_right(self.breaks, start) - 1
        if before >= 0 and self.breaks[before] >= reach_left:
            left = min(self.break_ends[before], start)
        else:
            left = reach_left
        after = bisect_left(self.breaks, end)
        reach_right = min(len(self.norm), end + _REACH)
        right = self.breaks[after] + 1 if after < len(self.breaks) else len(self.norm)
        right = min(right, reach_right)
        if right - left > MAX_QUOTE:
            slack = max(0, MAX_QUOTE - (end - start)) // 2
            left = max(left, start - slack)
            right = min(right, end + slack)
        return self.whole_words(left, right, start, end)

    def whole_words(self, left: int, right: int, start: int, end: int) -> tuple[int, int]:
        """``left:right`` narrowed to whole words, never cutting into ``start:end``."""
        return self._word_start(left, start), self._word_end(right, end)

    def _word_start(self, left: int, limit: int) -> int:
        """``left``, moved forward to the start of a word (never past ``limit``)."""
        while 0 < left < limit and self._inside_word(left):
            left += 1
        while left < limit and self.norm[left] == " ":
            left += 1
        return left

    def _word_end(self, right: int, limit: int) -> int:
        """``right``, moved back to the end of a word (never before ``limit``)."""
        while limit < right < len(self.norm) and self._inside_word(right):
            right -= 1
        return right

    def _inside_word(self, position: int) -> bool:
        """Whether a cut at ``position`` would split a word."""
        return bool(
            _WORD_CHAR.match(self.norm[position - 1]) and _WORD_CHAR.match(self.norm[position])
        )

    def sentence_text(self, start: int, end: int) -> str:
        """The normalised text of the sentence around ``start:end``."""
        left, right = self.sentence(start, end)
        return self.norm[left:right]

    def quote(self, start: int, end: int) -> str:
        """The stored text for normalised offsets ``start:end``."""
        if start >= end:
            return ""
        return self.raw[self.offsets[start] : self.offsets[end - 1] + 1].strip()

    def raw_line(self, position: int) -> int:
        """The index of the raw line holding normalised offset ``position``."""
        raw_position = self.offsets[min(position, len(self.offsets) - 1)] if self.offsets else 0
        low, high = 0, len(self.line_starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.line_starts[middle] <= raw_position:
                low = middle
            else:
                high = middle - 1
        return low

    def line_text(self, index: int) -> str:
        """Raw line ``index`` (empty outside the page)."""
        if not 0 <= index < len(self.line_starts):
            return ""
        end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else len(self.raw)
        return self.raw[self.line_starts[index] : end].strip()

    def in_number_column(self, position: int) -> bool:
        """Whether ``position`` is a number alone on its line among other such lines: the tick
        labels of a figure axis ("0 1000 2000 3000 4000") or a column of a table."""
        index = self.raw_line(position)
        if not _NUMBER_LINE.match(self.line_text(index)):
            return False
        neighbours = [self.line_text(i) for i in (index - 2, index - 1, index + 1, index + 2)]
        return sum(1 for line in neighbours if line and _NUMBER_LINE.match(line)) >= 2

    def in_number_run(self, position: int) -> bool:
        """Whether ``position`` ends a run of bare numbers on one line ("0 2 4 6 8 10 days"):
        tick labels, not a quantity."""
        return bool(_NUMBER_RUN.search(self.norm, max(0, position - 40), position))

    @property
    def is_contents(self) -> bool:
        """Whether the page is a table of contents or an index (rows of dot leaders)."""
        return len(_DOT_LEADER.findall(self.raw)) >= 5


_ABBREVIATION = re.compile(
    r"(?:\b(?:no|nos|fig|figs|eq|eqs|sec|secs|tab|ref|refs|vol|pp|cf|resp|approx|vs|al|inc|"
    r"ltd|co|corp|dr|prof|st|e\.g|i\.e|etc)|\b[a-z])\.$"
)


_HEADING = re.compile(
    r"^(?:[^a-z\n]*\b[A-Z]{2,}\b[^a-z\n]* [^a-z\n]*\b[A-Z]{2,}\b[^a-z\n]*|"
    r".*\b(?:Published (?:at|as)|Preprint|Under review|Technical Report)\b.*)$"
)
"""A line that is no part of a sentence: a heading in capitals ("COMPUTE RESOURCES") or a
running header ("Published at … 2023")."""


def _breaks(raw: str, norm: str, offsets: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sentence breaks: after ".", "!" or "?" (not after "No.", "Fig.", "e.g.", "et al."),
    at blank lines, and after heading lines."""
    found: dict[int, int] = {}
    for match in _BOUNDARY.finditer(norm):
        if not _ABBREVIATION.search(norm, max(0, match.start() - 8), match.start()):
            found[match.start()] = match.end()
    heading_ends = [
        m.end() for m in re.finditer(r"^.*$", raw, re.MULTILINE) if _HEADING.match(m.group())
    ]
    if heading_ends:
        for position in _norm_positions(offsets, heading_ends):
            if position < len(norm):
                found.setdefault(position, position + 1 if norm[position] == " " else position)
    starts = sorted(found)
    return tuple(starts), tuple(found[start] for start in starts)


def _norm_positions(offsets: Sequence[int], raw_positions: Sequence[int]) -> list[int]:
    """For each raw offset (ascending), the first normalised position at or after it."""
    positions, index = [], 0
    for raw_position in raw_positions:
        while index < len(offsets) and offsets[index] < raw_position:
            index += 1
        positions.append(index)
    return positions


def read_pages(texts: Sequence[str]) -> list[Page]:
    """Every page of a paper, ready for matching (``texts[0]`` is page 1)."""
    pages = []
    for number, raw in enumerate(texts, start=1):
        norm, offsets = normalize_with_map(raw)
        starts = (0, *(m.end() for m in re.finditer("\n", raw)))
        breaks, break_ends = _breaks(raw, norm, offsets)
        pages.append(Page(number, raw, norm, tuple(offsets), starts, breaks, break_ends))
    return pages


# --- what a sentence is about ---------------------------------------------------------------

TRAINING = re.compile(
    r"\b(?:train(?:ed|ing|s)?|pre-?train(?:ed|ing)?|pretrain(?:ed|ing)?|fine-?tun(?:ed|ing)|"
    r"experiments?|conducted|took|completed|run|ran)\b"
)
"""Words of a sentence about running the paper's experiments."""
_PRE_TRAINING = re.compile(r"\bpre-?train(?:ed|ing)?\b|\bpretrain(?:ed|ing)?\b")
_FINE_TUNING = re.compile(
    r"fine-?tun|finetun|\bdownstream\b|starting from (?:[a-z]+ ){0,3}pre-?trained|"
    r"\bfrom (?:the|a) pre-?trained (?:model|checkpoint)"
)
_SECONDARY = re.compile(
    r"\b(?:inference|infer|evaluat\w*|at test time|test(?:ing)? (?:phase|stage|time)|"
    r"deploy\w*|serving|generation throughput|decoding speed|latency)\b"
)
_TRAINING_WORK = re.compile(
    r"\b(?:train(?:ed|ing|s)?|pre-?train(?:ed|ing)?|pretrain(?:ed|ing)?|fine-?tun(?:ed|ing)|"
    r"finetun(?:ed|ing)?)\b"
)
EXAMPLE = re.compile(
    r"(?:\be\.g\.|\bsuch as\b|\blike\b|\bfor example\b|\bfor instance\b|\bincluding\b|"
    r"\bcompared (?:to|with)\b|\b(?:for|in|by) comparison\b|\bfor reference\b|\bunlike\b|"
    r"\binstead of\b|\bversus\b|\bvs\.?)[^.;:]*$"
)
"""A clause that names something as an example or a comparison, up to the match."""
_HYPOTHETICAL = re.compile(r"\b(?:could|would|might|can|may) (?:be|have been)\b|\bif (?:we|one)\b")
_CITATION = re.compile(r"\bet al\b|\[\d+(?:[,–-]\s?\d+)*\]|\(\w+(?: \w+)?,? (?:19|20)\d\d\w?\)")
_OWN_WORK = re.compile(
    r"\b(?:we|our|us|this (?:work|paper|study|report)|here|all (?:(?:of )?(?:our|the) )?"
    r"(?:experiments|models|runs|results))\b"
)
"""Words with which a paper speaks of its own work ("we", "our", "all experiments")."""
_PERIODIC = re.compile(
    r"\b(?:every|each|per)\s+(?:(?:\d[\d.,]*|[a-z]+)\s?(?:to|or|-)\s?)?(?:~\s?)?$"
)


class Phase(Enum):
    """Which part of the work a sentence describes."""

    PRE_TRAINING = "pre-training"
    TRAINING = "training"
    FINE_TUNING = "fine-tuning"
    SECONDARY = "inference or evaluation"
    OTHER = "other"


def phase(sentence: str) -> Phase:
    """The phase a (normalised) sentence is about.

    Fine-tuning wins over pre-training when a sentence names both ("starting from the same
    pre-trained model"); inference and evaluation count only when no training is named.
    """
    if _FINE_TUNING.search(sentence):
        return Phase.FINE_TUNING
    if _PRE_TRAINING.search(sentence):
        return Phase.PRE_TRAINING
    if _SECONDARY.search(sentence) and not _TRAINING_WORK.search(sentence):
        return Phase.SECONDARY
    if TRAINING.search(sentence):
        return Phase.TRAINING
    return Phase.OTHER


def is_example(page: Page, start: int) -> bool:
    """Whether the text at ``start`` is named as an example or in a comparison
    ("e.g., advanced accelerators like H100", "compared to 3,640 PF-days for GPT-3")."""
    left, _ = page.sentence(start, start)
    return bool(EXAMPLE.search(page.norm[max(left, start - 80) : start]))


def is_hypothetical(sentence: str) -> bool:
    """Whether a sentence says what could be done rather than what was done."""
    return bool(_HYPOTHETICAL.search(sentence))


def is_about_others(sentence: str) -> bool:
    """Whether a sentence reports other work: it cites, and does not speak of the paper's
    own work ("we", "our", "all experiments")."""
    return bool(_CITATION.search(sentence)) and not _OWN_WORK.search(sentence)


def is_periodic(page: Page, start: int) -> bool:
    """Whether the quantity at ``start`` is a period ("every 10 to 14 days", "each 2 hours")."""
    return bool(_PERIODIC.search(page.norm[max(0, start - 30) : start]))


_NODE = r"(?:nodes?|machines?|servers?|hosts?|workers?|instances?|boxes)"
_NODES = r"(?:nodes|machines|servers|hosts|workers|instances|boxes)"
# "each node contains 8 GPUs" and "nodes with 8 GPUs" describe every node of a cluster; "a
# server with 8 GPUs" is the one machine a paper used, so its 8 is the run's count.
_PER_NODE_BEFORE = re.compile(
    rf"(?:\b(?:each|per|every)\s+(?:[a-z0-9-]+\s+){{0,3}}?{_NODE}\b[^.;]*|"
    rf"\b{_NODES}\s+(?:[a-z0-9-]+\s+){{0,4}}?(?:with|contain\w*|equipped with|ha(?:s|ve|ving)|"
    r"hosting|of|consisting of)\s+)"
    # the count itself may sit in between: "nodes containing 8 [NVIDIA A5000 GPUs]"
    r"(?:(?:\d[\d,]*|one|two|four|eight|sixteen)\s?(?:x\s?)?)?$"
)
_PER_NODE_AFTER = re.compile(
    rf"^[^.;]{{0,25}}?\b(?:per|each|in each|on each|in every|on every)\s+{_NODE}\b|^\s*each\b"
)
_NODE_NOUN_AFTER = re.compile(rf"^[ -]?(?:[a-z0-9-]+[ -]){{0,2}}?(?:{_NODE}|pods?|slices?)\b")


def per_node(page: Page, start: int, end: int) -> bool:
    """Whether a count of devices at ``start:end`` is per node, not the run's total
    ("each node contains 8 GPUs", "nodes with 8 A100s", "8 GPUs per node")."""
    left, right = page.sentence(start, end)
    before = page.norm[max(left, start - 70) : start]
    after = page.norm[end : min(right, end + 40)]
    return bool(_PER_NODE_BEFORE.search(before) or _PER_NODE_AFTER.search(after))


def counts_nodes(page: Page, end: int) -> bool:
    """Whether the counted thing right after ``end`` is a node or pod, not a device
    ("a single TPU-v3 node", "two TPU v4 pods")."""
    return bool(_NODE_NOUN_AFTER.match(page.norm[end : end + 30]))


def has_letters(text: str) -> bool:
    """Whether ``text`` holds a letter (in any script)."""
    return bool(_LETTER.search(text))
