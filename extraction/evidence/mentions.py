"""Candidate mentions of each field in a paper: where an annotator should look.

The review app marks these in the paper's text, counts them in the field's row and jumps
between them, so "not reported" can be checked instead of guessed: a paper that names an
accelerator, "GPU hours", a number of days, a FLOP amount, a grant or a cloud has something
to read before the field is called not reported. The patterns are tuned for recall (a few
false hints cost a glance; a missed one costs a wrong gold value), unlike the rules engine,
which must pick one value. Matching runs on the normalised page text (case, ligatures,
hyphenation folded); offsets are reported into the stored text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from extraction.evidence.catalog import find_mentions as find_accelerators
from extraction.evidence.normalize import durations, flop_amounts
from extraction.evidence.quotes import MAX_QUOTE, MIN_QUOTE, Evidence, QuoteProblem, one_line
from extraction.evidence.textnorm import normalize, normalize_with_map


@dataclass(frozen=True, slots=True)
class Mention:
    """A passage of a page that may state a field's value."""

    page: int
    start: int
    end: int
    """Offsets into the stored text of ``page``."""
    text: str
    """The passage on one line."""


@dataclass(frozen=True, slots=True)
class _Page:
    number: int
    raw: str
    norm: str
    offsets: tuple[int, ...]

    def mention(self, start: int, end: int) -> Mention:
        """The mention at normalised offsets ``start:end``."""
        raw_start = self.offsets[start]
        raw_end = self.offsets[end - 1] + 1
        return Mention(self.number, raw_start, raw_end, one_line(self.raw[raw_start:raw_end]))


Finder = Callable[[_Page], Iterator[tuple[int, int]]]
"""Spans (normalised offsets) of one page that mention a field."""


def _pattern(*alternatives: str) -> Finder:
    compiled = re.compile("|".join(f"(?:{a})" for a in alternatives))

    def find(page: _Page) -> Iterator[tuple[int, int]]:
        for match in compiled.finditer(page.norm):
            if match.end() > match.start():
                yield match.span()

    return find


def _combined(*finders: Finder) -> Finder:
    def find(page: _Page) -> Iterator[tuple[int, int]]:
        for finder in finders:
            yield from finder(page)

    return find


def _accelerator_names(page: _Page) -> Iterator[tuple[int, int]]:
    for found in find_accelerators(page.norm, normalized=True):
        yield found.start, found.end


_COUNT_BEFORE = re.compile(
    r"(?:\d[\d,]*|[a-z]+(?:-[a-z]+)?)\s*(?:x\s*)?(?:\(?\d{1,4}\s?gb\)?\s*)?$"
)


def _counted_accelerators(page: _Page) -> Iterator[tuple[int, int]]:
    """Accelerator names with a count before them ("8x A100s"), count included."""
    for found in find_accelerators(page.norm, normalized=True):
        if found.count is None:
            continue
        before = _COUNT_BEFORE.search(page.norm, max(0, found.start - 24), found.start)
        yield (before.start() if before else found.start), found.end


def _sized_accelerators(page: _Page) -> Iterator[tuple[int, int]]:
    """Accelerator names that state the memory ("A100 80GB")."""
    for found in find_accelerators(page.norm, normalized=True):
        if found.memory_gb is not None:
            yield found.start, found.end


def _durations(page: _Page) -> Iterator[tuple[int, int]]:
    for _, start, end in durations(page.norm):
        yield start, end


_SENTENCE_END = re.compile(r"[.!?]\s")


_AMOUNT = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s?(?:x|\*|·)\s?10\s?\d{1,2}"
    r"|(?<![\w.])\d+(?:\.\d+)?\s?e\s?\+?\d{2}"
)


def _flop_sentences(page: _Page) -> Iterator[tuple[int, int]]:
    """Amounts of compute (``3.1e23``, ``2.5 × 10^23``) in a sentence that talks of FLOPs."""
    for match in _AMOUNT.finditer(page.norm):
        left = max(0, match.start() - 160)
        context = page.norm[left : match.end() + 160]
        if re.search(r"flop|floating|compute|pf-?days", context) and flop_amounts(
            page.norm[match.start() : match.end() + 12]
        ):
            yield match.span()


