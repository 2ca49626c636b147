"""The accelerator catalog: canonical names, aliases, memory and peak TFLOPS.

Data lives in ``accelerators.json`` (with a source for every figure); this module finds
accelerator mentions in text and turns them into canonical names: ``NVIDIA A100 80GB``,
``NVIDIA A100`` when the memory is not stated, ``Google TPU v4``, ``AMD MI250X 128GB``.
Names not in the catalog become ``other: <as written>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from extraction.evidence.numbers import words_to_number
from extraction.evidence.textnorm import normalize

OTHER_PREFIX = "other: "


@dataclass(frozen=True, slots=True)
class Accelerator:
    """One accelerator model of the catalog."""

    vendor: str
    model: str
    memory_options: tuple[int, ...]
    fp16_tflops: float | None
    """Dense FP16/BF16 tensor peak per device."""
    fp32_tflops: float | None
    source: str
    """Where the figures come from (a URL, with how dense figures were derived)."""
    is_tpu: bool
    pattern: re.Pattern[str]
    keys: tuple[str, ...]
    """Literal strings, one of which any text naming this model contains (a fast pre-check)."""
    note: str = ""

    @property
    def family(self) -> str:
        """The canonical name without memory: ``NVIDIA A100``, ``Google TPU v4``."""
        return f"{self.vendor} {self.model}"

    def canonical(self, memory_gb: int | None = None) -> str:
        """The canonical name, with memory when known (always, if the model has one size)."""
        if self.is_tpu:
            return self.family
        if memory_gb is None and len(self.memory_options) == 1:
            memory_gb = self.memory_options[0]
        return f"{self.family} {memory_gb}GB" if memory_gb else self.family


@dataclass(frozen=True, slots=True)
class Mention:
    """An accelerator named in a piece of (normalised) text."""

    accelerator: Accelerator
    memory_gb: int | None
    count: int | None
    start: int
    end: int

    @property
    def canonical(self) -> str:
        return self.accelerator.canonical(self.memory_gb)


def _literal_key(pattern: str) -> str:
    """A literal every match of ``pattern`` contains: its first run of letters and digits
    that holds a digit and sits outside optional groups ("a6000" in "(?:rtx[ -]?)?a6000")."""
    mandatory = re.sub(r"\(\?:[^()]*\)\?|\(\?[!=<][^()]*\)", " ", pattern)
    runs = re.findall(r"[a-z0-9]+", re.sub(r"\\[a-z]", " ", mandatory))
    with_digit = [run for run in runs if any(c.isdigit() for c in run) and len(run) >= 2]
    return with_digit[0] if with_digit else max(runs, key=len)


@cache
def catalog() -> tuple[Accelerator, ...]:
    """Every accelerator of the catalog, most specific first."""
    data = json.loads(
        resources.files("extraction.evidence").joinpath("accelerators.json").read_text()
    )
    sources = data["sources"]
    models = []
    for entry in data["accelerators"]:
        alternatives = "|".join(f"(?:{p})" for p in entry["patterns"])
        pattern = re.compile(rf"(?<![a-z0-9])(?:{alternatives})s?(?![a-z0-9])")
        keys = tuple(_literal_key(p) for p in entry["patterns"])
        models.append(
            Accelerator(
                vendor=entry["vendor"],
                model=entry["model"],
                memory_options=tuple(entry["memory_gb"]),
                fp16_tflops=entry["fp16"],
                fp32_tflops=entry["fp32"],
                source=sources[entry["source"]],
                is_tpu=bool(entry.get("tpu")),
                pattern=pattern,
                keys=keys,
                note=entry.get("note", ""),
            )
        )
    return tuple(models)


_VENDOR_BEFORE = re.compile(r"(?:(?:nvidia|tesla|geforce|google|cloud|amd|radeon|instinct)[ -]+)+$")
_MEMORY = re.compile(r"(?<![\d.])(\d{1,4})\s?-?\s?(?:gb|gib|g)(?![a-z])")
_COUNT_BEFORE = re.compile(
    r"(?:(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?![\d,])|\b([a-z]+(?:[ -][a-z]+)?))\s*(?:x\s*)?"
    r"(?:\(?\d{1,4}\s?gb\)?\s*)?$"
)


def find_mentions(text: str, *, normalized: bool = False) -> list[Mention]:
    """Every accelerator named in ``text``, in order, with stated memory and count.

    Args:
        text: Any text; it is normalised first unless ``normalized`` says it already is.
    """
    norm = text if normalized else normalize(text)
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for accelerator in catalog():
        if not any(key in norm for key in accelerator.keys):
            continue
        for match in accelerator.pattern.finditer(norm):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue  # a more specific model (listed earlier) already claimed this text
            taken.append((start, end))
            vendor = _VENDOR_BEFORE.search(norm, max(0, start - 40), start)
            if vendor:
                start = vendor.start()
            found.append(
                Mention(
                    accelerator=accelerator,
                    memory_gb=_memory_near(norm, start, end, accelerator.memory_options),
                    count=_count_before(norm[max(0, start - 40) : start]),
                    start=start,
                    end=end,
                )
            )
    found.sort(key=lambda m: m.start)
    return found


def _memory_near(text: str, start: int, end: int, options: tuple[int, ...]) -> int | None:
    if len(options) < 2:
        return None
    # "A100-80GB", "A100 (80GB)", "an A100 GPU with 80GB of memory", or "80GB A100".
    after = text[end : end + 60]
    before = text[max(0, start - 15) : start]
    for window in (after, before):
        for match in _MEMORY.finditer(window):
            value = int(match.group(1))
            if value in options:
                return value
    return None


def _count_before(prefix: str) -> int | None:
    match = _COUNT_BEFORE.search(prefix.rstrip())
    if not match:
        return None
    digits, words = match.groups()
    if digits:
        return int(digits.replace(",", ""))
    value = words_to_number(words) if words else None
    if value is None and words:
        # "using two" from "using two nvidia": keep only the last word
        value = words_to_number(words.split()[-1].split("-")[-1])
    return int(value) if value is not None and value >= 1 and value == int(value) else None


def normalize_accelerator(text: str) -> str:
    """The canonical name for an accelerator as written (``other: …`` if not in the catalog).

    Raises:
        ValueError: ``text`` is empty.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("no accelerator named")
    if cleaned.lower().startswith("other:"):
        rest = cleaned[6:].strip()
        mentions = find_mentions(rest)
        return mentions[0].canonical if mentions else OTHER_PREFIX + rest
    # A canonical name typed back ("NVIDIA A100 80GB") parses like any other text.
    mentions = find_mentions(cleaned)
    if not mentions:
        return OTHER_PREFIX + cleaned
    return mentions[0].canonical


