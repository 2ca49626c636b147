"""The rules engine: a deterministic, offline extractor for every field, with evidence.

It is the baseline every model run must beat, and what ``goldsmith demo`` uses when no
Ollama is around. It reads the whole paper (no page selection), finds candidate statements
with patterns and the shared normalisers, and quotes the sentence it found, cut from the
stored page text so the quote grounds exactly.

It prefers saying "not reported" to guessing. A candidate counts only where the paper
describes its own training (see :mod:`extraction.engines.passages`): not in an example or a
comparison, a sentence about cited work, the inference or evaluation set-up, a hypothetical,
a figure's axis or a table of contents; a count of devices per node is not the run's count;
fine-tuning loses to pre-training; a model name counts only where the paper uses the model.
A sentence giving one training time per method is "ambiguous", not its first time.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from extraction.answers import FieldProposal
from extraction.engines.base import EngineOptions, PaperAnswer, RunPlan
from extraction.engines.passages import (
    MAX_QUOTE,
    TRAINING,
    Page,
    Phase,
    counts_nodes,
    is_about_others,
    is_example,
    is_hypothetical,
    is_periodic,
    per_node,
    phase,
    read_pages,
)
from extraction.evidence.catalog import Mention, catalog, find_mentions
from extraction.evidence.normalize import durations, flop_amounts, normalize_value
from extraction.evidence.numbers import SUFFIXES, words_to_number
from extraction.fields import FIELDS, Status
from storage.models import Paper

ENGINE_VERSION = 5
"""Bumped when the engine's answers change, so a run never mixes two versions' answers."""

__all__ = ["ENGINE_VERSION", "MAX_QUOTE", "RulesEngine", "extract", "make_engine"]

# Older names, kept for modules that import them.
_Page = Page
_pages = read_pages
_TRAINING = TRAINING
_EXAMPLE = re.compile(r"\b(?:e\.g\.|such as|like|compared (?:to|with)|unlike|instead of)")


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    page: Page
    start: int
    end: int
    value: object


_NOT_TRAINING_TIME = re.compile(
    r"^\s*(?:of )?(?:audio|speech|video|data|labeled|labelled|transcribed|recordings?|footage|"
    r"unlabeled|unlabelled|speech data|game ?play|game time|play)\b"
)
_DEVICE_WORD = re.compile(r"\b(?:gpus?|tpus?|chips?|accelerators?|nodes?)\b")
_MODAL = re.compile(r"\b(?:could|would|might) (?:be|have been)\b")
_PER_UNIT = re.compile(
    r"\b(?:per|each|every)\s+(?:(?:trillion|billion|million|thousand|single)\s+|\d[\d.,]*[kmb]?\s+)?"
    r"(?:tokens?|epochs?|steps?|iterations?|updates?|batch(?:es)?|images?|samples?|"
    r"examples?|episodes?|games?|tasks?|seeds?|queries|prompts?)\b"
)
"""A rate ("per trillion tokens", "for each epoch"): what follows is not a run's total."""
_RATE_AFTER = re.compile(r"\W{0,3}(?:for |on |in )?")


def _is_rate(page: Page, start: int, end: int) -> bool:
    """Whether the quantity at ``start:end`` is a rate: "on each trillion tokens requires
    180K GPU hours", "172.8K GPU hours per trillion tokens"."""
    left, _ = page.sentence(start, end)
    if _PER_UNIT.search(page.norm[left:start]):
        return True
    lead = _RATE_AFTER.match(page.norm, end)
    return bool(_PER_UNIT.match(page.norm, lead.end() if lead else end))


_WE_USE = re.compile(
    r"\b(?:we|our)\b[^.;]*\b(?:use[ds]?|using|utiliz\w*|employ\w*|adopt\w*|rely|relies)\b"
)
""""We use 8 V100 GPUs": the paper's own set-up, though no training is named."""


def _context_score(page: Page, start: int, end: int) -> float:
    """How much the sentence around ``start:end`` reads like the paper's own training run."""
    sentence = page.sentence_text(start, end)
    score = 1.0
    if TRAINING.search(sentence):
        score += 2
    if _DEVICE_WORD.search(sentence):
        score += 1
    match phase(sentence):
        case Phase.PRE_TRAINING:
            score += 1.5
        case Phase.FINE_TUNING:
            score -= 2.5
    if is_hypothetical(sentence):
        score -= 2
    return score