_AFFILIATION = re.compile(
    r"\buniversit\w*|\bcollege\b|\binstitute\b|\bschool of\b|\bacademy\b|\blaborator\w*|"
    r"\blabs?\b|\bresearch\b|\binc\b|\bltd\b|\bcorp\w*|\bllc\b|\bgmbh\b|\bdepartment\b|"
    r"\bcent(?:er|re) for\b|\bgoogle\b|\bdeepmind\b|\bmicrosoft\b|\bmeta\b|\bfacebook\b|"
    r"\bopenai\b|\bnvidia\b|\bamazon\b|\bibm\b|\bapple\b|\bbaidu\b|\balibaba\b|\btencent\b|"
    r"\bbytedance\b|\bhuawei\b|\bsamsung\b|\bdeepseek(?:-ai)?\b|\banthropic\b|"
    r"@[a-z0-9.-]+\.[a-z]{2,}|\.edu\b|\.ac\.[a-z]{2}\b"
)
SETTING_PAGES = 1
"""Affiliations are read from the first page's opening."""
SETTING_CHARS = 4000


def _setting(page: _Page) -> Iterator[tuple[int, int]]:
    if page.number > SETTING_PAGES:
        return
    for match in _AFFILIATION.finditer(page.norm, 0, SETTING_CHARS):
        yield match.span()


_GLUE = r"(?:per|of|and|or|to|the|in|on|for|with|by|from|at|each|a|an|is|are|was|were)"
"""Words a count is never separated from its devices by ("2 per GPU" is a price)."""
_DEVICE = (
    r"(?:tpu chips?|tpu cores?|gpu cards?|gpus?|tpus?|ipus?|npus?|chips?|accelerators?|cards?|"
    r"devices?|nodes?|cores?|pods?)"
)
_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+|\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"sixteen|thirty-two|sixty-four|hundreds?|thousands?|dozens?|a single|single|a few|several)"
)
_GPU_WORD = r"\b(?:gpus?|tpus?|ipus?|npus?|cloud tpus?|tpu ?v\d\w*|tpu pods?)\b"
_VENDORS = (
    r"\b(?:nvidia|tesla|geforce|quadro|radeon|instinct|gaudi|habana|cerebras|graphcore|ascend)\b"
)

