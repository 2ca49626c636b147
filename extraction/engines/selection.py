"""Page selection: the compute-relevant passages of a paper, within a token budget.

Papers run 10-80 pages, beyond a small model's useful context. Each page is cut into
chunks of a few lines; chunks are scored by what compute disclosures look like (accelerator
names, "GPU hours", FLOPs, durations, clusters and clouds, funding and grants, section
headings such as Experimental setup or Acknowledgements); the opening of page 1 (authors
and affiliations) always goes in. The best chunks, and the chunks around them, are taken
until the budget is spent, then put back in page order. Every passage keeps its page.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass

from extraction import defaults
from extraction.evidence.catalog import find_mentions
from extraction.evidence.textnorm import normalize

DEFAULT_TOKEN_BUDGET = defaults.TOKEN_BUDGET
CHARS_PER_TOKEN = 3.5
CHUNK_TARGET = 500
CHUNK_MAX = 1000
FIRST_PAGE_CHARS = 1500


@dataclass(frozen=True, slots=True)
class Passage:
    """Consecutive text from one page."""

    page: int
    text: str


@dataclass(slots=True)
class _Chunk:
    index: int
    page: int
    text: str
    score: float


MIN_SCORE = 15.0
"""Chunks scoring less are taken only as neighbours of better ones."""

# Signals of a compute disclosure, as (words, phrases, weight). Words are matched as whole
# tokens of the normalised text (so "pod" does not fire on "episode"); phrases by substring.
# Normalisation joins hyphenated words: "GPU-hours" is "gpuhours".
_SIGNALS: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {
    "device_hours": (
        ("gpuhours", "gpudays", "tpuhours", "tpudays", "chiphours", "devicehours"),
        (
            "gpu hours",
            "gpu days",
            "tpu hours",
            "chip hours",
            "device hours",
            "core days",
            "accelerator hours",
        ),
        8,
    ),
    "flop": (
        ("flop", "flops", "petaflop", "petaflops", "pfdays", "zettaflops", "exaflops"),
        ("floating point operations", "pf days", "/sdays"),
        6,
    ),
    "device": (("gpu", "gpus", "tpu", "tpus", "accelerator", "accelerators"), (), 4),
    "vendor": (("nvidia", "cuda", "nvlink", "infiniband"), (), 3),
    "training": (
        ("took", "wallclock"),
        (
            "trained for",
            "trained on",
            "training took",
            "training time",
            "wall clock",
            "train for",
            "train on",
        ),
        3,
    ),
    "cluster": (("cluster", "clusters", "supercomputer", "node", "nodes", "pod", "hpc"), (), 3),
    "cloud": (("aws", "gcp", "azure", "cloud"), ("amazon web services", "google cloud"), 3),
    # The acknowledgements heading alone clears the bar: that is where funders are named.
    "acknowledgements": (
        ("acknowledgments", "acknowledgements", "acknowledgment", "acknowledgement"),
        (),
        MIN_SCORE,
    ),
    "funding": (
        (
            "funded",
            "funding",
            "grant",
            "grants",
            "award",
            "awards",
            "sponsored",
            "foundation",
            "fellowship",
        ),
        ("supported by", "supported in part by"),
        4,
    ),
    "cost": (("api", "openai", "usd", "cost", "costs", "spent"), ("$",), 2),
    "heading": (
        ("hardware", "compute"),
        (
            "experimental setup",
            "experimental details",
            "experimental settings",
            "experiment setup",
            "experiments setup",
            "training setup",
            "training procedure",
            "implementation details",
            "training details",
            "computational cost",
            "computational resources",
            "computational budget",
        ),
        4,
    ),
    "model": (
        (
            "gpt",
            "chatgpt",
            "llama",
            "vicuna",
            "alpaca",
            "mistral",
            "mixtral",
            "falcon",
            "bloom",
            "palm",
            "gemini",
            "claude",
            "qwen",
            "deepseek",
            "bert",
            "roberta",
            "t5",
            "clip",
            "whisper",
        ),
        ("stable diffusion",),
        1,
    ),
}
_WORD_SIGNAL = {word: name for name, (words, _, _) in _SIGNALS.items() for word in words}
_TOKEN = re.compile(r"[a-z0-9]+")
_DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:days?|hours?|weeks?|h)\b")
_DEVICE_COUNT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|sixteen|thirty-two|single)"
    r" (?:x )?(?:[a-z0-9-]+ ){0,2}(?:gpus?|tpus?|chips|accelerators|devices)\b"
)
DEVICE_COUNT_WEIGHT = 6.0
DURATION_WEIGHT = 2.0
MENTION_WEIGHT = 6.0
SIGNAL_CAP = 3
"""Hits of one signal counted at most, so one long list does not outweigh everything."""


def _chunks_of(page_number: int, text: str, start_index: int) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        current.append(line)
        size += len(line) + 1
        ends_sentence = line.rstrip().endswith((".", ":", "!", "?"))
        if size >= CHUNK_MAX or (size >= CHUNK_TARGET and ends_sentence):
            chunks.append(_Chunk(start_index + len(chunks), page_number, "\n".join(current), 0))
            current, size = [], 0
    if current and "".join(current).strip():
        chunks.append(_Chunk(start_index + len(chunks), page_number, "\n".join(current), 0))
    return chunks


def _score(chunk: _Chunk) -> float:
    text = normalize(chunk.text)
    hits: dict[str, int] = {}
    for token in _TOKEN.findall(text):
        name = _WORD_SIGNAL.get(token)
        if name is not None:
            hits[name] = hits.get(name, 0) + 1
    for name, (_, phrases, _) in _SIGNALS.items():
        for phrase in phrases:
            if phrase in text:
                hits[name] = hits.get(name, 0) + text.count(phrase)
    score = sum(_SIGNALS[name][2] * min(n, SIGNAL_CAP) for name, n in hits.items())
    score += DURATION_WEIGHT * min(len(_DURATION.findall(text)), SIGNAL_CAP)
    if "device" in hits:
        score += DEVICE_COUNT_WEIGHT * min(len(_DEVICE_COUNT.findall(text)), SIGNAL_CAP)
    if "device" in hits or "vendor" in hits or "cluster" in hits:
        # Only then can an accelerator be named; the catalog scan is the costly part.
        score += MENTION_WEIGHT * min(len(find_mentions(text, normalized=True)), SIGNAL_CAP)
    return score


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def select_passages(
    pages: Sequence[str], token_budget: int = DEFAULT_TOKEN_BUDGET
) -> list[Passage]:
    """The passages of ``pages`` (index 0 is page 1) worth showing a model, in page order."""
    chunks: list[_Chunk] = []
    for number, text in enumerate(pages, start=1):
        chunks.extend(_chunks_of(number, text, len(chunks)))
    if not chunks:
        return []
    for chunk in chunks:
        chunk.score = _score(chunk)
    budget = token_budget * CHARS_PER_TOKEN
    chosen: set[int] = set()
    used = 0.0

    # The opening of page 1: title, authors, affiliations (for the research setting).
    for chunk in chunks:
        if chunk.page != 1 or used >= FIRST_PAGE_CHARS:
            break
        chosen.add(chunk.index)
        used += len(chunk.text)

    queue = [(-c.score, c.index) for c in chunks if c.score >= MIN_SCORE and c.index not in chosen]
    heapq.heapify(queue)
    while queue:
        negative, index = heapq.heappop(queue)
        if index in chosen:
            continue
        chunk = chunks[index]
        if used + len(chunk.text) > budget:
            continue  # a smaller chunk may still fit
        chosen.add(index)
        used += len(chunk.text)
        # The surrounding chunks often finish the sentence or name the hardware.
        for neighbour in (index - 1, index + 1):
            if 0 <= neighbour < len(chunks) and neighbour not in chosen:
                inherited = -negative * 0.5
                if inherited > chunks[neighbour].score:
                    heapq.heappush(queue, (-inherited, neighbour))

    passages: list[Passage] = []
    for index in sorted(chosen):
        chunk = chunks[index]
        previous = passages[-1] if passages else None
        if previous is not None and previous.page == chunk.page and index - 1 in chosen:
            passages[-1] = Passage(chunk.page, previous.text + "\n" + chunk.text)
        else:
            passages.append(Passage(chunk.page, chunk.text))
    return passages