def lookup(canonical: str) -> tuple[Accelerator, int | None] | None:
    """The catalog model and memory of a canonical name, or ``None`` for ``other: …``."""
    if canonical.startswith(OTHER_PREFIX):
        return None
    for accelerator in catalog():
        if canonical == accelerator.family:
            return accelerator, None
        for memory in accelerator.memory_options:
            if canonical == f"{accelerator.family} {memory}GB":
                return accelerator, memory
    return None


def same_accelerator(a: str, b: str) -> bool:
    """Whether two canonical names denote the same device.

    The same model matches when memory is equal or one side does not state it ("NVIDIA A100"
    vs "NVIDIA A100 80GB"); names outside the catalog match when their text does.
    """
    if a == b:
        return True
    found_a, found_b = lookup(a), lookup(b)
    if found_a is None or found_b is None:
        return normalize(a) == normalize(b)
    (model_a, memory_a), (model_b, memory_b) = found_a, found_b
    if model_a is not model_b:
        return False
    return memory_a is None or memory_b is None or memory_a == memory_b


def completions(prefix: str, limit: int = 20) -> list[str]:
    """Canonical names that start with (or contain) what the annotator has typed."""
    names = [a.canonical(m) for a in catalog() for m in (None, *a.memory_options)]
    names = list(dict.fromkeys(names))
    wanted = normalize(prefix)
    starts = [n for n in names if normalize(n).startswith(wanted)]
    contains = [n for n in names if wanted in normalize(n) and n not in starts]
    return (starts + contains)[:limit]