FINDERS: dict[str, Finder] = {
    "accelerator_type": _combined(_accelerator_names, _pattern(_GPU_WORD, _VENDORS)),
    "accelerator_count": _combined(
        _counted_accelerators,
        _pattern(
            rf"(?<![\w.]){_NUMBER}\s?(?:x\s?)?(?:(?!{_GLUE}\b)[a-z0-9-]+\s){{0,3}}?{_DEVICE}\b",
            rf"\b{_DEVICE} ?(?:x|×) ?\d+\b",
            r"\b\d+ ?x ?\d+\b(?= ?(?:[a-z0-9-]+ )?(?:gpus?|tpus?|chips?|nodes?))",
        ),
    ),
    "accelerator_memory_gb": _combined(
        _sized_accelerators,
        _pattern(
            # not a bandwidth ("NVLink offers 160 GB/s")
            r"(?<![\w.])\d{1,4} ?(?:gb|gib)\b(?!\s?/\s?s\b|\s?per second)",
            r"\bhbm\d?e?\b",
            r"\b(?:gpu|device|accelerator|video|on-chip) memory\b",
            r"\bvram\b",
        ),
    ),
    "training_time_hours": _combined(
        _durations, _pattern(r"\bwall[ -]?clock\b", r"\btraining time\b", r"\bgpu[ -]?days\b")
    ),
    "gpu_hours": _pattern(
        r"\b(?:gpu|tpu|chip|device|accelerator|core|node|ipu)[ -]?(?:hours?|hrs?|days?|years?)\b",
        r"\b(?:gpu|tpu|chip|device|accelerator|core|node)(?:hours?|hrs?|days?|years?)\b",
    ),
    "training_compute_flop": _combined(
        _flop_sentences,
        _pattern(
            r"\b(?:[ptezg]|peta|tera|exa|zetta|giga)?flops?\b(?!\s?/\s?s)(?!\s+per\s+second)",
            r"\bfloating[ -]point operations\b",
            r"\bpf-?days?\b|\bpetaflop(?:/s)?[ -]?(?:-\s?)?days?\b|\bpfs-days?\b",
        ),
    ),
    "compute_provider": _pattern(
        r"\b(?:aws|amazon web services|amazon ec2|ec2|sagemaker)\b",
        r"\b(?:google cloud(?: platform)?|gcp|cloud tpus?|google compute engine)\b",
        r"\b(?:microsoft azure|azure)\b|\boracle cloud\b|\balibaba cloud\b|\baliyun\b",
        r"\b(?:lambda labs|lambda cloud|coreweave|runpod|vast\.ai|paperspace|ibm cloud)\b",
        r"\b(?:tpu|tensorflow) research cloud\b|\btrc\b",
        r"\bsuper-?computers?\b|\bsupercomputing\b|\bclusters?\b|\bdata ?cent(?:er|re)s?\b",
        r"\bcomput(?:e|ing) (?:cent(?:er|re)|facilit(?:y|ies)|resources|allocation|credits?)\b",
        r"\bhpc\b|\bhigh[ -]performance computing\b",
        r"\b(?:compute canada|digital research alliance|juwels|jureca|jean zay|lumi|leonardo|"
        r"perlmutter|summit|frontier|polaris|fugaku|selene|marenostrum|csd3|isambard|tacc|"
        r"archer2?|cineca|nersc|olcf|alcf|prace|euro-?hpc|gauss cent(?:er|re)|snellius|"
        r"vega|karolina|dgx (?:superpod|cloud))\b",
    ),
    "funding_sources": _pattern(
        r"\b(?:funded|funding|funds?|grants?|granted|supported (?:in part )?by|support (?:from|of)|"
        r"sponsored|sponsorship|fellowships?|scholarships?|awards?|gifts?|financial(?:ly)? "
        r"support(?:ed)?|endowment)\b",
        r"\backnowledg(?:e|es|ed|ing|ements?|ments?)\b",
        r"\b(?:national science foundation|nsf|nsfc|nih|darpa|iarpa|erc|epsrc|ukri|dfg|bmbf|"
        r"nserc|cifar|jsps|jst|nrf|nwo|doe|onr|afosr|horizon 2020|horizon europe)\b",
        r"\b(?:research|science|national) (?:foundation|council)\b|\bministry of\b",
    ),
    "models_used": _pattern(
        r"(?<![\w-])(?:gpt-?[234](?:\.5)?o?(?:-turbo)?|chatgpt|instructgpt|codex|"
        r"llama[ -]?\d?(?:\.\d)?(?:[ -]\d+b)?|vicuna|alpaca|mistral|mixtral|falcon|bloomz?|"
        r"opt(?:-\d+(?:\.\d+)?[bm])|palm(?:[ -]?2)?|gemini|gemma|claude(?:[ -]\d(?:\.\d)?)?|"
        r"qwen\d?(?:\.\d)?|deepseek(?:-[a-z0-9.]+)?|bert(?:-(?:base|large))?|roberta|albert|"
        r"electra|deberta|xlnet|flan-t5|t5(?:-(?:small|base|large|3b|11b|xl|xxl))?|bart|clip|"
        r"whisper|stable diffusion|wav2vec ?2?(?:\.0)?|hubert|vit(?:-[bhl]/\d+)?|resnet-?\d*|"
        r"chinchilla|gopher|megatron(?:-[a-z]+)?|jurassic|ernie|glm-?\d*b?|chatglm\d?|"
        r"baichuan\d?|yi-\d+b|phi-\d|starcoder|codellama|code llama|pythia|gpt-j|gpt-neox?|"
        r"lamda|muzero|alphazero|alphago)(?![\w])",
    ),
    "api_cost_usd": _pattern(
        r"(?:us)?\$ ?\d(?:[\d,.]*\d)?(?: ?(?:k|m|million|thousand|billion)\b)?",
        r"\b\d[\d,.]* ?(?:usd|us dollars|dollars)\b",
        r"\bapi (?:calls?|costs?|usage|credits?|queries|requests|pricing|fees?)\b",
        r"\b(?:openai|anthropic|gemini) api\b",
    ),
}
FINDERS["funding_types"] = FINDERS["funding_sources"]
FINDERS["research_setting"] = _setting


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order, overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