def _about_our_training(page: Page, start: int, end: int) -> bool:
    """Whether ``start:end`` sits where the paper describes its own training or experiments."""
    if page.is_contents or is_example(page, start):
        return False
    sentence = page.sentence_text(start, end)
    found = phase(sentence)
    if found is Phase.SECONDARY or (found is Phase.OTHER and not _WE_USE.search(sentence)):
        return False
    return not (is_about_others(sentence) or _MODAL.search(sentence))


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
    r"sixteen|thirty-two|sixty-four|a single|single)\s(?:x\s)?"
    # words naming the device ("NVIDIA Tesla V100", "80GB A100"), never "days on 8"
    r"(?:(?:(?!(?:on|for|with|of|and|or|in|at|to|by|per|each|from|than|days?|hours?|weeks?|"
    r"months?|minutes?|epochs?|steps?|runs?|times|more|other)\b)[a-z][a-z0-9-]*|\(?\d+\s?gb\)?)"
    r"\s){0,3}?(?:gpus|tpus|tpu chips|chips|accelerators|cards|devices|gpu|tpu)\b"
)
_NODES_TIMES_DEVICES = re.compile(
    r"(?<![\w.])(\d+|two|three|four|five|six|seven|eight|sixteen|thirty-two|sixty-four)\s"
    r"(?:[a-z0-9-]+\s){0,2}?(?:nodes|machines|servers|hosts)\s(?:each\s)?(?:with|containing|of|x)\s"
    r"(\d+|two|four|eight|sixteen)\s(?:[a-z0-9-]+\s){0,3}?(?:gpus|tpus|chips|accelerators|devices)\b"
)
""""4 nodes with 8 A100 GPUs each": the run's count is the product."""
_GENERATION_TPU = re.compile(
    r"\b(first|second|third|fourth|fifth)[ -]generation (?:google )?(?:cloud )?tpus?\b"
)
_TOTAL_NEAR = re.compile(r"\b(?:a total of|in total|total)\b")
_MEMORY_WRITTEN = re.compile(r"(?<![\d.])(\d{1,4})\s?-?\s?(?:gb|gib)\b")


def _count_value(text: str) -> int | None:
    text = text.replace(",", "")
    if text.isdigit():
        return int(text)
    value = words_to_number(text.replace("a single", "one").replace("single", "one"))
    return int(value) if value else None


def _generation_mentions(page: Page) -> Iterator[Mention]:
    """TPUs named by generation ("third generation Google Cloud TPUs" is a TPU v3)."""
    models = {a.model: a for a in catalog() if a.is_tpu}
    for match in _GENERATION_TPU.finditer(page.norm):
        version = ("first", "second", "third", "fourth", "fifth").index(match.group(1)) + 1
        accelerator = models.get(f"TPU v{version}")
        if accelerator is not None:
            yield Mention(accelerator, None, None, match.start(), match.end())


def _written_memory(page: Page, mention: Mention) -> int | None:
    """Memory per device written beside a mention ("a single 48GB RTX A6000"), if it is one
    of the model's sizes."""
    if mention.memory_gb:
        return mention.memory_gb
    left, right = page.sentence(mention.start, mention.end)
    window = page.norm[max(left, mention.start - 15) : min(right, mention.end + 40)]
    for match in _MEMORY_WRITTEN.finditer(window):
        if int(match.group(1)) in mention.accelerator.memory_options:
            return int(match.group(1))
    return None


def _device_count(page: Page, start: int, end: int, value: int) -> _Candidate | None:
    """A count of devices at ``start:end`` as a candidate, unless it is not the run's count."""
    if not (0 < value <= 1_000_000) or not _about_our_training(page, start, end):
        return None
    if (
        per_node(page, start, end)
        or counts_nodes(page, end)
        or page.in_number_column(start)
        or page.in_number_run(start)
    ):
        return None
    score = _context_score(page, start, end)
    left, _ = page.sentence(start, end)
    if _TOTAL_NEAR.search(page.norm[max(left, start - 12) : end + 8]):
        score += 1
    return _Candidate(score, page, start, end, value)


