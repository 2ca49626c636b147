"""The rules engine: a deterministic, offline extractor for every field, with evidence.

It is the baseline every model run must beat, and what ``goldsmith demo`` uses when no
Ollama is around. It reads the whole paper (no page selection), finds candidate statements
with patterns and the shared normalisers, prefers those in a training context, and quotes
the sentence it found, cut from the stored page text so the quote grounds exactly.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from extraction.answers import FieldProposal
from extraction.evidence.catalog import find_mentions
from extraction.evidence.normalize import durations, flop_amounts, normalize_value
from extraction.evidence.numbers import SUFFIXES, words_to_number
from extraction.evidence.textnorm import normalize_with_map
from extraction.fields import FIELDS, Status

MAX_QUOTE = 280


@dataclass(frozen=True, slots=True)
class _Page:
    number: int
    raw: str
    norm: str
    offsets: tuple[int, ...]

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """The sentence (in normalised offsets) around ``start:end``, at most MAX_QUOTE long."""
        left = max(
            (m.end() for m in _BOUNDARY.finditer(self.norm, max(0, start - 220), start)),
            default=max(0, start - 220) if start > 220 else 0,
        )
        right_match = _BOUNDARY.search(self.norm, end, min(len(self.norm), end + 220))
        right = right_match.start() + 1 if right_match else min(len(self.norm), end + 220)
        if right - left > MAX_QUOTE:
            slack = max(0, MAX_QUOTE - (end - start)) // 2
            left = max(left, start - slack)
            right = min(right, end + slack)
        return left, right

    def quote(self, start: int, end: int) -> str:
        """The stored text for normalised offsets ``start:end``."""
        if start >= end:
            return ""
        return self.raw[self.offsets[start] : self.offsets[end - 1] + 1].strip()


_BOUNDARY = re.compile(r"(?<=[a-z0-9)\]][.!?])\s+|\n\n")


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    page: _Page
    start: int
    end: int
    value: object


def _pages(texts: Sequence[str]) -> list[_Page]:
    pages = []
    for number, raw in enumerate(texts, start=1):
        norm, offsets = normalize_with_map(raw)
        pages.append(_Page(number, raw, norm, tuple(offsets)))
    return pages


_TRAINING = re.compile(
    r"\b(?:train(?:ed|ing|s)?|pre-?train(?:ed|ing)?|pretrain(?:ed|ing)?|fine-?tun(?:ed|ing)|"
    r"experiments?|conducted|took|completed|run|ran)\b"
)
_EXAMPLE = re.compile(r"\b(?:e\.g\.|such as|like|compared (?:to|with)|unlike|instead of)")
_NOT_TRAINING_TIME = re.compile(
    r"^\s*(?:of )?(?:audio|speech|video|data|labeled|labelled|transcribed|recordings?|footage|"
    r"unlabeled|unlabelled|speech data)\b"
)


def _context_score(page: _Page, start: int, end: int) -> float:
    left, right = page.sentence(start, end)
    sentence = page.norm[left:right]
    score = 1.0
    if _TRAINING.search(sentence):
        score += 2
    if re.search(r"\b(?:gpus?|tpus?|chips?|accelerators?|nodes?)\b", sentence):
        score += 1
    if _EXAMPLE.search(page.norm[max(0, start - 40) : start]):
        score -= 2.5
    return score


def _best(candidates: Iterator[_Candidate]) -> _Candidate | None:
    best: _Candidate | None = None
    for candidate in candidates:
        if candidate.score > 0 and (best is None or candidate.score > best.score):
            best = candidate
    return best


def _proposal(field: str, candidate: _Candidate | None) -> FieldProposal:
    if candidate is None:
        return FieldProposal(field, Status.NOT_REPORTED, None, None, None)
    left, right = candidate.page.sentence(candidate.start, candidate.end)
    return FieldProposal(
        field,
        Status.REPORTED,
        candidate.value,
        candidate.page.number,
        candidate.page.quote(left, right),
    )


# --- hardware -------------------------------------------------------------------------------

_DEVICE_COUNT = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|"
    r"sixteen|thirty-two|sixty-four|a single|single)\s(?:x\s)?(?:[a-z0-9-]+\s){0,3}?"
    r"(?:gpus|tpus|tpu chips|chips|accelerators|cards|devices|gpu|tpu)\b"
)


def _count_value(text: str) -> int | None:
    text = text.replace(",", "")
    if text.isdigit():
        return int(text)
    value = words_to_number(text.replace("a single", "one").replace("single", "one"))
    return int(value) if value else None


def _hardware(pages: list[_Page]) -> list[FieldProposal]:
    mentions = []
    for page in pages:
        for mention in find_mentions(page.norm, normalized=True):
            mentions.append((page, mention))
    frequency = Counter(m.accelerator.model for _, m in mentions)
    best_type: _Candidate | None = None
    best_mention = None
    for page, mention in mentions:
        score = _context_score(page, mention.start, mention.end)
        score += 0.3 * min(frequency[mention.accelerator.model], 5)
        score += 1.0 if mention.count else 0.0
        score += 0.5 if mention.memory_gb else 0.0
        if score > 0 and (best_type is None or score > best_type.score):
            best_type = _Candidate(score, page, mention.start, mention.end, mention.canonical)
            best_mention = mention
    proposals = [_proposal("accelerator_type", best_type)]

    count: _Candidate | None = None
    if best_type is not None and best_mention is not None and best_mention.count:
        count = _Candidate(1, best_type.page, best_type.start, best_type.end, best_mention.count)
    else:
        count = _best(
            _Candidate(
                _context_score(page, m.start(), m.end())
                + (1 if best_type and page is best_type.page else 0),
                page,
                m.start(),
                m.end(),
                value,
            )
            for page in pages
            for m in _DEVICE_COUNT.finditer(page.norm)
            if (value := _count_value(m.group(1))) is not None and 0 < value <= 1_000_000
        )
    proposals.append(_proposal("accelerator_count", count))

    memory: _Candidate | None = None
    if best_type is not None and best_mention is not None and best_mention.memory_gb:
        memory = _Candidate(
            1, best_type.page, best_type.start, best_type.end, best_mention.memory_gb
        )
    proposals.append(_proposal("accelerator_memory_gb", memory))
    return proposals


# --- time and compute -----------------------------------------------------------------------

_DEVICE_HOURS_UNIT = re.compile(
    r"(?:gpu|tpu|chip|device|accelerator|core)s?[ -]?(?P<unit>hours?|days?|years?)\b"
)
_NUMBER_BEFORE = re.compile(
    r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?"
    r"(?P<scale>k|m|million|thousand|b|billion)?\s(?:[a-z0-9-]+\s){0,2}$"
)
_UNIT_HOURS = {"hour": 1, "hours": 1, "day": 24, "days": 24, "year": 8760, "years": 8760}


def _gpu_hours(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for unit in _DEVICE_HOURS_UNIT.finditer(page.norm):
                # "gpuhours" (joined "GPU-hours") has no space before the unit
                before = _NUMBER_BEFORE.search(page.norm, max(0, unit.start() - 50), unit.start())
                if before is None:
                    continue
                scale = before.group("scale")
                value = float(before.group("num").replace(",", "")) * (
                    SUFFIXES[scale] if scale else 1
                )
                value *= _UNIT_HOURS[unit.group("unit")]
                start, end = before.start(), unit.end()
                score = _context_score(page, start, end)
                if re.search(
                    r"\b(?:total|full|entire|requires?|required|pre-?training)\b",
                    page.norm[max(0, start - 80) : end + 40],
                ):
                    score += 1
                yield _Candidate(score, page, start, end, value)

    return _proposal("gpu_hours", _best(candidates()))


def _training_time(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for hours, start, end in durations(page.norm):
                after = page.norm[end : end + 30]
                phrase = page.norm[start:end]
                if _NOT_TRAINING_TIME.match(after) or re.search(
                    r"gpu|tpu|chip|device|core", phrase
                ):
                    continue
                if re.match(r"\s?(?:per|/)\s?(?:epoch|step|iteration|batch)", after):
                    continue
                left, right = page.sentence(start, end)
                sentence = page.norm[left:right]
                if not _TRAINING.search(sentence):
                    continue
                score = _context_score(page, start, end)
                if re.search(
                    r"\b(?:for|took|takes|over|in|within|completed in|lasted)\s$",
                    page.norm[max(0, start - 14) : start],
                ):
                    score += 1
                if hours < 0.05:
                    continue
                yield _Candidate(score, page, start, end, float(f"{hours:.12g}"))

    return _proposal("training_time_hours", _best(candidates()))


_FLOP_WORD = re.compile(r"flop|pf-?days|pfdays|petaflop")


def _training_compute(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for m in _FLOP_WORD.finditer(page.norm):
                left, right = page.sentence(m.start(), m.end())
                sentence = page.norm[left:right]
                amounts = [a for a in flop_amounts(sentence) if a >= 1e15]
                if not amounts or not re.search(
                    r"\b(?:train|compute|total|budget|required)", sentence
                ):
                    continue
                yield _Candidate(
                    _context_score(page, m.start(), m.end()), page, m.start(), m.end(), max(amounts)
                )

    return _proposal("training_compute_flop", _best(candidates()))


# --- who paid, where it ran -----------------------------------------------------------------

_PROVIDERS = (
    (r"amazon web services|\baws\b|amazon ec2|\bec2\b", "AWS"),
    (r"google cloud(?: platform)?|\bgcp\b", "Google Cloud"),
    (r"tpu research cloud|tensorflow research cloud|\btrc\b", "Google TPU Research Cloud"),
    (r"microsoft azure|\bazure\b", "Microsoft Azure"),
    (r"oracle cloud", "Oracle Cloud"),
    (r"alibaba cloud|aliyun", "Alibaba Cloud"),
    (r"lambda labs|lambda cloud", "Lambda"),
    (r"coreweave", "CoreWeave"),
    (r"juwels booster", "JUWELS Booster"),
    (r"\bjuwels\b", "JUWELS"),
    (r"\bjureca\b", "JURECA"),
    (r"jean zay", "Jean Zay"),
    (r"\blumi\b", "LUMI"),
    (r"\bleonardo\b", "Leonardo"),
    (r"perlmutter", "Perlmutter"),
    (r"\bsummit\b supercomputer|summit at oak ridge|olcf summit", "Summit"),
    (r"\bfrontier\b supercomputer|olcf frontier", "Frontier"),
    (r"\bpolaris\b", "Polaris"),
    (r"\bfugaku\b", "Fugaku"),
    (r"\bselene\b", "Selene"),
    (r"marenostrum", "MareNostrum"),
    (r"compute canada|digital research alliance of canada", "Digital Research Alliance of Canada"),
    (r"\bcsd3\b|cambridge service for data driven discovery", "CSD3"),
    (r"isambard", "Isambard"),
    (r"\btacc\b|texas advanced computing center", "TACC"),
)
_PROVIDER_CONTEXT = re.compile(
    r"\b(?:train(?:ed|ing|s)?|comput(?:e|ing|ational)|gpus?|tpus?|cluster|cloud|resources|"
    r"provided|credits?|ran|run|"
    r"hardware|supercomputer|allocation|instances?)\b"
)


def _provider(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for pattern, name in _PROVIDERS:
                for m in re.finditer(pattern, page.norm):
                    left, right = page.sentence(m.start(), m.end())
                    if not _PROVIDER_CONTEXT.search(page.norm[left:right]):
                        continue
                    yield _Candidate(
                        _context_score(page, m.start(), m.end()), page, m.start(), m.end(), name
                    )

    return _proposal("compute_provider", _best(candidates()))


_FUNDERS = (
    (r"national science foundation|\bnsf\b(?! ?c)", "National Science Foundation", "government"),
    (
        r"national natural science foundation of china|\bnsfc\b",
        "National Natural Science Foundation of China",
        "government",
    ),
    (r"\bdarpa\b", "DARPA", "government"),
    (r"\biarpa\b", "IARPA", "government"),
    (r"office of naval research|\bonr\b", "Office of Naval Research", "government"),
    (r"army research office|\baro\b", "Army Research Office", "government"),
    (r"air force office of scientific research|\bafosr\b", "AFOSR", "government"),
    (r"department of energy|\bdoe\b", "Department of Energy", "government"),
    (r"national institutes of health|\bnih\b", "National Institutes of Health", "government"),
    (r"european research council|\berc\b", "European Research Council", "government"),
    (r"horizon 2020|horizon europe", "European Union (Horizon)", "government"),
    (r"\bepsrc\b", "EPSRC", "government"),
    (r"\bukri\b|uk research and innovation", "UKRI", "government"),
    (r"\bdfg\b|deutsche forschungsgemeinschaft|german research foundation", "DFG", "government"),
    (r"\bbmbf\b", "BMBF", "government"),
    (r"\bnserc\b", "NSERC", "government"),
    (r"\bcifar\b", "CIFAR", "foundation"),
    (r"\bjsps\b", "JSPS", "government"),
    (r"\bjst\b", "JST", "government"),
    (
        r"\bnrf\b|national research foundation of korea",
        "National Research Foundation of Korea",
        "government",
    ),
    (r"\bnwo\b", "NWO", "government"),
    (r"ministry of science and technology", "Ministry of Science and Technology", "government"),
    (r"sloan foundation", "Alfred P. Sloan Foundation", "foundation"),
    (r"simons foundation", "Simons Foundation", "foundation"),
    (r"open philanthropy", "Open Philanthropy", "foundation"),
    (r"schmidt futures", "Schmidt Futures", "foundation"),
    (r"packard foundation", "Packard Foundation", "foundation"),
    (r"moore foundation", "Gordon and Betty Moore Foundation", "foundation"),
    (r"wellcome trust", "Wellcome Trust", "foundation"),
    (r"\bgoogle\b", "Google", "corporate"),
    (r"\bmicrosoft\b", "Microsoft", "corporate"),
    (r"\bamazon\b", "Amazon", "corporate"),
    (r"\bmeta\b|\bfacebook\b", "Meta", "corporate"),
    (r"\bnvidia\b", "NVIDIA", "corporate"),
    (r"\bibm\b", "IBM", "corporate"),
    (r"\bintel\b", "Intel", "corporate"),
    (r"\bsamsung\b", "Samsung", "corporate"),
    (r"\bopenai\b", "OpenAI", "corporate"),
    (r"\bhuawei\b", "Huawei", "corporate"),
    (r"\balibaba\b", "Alibaba", "corporate"),
    (r"\btencent\b", "Tencent", "corporate"),
    (r"stanford hai|stanford institute for human-centered", "Stanford HAI", "university"),
)
_FUNDING_CONTEXT = re.compile(
    r"\b(?:funded|funding|grants?|supported by|support from|supported in part by|sponsored|"
    r"awards?|fellowships?|gift|financial support)\b"
)


def _funding(pages: list[_Page]) -> list[FieldProposal]:
    found: dict[str, str] = {}
    first: tuple[_Page, int, int] | None = None
    for page in pages:
        for m in _FUNDING_CONTEXT.finditer(page.norm):
            left, right = page.sentence(m.start(), m.end())
            sentence = page.norm[left:right]
            for pattern, name, kind in _FUNDERS:
                if re.search(pattern, sentence) and name not in found:
                    found[name] = kind
                    if first is None:
                        first = (page, m.start(), m.end())
    if not found or first is None:
        return [
            FieldProposal("funding_sources", Status.NOT_REPORTED, None, None, None),
            FieldProposal("funding_types", Status.NOT_REPORTED, None, None, None),
        ]
    page, start, end = first
    left, right = page.sentence(start, end)
    quote = page.quote(left, right)
    sources = normalize_value(_spec("funding_sources"), sorted(found))
    kinds = normalize_value(_spec("funding_types"), sorted(set(found.values())))
    return [
        FieldProposal("funding_sources", Status.REPORTED, sources, page.number, quote),
        FieldProposal("funding_types", Status.REPORTED, kinds, page.number, quote),
    ]


_ACADEMIC = re.compile(
    r"\buniversit|\bcollege\b|institute of technology|\bschool of\b|\bacademy\b|\beth zurich\b|"
    r"\bepfl\b|\bmit\b|\binria\b|max planck|\bcnrs\b|\bkaist\b|tsinghua|peking|\bmila\b|"
    r"\bvector institute\b|\.edu\b|\.ac\.[a-z]{2}\b"
)
_INDUSTRY = re.compile(
    r"\bgoogle\b|deepmind|microsoft|\bmeta ai\b|\bmeta\b|facebook|\bfb\.com\b|openai|amazon|"
    r"alibaba|tencent|baidu|bytedance|huawei|nvidia|\bibm\b|\bapple\b|samsung|deepseek|inclusionai|"
    r"ant group|anthropic|salesforce|adobe|intel labs|\bsony\b|\binc\b|\bltd\b|\bcorp\b|"
    r"\bllc\b|beike|ke\.com"
)
_GOVERNMENT = re.compile(
    r"national laborator|argonne|oak ridge|lawrence livermore|lawrence berkeley|los alamos|"
    r"sandia|\bnist\b|\bnasa\b"
)


def _setting(pages: list[_Page]) -> FieldProposal:
    if not pages:
        return FieldProposal("research_setting", Status.NOT_REPORTED, None, None, None)
    page = pages[0]
    head = page.norm[:3000]
    kinds = {
        "academia": _ACADEMIC.search(head),
        "industry": _INDUSTRY.search(head),
        "government": _GOVERNMENT.search(head),
    }
    present = {kind: m for kind, m in kinds.items() if m}
    if not present:
        return FieldProposal("research_setting", Status.NOT_REPORTED, None, None, None)
    value = next(iter(present)) if len(present) == 1 else "mixed"
    match = min(present.values(), key=lambda m: m.start())
    line_start = head.rfind("\n", 0, match.start()) + 1
    line_end = head.find("\n", match.end())
    line_end = len(head) if line_end < 0 else line_end
    left, right = max(line_start, match.start() - 120), min(line_end, match.end() + 120)
    return FieldProposal("research_setting", Status.REPORTED, value, 1, page.quote(left, right))


_MODEL_FAMILIES = re.compile(
    r"(?<![\w-])(gpt-?4o?(?:-turbo)?|gpt-3\.5(?:-turbo)?|gpt-?3|gpt-?2|chatgpt|"
    r"llama[ -]?[23](?:\.\d)?(?:[ -]\d+b)?|llama(?:[ -]\d+b)?|vicuna(?:[ -]\d+b)?|alpaca|"
    r"mistral(?:[ -]\d+b)?|mixtral(?:[ -]\d+x\d+b)?|falcon(?:[ -]\d+b)?|bloomz?|"
    r"opt-\d+(?:\.\d+)?b|palm(?:[ -]?2)?|gemini|claude(?:[ -]\d)?|qwen(?:[ -]?\d(?:\.\d)?)?|"
    r"deepseek-v\d|bert-(?:base|large)|bert|roberta(?:-(?:base|large))?|flan-t5|t5(?:-(?:small|base|large|3b|11b))?|"
    r"clip|whisper|stable diffusion|wav2vec 2\.0|chatglm\d?|baichuan\d?|bloom)(?![\w])"
)


def _models(pages: list[_Page]) -> FieldProposal:
    counts: Counter[str] = Counter()
    first_seen: dict[str, tuple[_Page, int, int]] = {}
    for page in pages:
        for m in _MODEL_FAMILIES.finditer(page.norm):
            name = page.quote(m.start(), m.end())
            key = m.group(1)
            counts[key] += 1
            first_seen.setdefault(key, (page, m.start(), m.end()))
            first_seen.setdefault(key + "#name", (page, m.start(), m.end()))
            if key not in counts or counts[key] == 1:
                first_seen[key + "#raw"] = (page, m.start(), m.end())
            del name
    wanted = [key for key, n in counts.most_common() if n >= 2][:8]
    if not wanted:
        return FieldProposal("models_used", Status.NOT_REPORTED, None, None, None)
    names = []
    for key in wanted:
        page, start, end = first_seen[key]
        names.append(page.quote(start, end))
    page, start, end = first_seen[wanted[0]]
    left, right = page.sentence(start, end)
    value = normalize_value(_spec("models_used"), names)
    return FieldProposal(
        "models_used", Status.REPORTED, value, page.number, page.quote(left, right)
    )


_API_COST = re.compile(
    r"(?:us)?\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(k|million|thousand)?"
)


def _api_cost(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for m in _API_COST.finditer(page.norm):
                left, right = page.sentence(m.start(), m.end())
                sentence = page.norm[left:right]
                if not re.search(r"\b(?:api|openai|gpt|claude|gemini|queries|calls)\b", sentence):
                    continue
                if not re.search(r"\b(?:cost|costs|spent|spend|paid|budget|price)\b", sentence):
                    continue
                value = float(m.group(1).replace(",", "")) * (SUFFIXES.get(m.group(2) or "", 1))
                yield _Candidate(2, page, m.start(), m.end(), value)

    return _proposal("api_cost_usd", _best(candidates()))


def _spec(name: str):  # noqa: ANN202 - tiny local helper
    return next(spec for spec in FIELDS if spec.name == name)


def extract(texts: Sequence[str]) -> list[FieldProposal]:
    """Propose every field of the schema for a paper whose pages are ``texts``."""
    pages = _pages(texts)
    proposals = [
        *_hardware(pages),
        _training_time(pages),
        _gpu_hours(pages),
        _training_compute(pages),
        _provider(pages),
        *_funding(pages),
        _setting(pages),
        _models(pages),
        _api_cost(pages),
    ]
    by_field = {p.field: p for p in proposals}
    checked = []
    for spec in FIELDS:
        proposal = by_field[spec.name]
        if proposal.status == Status.REPORTED:
            try:
                value = normalize_value(spec, proposal.value)
            except ValueError:
                proposal = FieldProposal(spec.name, Status.NOT_REPORTED, None, None, None)
            else:
                proposal = FieldProposal(
                    spec.name, proposal.status, value, proposal.page, proposal.quote
                )
        checked.append(proposal)
    return checked