_WORDS = re.compile(r"[^\W_]+")


class IndexedPaper:
    """A paper's pages, normalised once, to find words and candidate mentions in them.

    Building one costs about 40 ms for an 80-page paper, and each field's mentions about
    20 ms more: the review app does it off the UI thread and keeps the result.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self._pages: list[_Page] | None = None
        self._mentions: dict[str, tuple[Mention, ...]] = {}

    @property
    def pages(self) -> list[_Page]:
        if self._pages is None:
            pages = []
            for number, raw in enumerate(self.texts, start=1):
                norm, offsets = normalize_with_map(raw)
                pages.append(_Page(number, raw, norm, tuple(offsets)))
            self._pages = pages
        return self._pages

    def has_mentions(self, field: str) -> bool:
        """Whether the mentions of ``field`` were found already."""
        return field in self._mentions

    def mentions(self, field: str) -> tuple[Mention, ...]:
        """Every candidate mention of ``field``, in reading order (none for a field without
        patterns)."""
        if field not in self._mentions:
            finder = FINDERS.get(field)
            found: list[Mention] = []
            if finder is not None:
                for page in self.pages:
                    for start, end in _merged(list(finder(page))):
                        found.append(page.mention(start, end))
            self._mentions[field] = tuple(found)
        return self._mentions[field]

    def locate(self, quote: str, page: int | None) -> Evidence:
        """The passage ``quote`` is, on ``page`` or (failing that) another page, which then
        becomes the page: found verbatim (``exact``) or after normalisation (``normalized``),
        as grounding does for proposals. A fuzzy match is not accepted.

        Raises:
            QuoteProblem: The quote is too short or too long, or is on no page.
        """
        wanted = quote.strip()
        if len(wanted) < MIN_QUOTE:
            raise QuoteProblem("the quote is too short to be evidence")
        if len(wanted) > MAX_QUOTE * 2:
            raise QuoteProblem(f"the quote is longer than {MAX_QUOTE * 2} characters")
        count = len(self.texts)
        order = list(range(1, count + 1))
        if page is not None and 1 <= page <= count:
            order.remove(page)
            order.insert(0, page)
        for number in order:
            index = self.texts[number - 1].find(wanted)
            if index >= 0:
                end = index + len(wanted)
                return Evidence(number, self.texts[number - 1][index:end], index, end, "exact")
        folded = normalize(wanted).strip()
        for number in order if folded else ():
            found = self.pages[number - 1]
            index = found.norm.find(folded)
            if index >= 0:
                start = found.offsets[index]
                end = found.offsets[index + len(folded) - 1] + 1
                return Evidence(number, found.raw[start:end], start, end, "normalized")
        where = f"page {page} or any other page" if page else "any page"
        raise QuoteProblem(f"not found on {where} (check the wording)")

    def find(self, words: str) -> list[Mention]:
        """Every place the paper has ``words`` (normalised: case, spacing, hyphenation and
        ligatures do not matter), in reading order."""
        wanted = normalize(words).strip()
        if not _WORDS.search(wanted):
            return []
        found = []
        for page in self.pages:
            start = page.norm.find(wanted)
            while start >= 0:
                found.append(page.mention(start, start + len(wanted)))
                start = page.norm.find(wanted, start + len(wanted))
        return found


def paper_mentions(texts: Sequence[str], fields: Sequence[str]) -> dict[str, tuple[Mention, ...]]:
    """Every candidate mention of each of ``fields`` in a paper whose pages are ``texts``."""
    paper = IndexedPaper(texts)
    return {name: paper.mentions(name) for name in fields}