def _hardware(pages: list[Page]) -> list[FieldProposal]:
    mentions: list[tuple[Page, Mention]] = []
    for page in pages:
        found = [*find_mentions(page.norm, normalized=True), *_generation_mentions(page)]
        mentions.extend((page, mention) for mention in found)
    frequency = Counter(m.accelerator.model for _, m in mentions)
    best_type: _Candidate | None = None
    best_mention: Mention | None = None
    for page, mention in mentions:
        if not _about_our_training(page, mention.start, mention.end):
            continue
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
        count = _device_count(best_type.page, best_type.start, best_type.end, best_mention.count)
    if count is None:
        count = _best(_count_candidates(pages, best_type))
    proposals.append(_proposal("accelerator_count", count))

    memory: _Candidate | None = None
    if best_type is not None and best_mention is not None:
        written = _written_memory(best_type.page, best_mention)
        if written:
            memory = _Candidate(1, best_type.page, best_type.start, best_type.end, written)
    proposals.append(_proposal("accelerator_memory_gb", memory))
    return proposals


def _count_candidates(pages: list[Page], best_type: _Candidate | None) -> Iterator[_Candidate]:
    for page in pages:
        for m in _DEVICE_COUNT.finditer(page.norm):
            value = _count_value(m.group(1))
            if value is None:
                continue
            candidate = _device_count(page, m.start(), m.end(), value)
            if candidate is not None:
                bonus = 1 if best_type and page is best_type.page else 0
                yield _Candidate(candidate.score + bonus, page, m.start(), m.end(), value)
        for m in _NODES_TIMES_DEVICES.finditer(page.norm):
            nodes, each = _count_value(m.group(1)), _count_value(m.group(2))
            if nodes and each and _about_our_training(page, m.start(), m.end()):
                score = _context_score(page, m.start(), m.end()) + 1
                yield _Candidate(score, page, m.start(), m.end(), nodes * each)


# --- time and compute -----------------------------------------------------------------------

_DEVICE_HOURS_UNIT = re.compile(
    r"(?:gpu|tpu|chip|device|accelerator|core)s?[ -]?(?P<unit>hours?|days?|years?)\b"
)
_NUMBER_BEFORE = re.compile(
    r"(?<![\w.$])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?"
    r"(?P<scale>k|m|million|thousand|b|billion)?\s(?:(?!per\b)[a-z0-9-]+\s){0,2}$"
)
_UNIT_HOURS = {"hour": 1, "hours": 1, "day": 24, "days": 24, "year": 8760, "years": 8760}


def _gpu_hours(pages: list[Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            if page.is_contents:
                continue
            for unit in _DEVICE_HOURS_UNIT.finditer(page.norm):
                # "gpuhours" (joined "GPU-hours") has no space before the unit
                before = _NUMBER_BEFORE.search(page.norm, max(0, unit.start() - 50), unit.start())
                if before is None:
                    continue
                start, end = before.start(), unit.end()
                sentence = page.sentence_text(start, end)
                if _is_rate(page, start, end) or is_example(page, start):
                    continue
                if (
                    is_about_others(sentence)
                    or page.in_number_column(start)
                    or page.in_number_run(start)
                ):
                    continue
                scale = before.group("scale")
                value = float(before.group("num").replace(",", "")) * (
                    SUFFIXES[scale] if scale else 1
                )
                value *= _UNIT_HOURS[unit.group("unit")]
                score = _context_score(page, start, end)
                around = page.norm[max(0, start - 80) : end + 40]
                if re.search(r"\b(?:requires?|required|costs?|consum\w+|used)\b", around):
                    score += 1
                if re.search(r"\b(?:total|full|entire|overall|whole)\b", around):
                    score += 2.5  # the whole run beats one of its stages
                yield _Candidate(score, page, start, end, value)

    return _proposal("gpu_hours", _best(candidates()))


_STAGE_AFTER = re.compile(r"^\s?(?:at|in|for|during) (?:the )?(?:[a-z-]+ ){0,3}?(?:stage|phase)\b")
_BOUND_BEFORE = re.compile(
    r"\b(?:less than|fewer than|more than|at most|at least|up to|no more than|under)\s$"
)
_LEAD_IN = re.compile(
    r"\b(?:for|took|takes|take|over|in|within|completed in|lasted|lasts|consumes?|requires?)\s"
    r"(?:~\s?|about |approximately |around |roughly |nearly |almost |only )?$"
)


def _training_time(pages: list[Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            stages: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
            for hours, start, end in durations(page.norm):
                after = page.norm[end : end + 30]
                phrase = page.norm[start:end]
                if _NOT_TRAINING_TIME.match(after) or re.search(
                    r"gpu|tpu|chip|device|core", phrase
                ):
                    continue
                if re.match(r"\s?(?:per|/|a|an|each)\s?(?:epoch|step|iteration|batch)", after):
                    continue
                if hours < 0.05 or not _about_our_training(page, start, end):
                    continue
                sentence = page.sentence_text(start, end)
                if not TRAINING.search(sentence) or _is_rate(page, start, end):
                    continue
                if (
                    is_periodic(page, start)
                    or page.in_number_column(start)
                    or page.in_number_run(start)
                ):
                    continue
                if _BOUND_BEFORE.search(page.norm[max(0, start - 16) : start]):
                    continue  # "in less than two months" bounds the time, it does not state it
                score = _context_score(page, start, end)
                if _LEAD_IN.search(page.norm[max(0, start - 24) : start]):
                    score += 1
                if _STAGE_AFTER.match(after):
                    stages.setdefault(page.sentence(start, end), []).append((hours, start, end))
                yield _Candidate(score, page, start, end, float(f"{hours:.12g}"))
            for parts in stages.values():
                # "1,600 minutes at the stage of imitation learning and 3,400 minutes at the
                # stage of reinforcement learning": the run is both stages.
                if len(parts) >= 2:
                    start, end = parts[0][1], parts[-1][2]
                    total = sum(hours for hours, _, _ in parts)
                    score = _context_score(page, start, end) + 1.5
                    yield _Candidate(score, page, start, end, float(f"{total:.12g}"))

    best = _best(candidates())
    if best is not None and _alternatives(best):
        left, right = best.page.sentence(best.start, best.end)
        quote = best.page.quote(left, right)
        return FieldProposal("training_time_hours", Status.AMBIGUOUS, None, best.page.number, quote)
    return _proposal("training_time_hours", best)


def _alternatives(candidate: _Candidate) -> bool:
    """Whether the sentence of a duration lists several others beside it, one per method or
    model ("Adapters take 30 hours; AdapterFusion takes 57 hours; and I2I takes 83"): no one
    of them is the main run's, so the field is ambiguous."""
    page = candidate.page
    left, right = page.sentence(candidate.start, candidate.end)
    inside = {
        round(hours, 6)
        for hours, start, end in durations(page.norm[left:right])
        if not re.search(r"gpu|tpu|chip|device|core", page.norm[left + start : left + end])
    }
    return len(inside) >= 3 and candidate.value in inside


_FLOP_WORD = re.compile(r"flop|pf-?days|pfdays|petaflop")
_COMPARISON = re.compile(r"\b(?:compared (?:to|with)|versus|vs\.?|than|unlike)\b")


def _training_compute(pages: list[Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            if page.is_contents:
                continue
            for m in _FLOP_WORD.finditer(page.norm):
                if is_example(page, m.start()):
                    continue
                left, right = page.sentence(m.start(), m.end())
                sentence = page.norm[left:right]
                if is_about_others(sentence):
                    continue
                # What the paper compares itself with comes after "compared to".
                own = _COMPARISON.split(sentence, maxsplit=1)[0]
                amounts = [a for a in flop_amounts(own) if a >= 1e15]
                if not amounts or not re.search(r"\b(?:train|compute|total|budget|required)", own):
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
    r"\b(?:train(?:ed|ing|s)?|comput(?:e|ing|ational)|gpus?|tpus?|clusters?|resources|"
    r"provided|credits?|ran|run|experiments?|hardware|supercomputer|allocation|instances?|"
    r"nodes?|accelerators?)\b"
)
_PRODUCT_AFTER = re.compile(
    r"^[ -]?(?:\(?[a-z]\)?\s)?(?:nlp|natural language|vision|speech|translat\w*|dlp|api|"
    r"storage|console|marketplace|functions|ai platform|automl|dataflow|bigquery)\b"
)
""""Google Cloud NLP", "Azure Speech": a product the paper used, not where it trained."""
_MAKER_BEFORE = re.compile(
    r"(?:\b(?:model|llm|models|chatbot|assistant|version)\b[^.;]{0,40}\b(?:from|by)|"
    r"\b(?:developed|released|created|published|open-sourced|trained|provided|proposed) by)"
    r"\s(?:the\s)?$"
)
""""an open-source model from Alibaba Cloud": the model's maker, not the compute provider."""


def _provider_mention(page: _Page, start: int, end: int) -> bool:
    """Whether the provider named at ``start:end`` is where the paper's computation ran."""
    if page.is_contents or is_example(page, start):
        return False
    if _PRODUCT_AFTER.match(page.norm[end : end + 24]):
        return False
    if _MAKER_BEFORE.search(page.norm[max(0, start - 70) : start]):
        return False
    if re.match(r"^,? (?:19|20)\d\d\b|^ et al\b", page.norm[end : end + 12]):
        return False  # a citation: "(Alibaba Cloud, 2023)"
    left, right = page.sentence(start, end)
    # The provider's own name ("... Cloud") is not evidence of computing there.
    rest = page.norm[left:start] + " " + page.norm[end:right]
    return bool(_PROVIDER_CONTEXT.search(rest)) and not is_about_others(page.norm[left:right])


def _provider(pages: list[_Page]) -> FieldProposal:
    def candidates() -> Iterator[_Candidate]:
        for page in pages:
            for pattern, name in _PROVIDERS:
                for m in re.finditer(pattern, page.norm):
                    if not _provider_mention(page, m.start(), m.end()):
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
    (
        r"research foundation[ -]+flanders|\bfwo\b",
        "Research Foundation - Flanders (FWO)",
        "government",
    ),
    (r"army research laborator(?:y|ies)|\barl\b", "Army Research Laboratory", "government"),
    (
        r"national key (?:research and development|r ?& ?d) program",
        "National Key R&D Program of China",
        "government",
    ),
    (r"laboratory for analytic sciences", "Laboratory for Analytic Sciences", "government"),
    (r"\bai singapore\b|\baisg\b", "AI Singapore", "government"),
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
    # "Argonne National Laboratory" is a government lab; a "National Laboratory of Pattern
    # Recognition" is an academic institute's.
    r"national laborator(?:y|ies)(?! of)|argonne|oak ridge|lawrence livermore|lawrence berkeley|"
    r"los alamos|sandia|\bnist\b|\bnasa\b|(?:air force|army|naval) research laborator"
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
    left, right = page.whole_words(left, right, match.start(), match.end())
    return FieldProposal("research_setting", Status.REPORTED, value, 1, page.quote(left, right))


_MODEL_FAMILIES = re.compile(
    r"(?<![\w-])(gpt-?4o?(?:-turbo)?|gpt-3\.5(?:-turbo)?|gpt-?3|gpt-?2|chatgpt|"
    r"llama[ -]?[23](?:\.\d)?(?:[ -]\d+b)?|llama(?:[ -]\d+b)?|vicuna(?:[ -]\d+b)?|alpaca|"
    r"mistral(?:[ -]\d+b)?|mixtral(?:[ -]\d+x\d+b)?|falcon(?:[ -]\d+b)?|bloomz?|"
    r"opt-\d+(?:\.\d+)?b|palm(?:[ -]?2)?|gemini|claude(?:[ -]\d)?|qwen(?:[ -]?\d(?:\.\d)?)?|"
    r"deepseek-v\d|bert-(?:base|large)|bert|roberta(?:-(?:base|large))?|flan-t5|t5(?:-(?:small|base|large|3b|11b))?|"
    r"clip|whisper|stable diffusion|wav2vec 2\.0|chatglm\d?|baichuan\d?|bloom)(?![\w])"
)
_WORD_NAMES = {"clip": "CLIP", "bloom": "BLOOM", "palm": "PaLM", "falcon": "Falcon"}
"""Model names that are also English words: they count only as written ("CLIP", not "clip
range")."""
_USE = re.compile(
    r"\b(?:we|our|us)\b[^.;]*\b(?:use[ds]?|using|utiliz\w*|adopt\w*|employ\w*|fine-?tun\w*|"
    r"finetun\w*|initiali[sz]\w*|train\w*|evaluat\w*|compar\w*|prompt\w*|distill\w*|"
    r"select\w*|chose|choose|build|built|query|queried|apply|applied|leverag\w*|test\w*|"
    r"benchmark\w*|release\w*|present\w*|introduc\w*|propos\w*)\b|"
    r"\b(?:base model|backbone|baselines?|teacher|initiali[sz]ed (?:with|from)|"
    r"(?:is|was|were|are) (?:used|adopted|employed|fine-?tuned|evaluated|prompted|asked|queried))\b"
)
"""A sentence where the paper itself uses a model (not one that only mentions it)."""
_NOT_USED = re.compile(r"\b(?:do|does|did|could|can) ?(?:not|n't) (?:use|adopt|employ|include)\b")


def _as_written(page: _Page, start: int, end: int) -> str:
    """A model's name as the paper writes it, with a line-end hyphen inside a word undone."""
    raw = page.quote(start, end)
    return " ".join(re.sub(r"(?<=[^\W\d_])-\s*\n\s*(?=[^\W\d_])", "", raw).split())


def _models(pages: list[_Page]) -> FieldProposal:
    counts: Counter[str] = Counter()
    used: dict[str, tuple[_Page, int, int]] = {}
    for page in pages:
        for m in _MODEL_FAMILIES.finditer(page.norm):
            key = m.group(1)
            written = _as_written(page, m.start(), m.end())
            required = _WORD_NAMES.get(key.split()[0].split("-")[0])
            if required and not written.startswith(required):
                continue  # "a clip range of 0.1" is not CLIP
            counts[key] += 1
            if key in used or page.is_contents or is_example(page, m.start()):
                continue
            sentence = page.sentence_text(m.start(), m.end())
            if _USE.search(sentence) and not (
                _NOT_USED.search(sentence) or is_about_others(sentence)
            ):
                used[key] = (page, m.start(), m.end())
    wanted = _most_specific([key for key, n in counts.most_common() if n >= 2 and key in used])[:8]
    if not wanted:
        return FieldProposal("models_used", Status.NOT_REPORTED, None, None, None)
    names = [_as_written(*used[key]) for key in wanted]
    page, start, end = used[wanted[0]]
    left, right = page.sentence(start, end)
    value = normalize_value(_spec("models_used"), names)
    return FieldProposal(
        "models_used", Status.REPORTED, value, page.number, page.quote(left, right)
    )


def _model_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name)


_VARIANT = re.compile(r"(?:\d+(?:\.\d+)?[bm]|x\d+b|base|large|small|xl|chat|instruct)\b")


def _covers(specific: str, general: str) -> bool:
    """Whether model name ``specific`` is a size or variant of ``general`` ("LLaMA-7B" of
    "LLaMA", "Qwen2.5" of the family "Qwen"), not another model ("GPT-3.5" is not GPT-3)."""
    short, long = _model_key(general), _model_key(specific)
    if long == short or not long.startswith(short):
        return False
    return not re.search(r"\d", short) or bool(_VARIANT.match(long[len(short) :]))


def _most_specific(keys: list[str]) -> list[str]:
    """Model names without those a more specific one covers ("LLaMA" beside "LLaMA-7B"), and
    without the same name written twice ("Llama3.1" and "llama-3.1")."""
    kept: list[str] = []
    for key in keys:
        if any(_covers(other, key) for other in keys):
            continue
        if any(_model_key(other) == _model_key(key) for other in kept):
            continue
        kept.append(key)
    return kept


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


class RulesEngine:
    """The rules as an engine: one paper at a time, no server, nothing to start."""

    prompt_examples: tuple[str, ...] = ()

    def plan(self) -> RunPlan:
        return RunPlan(
            engine="rules",
            default_name="rules",
            model=None,
            host=None,
            options={"engine_version": ENGINE_VERSION},
            compare=("engine_version",),
        )

    def lanes(self) -> list[str]:
        return ["local"]

    async def start(self) -> list[str]:
        return []

    async def propose(self, paper: Paper, pages: Sequence[str], lane: str) -> PaperAnswer:
        started = time.perf_counter()
        return PaperAnswer(answers=extract(pages), seconds=time.perf_counter() - started)

    async def close(self) -> None:
        return None


def make_engine(options: EngineOptions) -> RulesEngine:
    """The engine for ``--engine rules`` (it takes no options)."""
    return RulesEngine()
