"""Normalisers: turn a value as written (by a model, a person or a paper) into canonical form.

One function per kind of field, shared by every engine, the review editors, import and
scoring, so "3 days", "72h" and 72 are the same value everywhere. Each raises
:class:`ValueProblem` with a reason a person (or a model being re-asked) can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from extraction.evidence import catalog
from extraction.evidence.numbers import SUFFIXES, close, find_numbers, words_to_number
from extraction.evidence.textnorm import normalize
from extraction.fields import FieldSpec, Kind
from extraction.safe_text import unsafe_character


class ValueProblem(ValueError):
    """A value that cannot be taken as it is; the message says why."""


NOT_REPORTED_WORDS = frozenset(
    {
        "",
        "n/a",
        "na",
        "n.a.",
        "none",
        "null",
        "nil",
        "unknown",
        "not reported",
        "not stated",
        "not specified",
        "not mentioned",
        "not available",
        "not applicable",
        "unspecified",
        "-",
        "--",
        "?",
    }
)
MAX_TEXT = 300


def _is_not_reported_word(text: str) -> bool:
    return " ".join(text.lower().split()).strip(" .") in NOT_REPORTED_WORDS


def _as_text(raw: Any, what: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueProblem(f"expected {what}, got {type(raw).__name__}")
    # Control characters, bidi controls and lone surrogates are never part of a value.
    if isinstance(raw, str) and (unsafe := unsafe_character(raw)):
        raise ValueProblem(unsafe)
    text = " ".join(str(raw).split())
    if _is_not_reported_word(text):
        raise ValueProblem(f"{text or 'an empty value'!r} means not reported: use not_reported")
    return text


_NOT_A_QUANTITY = re.compile(r"[\[\]{}()<>=;'\"`|\\_@#]|\*\*|[a-z]\.[a-z]", re.IGNORECASE)
"""Characters no written quantity has, but code and markup do."""


def _quantity_text(raw: Any, what: str) -> str:
    """``raw`` as text that reads as a quantity ("3 days", "2.5e23 FLOPs", "$1,200").

    Text with brackets, quotes, "=" or "**" is refused whole rather than searched for a
    number: ``__import__('os').system('rm 5')`` is not 5 of anything.
    """
    text = _as_text(raw, what)
    if isinstance(raw, str) and (bad := _NOT_A_QUANTITY.search(text)):
        raise ValueProblem(f"{text[:60]!r} is not {what} (it contains {bad.group()!r})")
    return text


# --- numbers with units ---------------------------------------------------------------------

_NUM = (
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|"
    r"(?:a|an|half(?: an?)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|a dozen|dozen)(?:[ -](?:one|two|three|four|five|six|"
    r"seven|eight|nine|hundred|thousand))*(?![a-z]))"
)
# "m" after a number is a million when a time unit follows ("2.788M H800 GPU hours"), else
# minutes ("90m").
_SCALE = (
    r"(?:\s?(?P<scale>k|thousand|million|mn|billion|bn|"
    r"m(?=\s?(?:[a-z0-9-]+\s+){0,3}(?:hours?|hrs?|h|days?)\b))(?![a-z]))?"
)
_HOUR_UNITS = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "secs": 1 / 3600,
    "second": 1 / 3600,
    "seconds": 1 / 3600,
    "m": 1 / 60,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "h": 1,
    "hr": 1,
    "hrs": 1,
    "hour": 1,
    "hours": 1,
    "d": 24,
    "day": 24,
    "days": 24,
    "wk": 168,
    "wks": 168,
    "week": 168,
    "weeks": 168,
    "month": 720,
    "months": 720,
    "year": 8760,
    "years": 8760,
}
_PROSE_UNITS = sorted((u for u in _HOUR_UNITS if u not in ("m", "d", "s")), key=len, reverse=True)
"""Units a duration in running text may use. A bare "m", "d" or "s" after a number is not one:
papers write "14M images", "125M parameters", "2D convolutions", "1990s" far more often than
minutes, days or seconds. (A value typed on its own may still say "3d" or "1h30m".)"""
_SKIP_WORDS = "for|on|in|with|and|of|over|to|at|using|by|after|per|than|or|each|the|a|an|about"
_DURATION = re.compile(
    rf"(?<![\w.]){_NUM}{_SCALE}\s?-?\s?"
    rf"(?:(?!(?:{_SKIP_WORDS})\b)[a-z][a-z0-9]*[\s-]+){{0,3}}?"
    # "GPU-hours" is "gpuhours" once hyphens between letters are joined
    r"(?:(?:gpu|tpu|chip|device|core|node|accelerator)(?P<glued>hours?|hrs?|days?)|"
    rf"(?P<unit>{'|'.join(_PROSE_UNITS)}))(?![a-z0-9])"  # "h100" holds no hour
)
_COMPACT = re.compile(r"\s*(?:\d+(?:\.\d+)?\s?[dhms]\s*)+")
_COMPACT_PART = re.compile(r"(\d+(?:\.\d+)?)\s?([dhms])")


def _number(text: str) -> float:
    text = text.strip()
    if text[0].isdigit() or text[0] == ".":
        return float(text.replace(",", ""))
    value = words_to_number(text)
    if value is None:
        raise ValueProblem(f"not a number: {text!r}")
    return value


_SHORT_UNITS = frozenset({"h", "hr", "hrs", "min", "mins", "sec", "secs", "wk", "wks"})


def durations(text: str) -> list[tuple[float, int, int]]:
    """Every duration in (normalised) text as ``(hours, start, end)``.

    Words may stand between a number and a unit ("3 more days"), but not before an
    abbreviated unit ("a transform h" is no hour) nor after "a"/"an" ("an hour", not "an
    invertible transform h").
    """
    found = []
    for match in _DURATION.finditer(text):
        if match.group("unit"):
            between = text[match.end("num") : match.start("unit")]
            worded = re.search(r"[a-z]", between.replace(match.group("scale") or "", "", 1))
            if worded and (
                match.group("unit") in _SHORT_UNITS or match.group("num") in ("a", "an")
            ):
                continue
        value = _number(match.group("num"))
        scale = match.group("scale")
        if scale:
            value *= SUFFIXES[scale]
        unit = match.group("unit") or match.group("glued")
        found.append((value * _HOUR_UNITS[unit], match.start(), match.end()))
    return found


def parse_hours(raw: Any) -> float:
    """Hours from a number (already hours) or text: "3 days", "two weeks", "36h", "1,600 min"."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = normalize(_quantity_text(raw, "a duration"))
    if _COMPACT.fullmatch(text):
        return _compact_hours(text, raw)
    found = durations(text)
    if not found:
        numbers = find_numbers(text)
        if len(numbers) == 1 and not re.search(r"[a-z]{2,}", text.replace("hours", "")):
            return numbers[0].value
        raise ValueProblem(f"no duration in {raw!r}; write e.g. '72', '3 days' or '36h'")
    # "10 days and 5 hours" adds up; the parts must cover the text, so sentences don't.
    leftover = text
    for _, start, end in reversed(found):
        leftover = leftover[:start] + leftover[end:]
    if re.sub(
        r"\b(and|plus|approximately|about|around|roughly|~|,|\+)\b|[~,+()]", "", leftover
    ).strip():
        if len(found) == 1:
            return found[0][0]
        raise ValueProblem(f"more than one duration in {raw!r}")
    return sum(hours for hours, _, _ in found)


def _compact_hours(text: str, raw: Any) -> float:
    """A duration typed in short form: "3d", "36h", "1h30m", "2d 4h", "90s"."""
    parts = _COMPACT_PART.findall(text)
    units = [unit for _, unit in parts]
    if "m" in units and "h" not in units[: units.index("m")]:
        # Only "1h30m" makes "m" minutes; "90m" alone may as well be 90 million.
        raise ValueProblem(f"{raw!r} could be minutes or millions; write e.g. '90 min'")
    short = {"d": 24.0, "h": 1.0, "m": 1 / 60, "s": 1 / 3600}
    return sum(float(number) * short[unit] for number, unit in parts)


_FLOP_UNIT = r"(?:flops?|flop/s|floating[ -]point operations)"
_FLOP_PREFIX = {
    "zetta": 1e21,
    "z": 1e21,
    "exa": 1e18,
    "e": 1e18,
    "peta": 1e15,
    "p": 1e15,
    "tera": 1e12,
    "t": 1e12,
    "giga": 1e9,
    "g": 1e9,
}
_PF_DAYS = re.compile(
    rf"(?<![\w.]){_NUM}\s?(?:petaflops?|pflops?|pf|pfs)(?:/s)?[ -]?(?:-\s?)?days?\b"
)
_TIMES_TEN = re.compile(
    r"(?<![\w.])(?P<m>\d+(?:\.\d+)?)\s?(?:x|\*|·)\s?10\s?(?P<e>-?\d{1,2})(?!\d)"
)
_E_NOTATION = re.compile(r"(?<![\w.])(?P<m>\d+(?:\.\d+)?)\s?e\s?(?P<e>[+-]?\d{1,2})(?![\w.])")
_PREFIXED = re.compile(
    rf"(?<![\w.]){_NUM}{_SCALE}\s?(?P<prefix>zetta|exa|peta|tera|giga|z|e|p|t|g)?\s?-?{_FLOP_UNIT}"
    r"(?P<rate>\s?/\s?s(?:ec)?\b|\s+per\s+second)?"
)


def flop_amounts(text: str) -> list[float]:
    """Every total amount of compute stated in (normalised) text, in FLOP."""
    found: list[float] = []
    for match in _PF_DAYS.finditer(text):
        found.append(_number(match.group("num")) * 1e15 * 86400)
    for match in _TIMES_TEN.finditer(text):
        exponent = int(match.group("e"))
        if 9 <= exponent <= 40:
            found.append(float(match.group("m")) * 10.0**exponent)
    for match in _E_NOTATION.finditer(text):
        found.append(float(f"{match.group('m')}e{match.group('e')}"))
    for match in _PREFIXED.finditer(text):
        if match.group("rate"):
            continue  # "147 TFLOP/s" is a speed, not an amount
        value = _number(match.group("num"))
        if match.group("scale"):
            value *= SUFFIXES[match.group("scale")]
        prefix = match.group("prefix")
        if prefix:
            value *= _FLOP_PREFIX[prefix]
        found.append(value)
    return found


def parse_device_hours(raw: Any) -> float:
    """Device-hours: like :func:`parse_hours`, but a bare "2.788M" or "1.5k" is a number of
    hours (papers state GPU hours in millions, never in minutes)."""
    if isinstance(raw, str):
        text = normalize(_quantity_text(raw, "device-hours"))
        if re.fullmatch(r"~?\s?[\d.,]+\s?(?:k|m|mn|b|bn|thousand|million|billion)?", text):
            numbers = find_numbers(text)
            if len(numbers) == 1:
                return numbers[0].value
    return parse_hours(raw)


def parse_flop(raw: Any) -> float:
    """FLOP from a number or text: "3.14 × 10^23", "3.1e23 FLOPs", "60 petaflop/s-days"."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = normalize(_quantity_text(raw, "an amount of compute"))
    if re.search(
        rf"{_FLOP_UNIT}\s?/\s?s(?:ec)?\b(?![ -]?-?\s?days?)", text
    ) and not _PF_DAYS.search(text):
        raise ValueProblem(f"{raw!r} is a speed (FLOP per second), not an amount of compute")
    amounts = flop_amounts(text)
    if amounts:
        return amounts[0]
    numbers = find_numbers(text)
    if len(numbers) == 1:
        return numbers[0].value
    raise ValueProblem(f"no amount of compute in {raw!r}; write e.g. '3.1e23' or '60 PF-days'")


_OTHER_CURRENCY = re.compile(r"[€£¥]|\b(?:eur|euros?|gbp|pounds|rmb|yuan|cny|jpy|yen)\b")


def parse_usd(raw: Any) -> float:
    """US dollars from a number or text: "$1,200", "1.2k USD", "$2.5 million"."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = normalize(_quantity_text(raw, "an amount in USD"))
    if _OTHER_CURRENCY.search(text):
        raise ValueProblem(f"{raw!r} is not in US dollars; convert it first")
    # Only an amount: digits, "$"/"USD", a scale word ("1.2k", "$2.5 million"), "about".
    bare = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    bare = re.sub(
        r"\b(?:us|usd|dollars?|about|approximately|around|roughly|in total|total)\b|[$~]", " ", bare
    )
    amount = r"[\d.]+(?:e[+-]?\d+)?"  # "1200", "1.2", "3e6" (how the gold CSV writes tiny sums)
    if not re.fullmatch(rf"\s*{amount}\s?(?:k|m|mn|b|bn|thousand|million|billion)?\s*", bare):
        raise ValueProblem(f"{raw!r} is not an amount in USD; write e.g. '1200' or '$1.2k'")
    numbers = find_numbers(text)
    if len(numbers) == 1:
        return numbers[0].value
    raise ValueProblem(f"no single amount in {raw!r}; write e.g. '1200' or '$1.2k'")


def parse_memory_gb(raw: Any) -> int:
    """Gigabytes per device from a number or text: "80GB", "48 GB", "32G"."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        text = normalize(_quantity_text(raw, "a memory size"))
        match = re.search(r"(\d+(?:\.\d+)?)\s?(?:gb|gib|g|gigabytes?)?\b", text)
        if not match or re.search(r"\d\s?(?:tb|mb|tib|mib)\b", text):
            raise ValueProblem(f"no memory size in GB in {raw!r}; write e.g. '80' or '80GB'")
        value = float(match.group(1))
    if value != int(value):
        raise ValueProblem(f"memory must be a whole number of GB, not {value:g}")
    return int(value)


def parse_count(raw: Any) -> int:
    """A whole number of devices: 8, "8", "8x", "eight", "2,048", "4x8" (= 32)."""
    if isinstance(raw, bool):
        raise ValueProblem("expected a number of devices, got true/false")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = normalize(_quantity_text(raw, "a number of devices"))
        product = re.fullmatch(r"(\d+)\s?(?:x|\*)\s?(\d+)(?:\s?[a-z ]*)?", text)
        if product:
            value = float(int(product.group(1)) * int(product.group(2)))
        else:
            numbers = find_numbers(text)
            if not numbers:
                raise ValueProblem(f"no number in {raw!r}")
            if len(numbers) > 1:
                raise ValueProblem(f"several numbers in {raw!r}; give the total number of devices")
            value = numbers[0].value
    if math.isnan(value) or value != int(value):
        raise ValueProblem(f"a count must be a whole number, not {value:g}")
    return int(value)


# --- words ----------------------------------------------------------------------------------

_SYNONYMS = {
    "academic": "academia",
    "university": "academia",
    "universities": "academia",
    "industrial": "industry",
    "company": "industry",
    "companies": "industry",
    "commercial": "corporate",
    "private": "corporate",
    "gov": "government",
    "governmental": "government",
    "public": "government",
    "federal": "government",
    "national": "government",
    "mixture": "mixed",
    "both": "mixed",
    "academia and industry": "mixed",
    "industry and academia": "mixed",
    "nonprofit": "foundation",
    "non-profit": "foundation",
    "charity": "foundation",
}


def parse_choice(raw: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``, case-insensitively, with common synonyms ("academic" → academia)."""
    text = _as_text(raw, "one of " + ", ".join(allowed)).lower().strip(" .")
    if text in allowed:
        return text
    if _SYNONYMS.get(text) in allowed:
        return _SYNONYMS[text]
    starts = [a for a in allowed if a.startswith(text)]
    if len(starts) == 1 and len(text) >= 2:
        return starts[0]
    raise ValueProblem(f"{raw!r} is not one of: {', '.join(allowed)}")


def _items(raw: Any) -> list[Any]:
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, str):
        return [part for part in re.split(r"[;\n]", raw) if part.strip()]
    raise ValueProblem(f"expected a list, got {type(raw).__name__}")


def parse_text_list(raw: Any) -> list[str]:
    """A list of names: a JSON list, or text with items separated by ';' or new lines.

    Items are cleaned (spaces collapsed; ';' becomes ',' so exported lists split cleanly),
    duplicates dropped, and sorted case-insensitively so equal sets compare equal.
    """
    seen: dict[str, str] = {}
    for item in _items(raw):
        if not isinstance(item, str):
            raise ValueProblem(f"list items must be text, got {type(item).__name__}")
        if unsafe := unsafe_character(item):
            raise ValueProblem(unsafe)
        text = " ".join(item.replace(";", ",").split()).strip(" ,")
        if not text or _is_not_reported_word(text):
            continue
        if len(text) > MAX_TEXT:
            raise ValueProblem(f"an item is longer than {MAX_TEXT} characters")
        seen.setdefault(normalize(text), text)
    if not seen:
        raise ValueProblem("an empty list means not reported: use not_reported")
    return sorted(seen.values(), key=lambda s: (normalize(s), s))


def parse_choice_list(raw: Any, allowed: tuple[str, ...]) -> list[str]:
    """Several of ``allowed``, deduplicated, in the schema's order."""
    if isinstance(raw, str):
        raw = re.split(r"[;,\n]", raw)
    chosen = {parse_choice(item, allowed) for item in _items(raw) if str(item).strip()}
    if not chosen:
        raise ValueProblem("an empty list means not reported: use not_reported")
    return [a for a in allowed if a in chosen]


def parse_text(raw: Any) -> str:
    """A short free text (e.g. a provider name), spaces collapsed."""
    text = _as_text(raw, "text")
    if len(text) > MAX_TEXT:
        raise ValueProblem(f"longer than {MAX_TEXT} characters")
    return text


def parse_accelerator(raw: Any) -> str:
    """The catalog's canonical name ("8x A100s (80GB)" → "NVIDIA A100 80GB")."""
    return catalog.normalize_accelerator(parse_text(raw))


_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.ACCELERATOR: parse_accelerator,
    Kind.COUNT: parse_count,
    Kind.INTEGER: parse_memory_gb,
    Kind.HOURS: parse_hours,
    Kind.DEVICE_HOURS: parse_device_hours,
    Kind.FLOP: parse_flop,
    Kind.USD: parse_usd,
    Kind.TEXT: parse_text,
    Kind.TEXT_LIST: parse_text_list,
}


def normalize_value(spec: FieldSpec, raw: Any) -> Any:
    """The canonical value of ``raw`` for field ``spec``, range-checked.

    Raises:
        ValueProblem: ``raw`` cannot be read as a value of this field, or is implausible.
    """
    if raw is None:
        raise ValueProblem("no value given")
    try:
        if spec.kind is Kind.CHOICE:
            value: Any = parse_choice(raw, spec.allowed)
        elif spec.kind is Kind.CHOICE_LIST:
            value = parse_choice_list(raw, spec.allowed)
        else:
            value = _PARSERS[spec.kind](raw)
    except ValueProblem:
        raise
    except (ValueError, OverflowError) as exc:
        raise ValueProblem(str(exc)) from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueProblem("not a finite number")
        value = float(f"{value:.12g}")  # 1.6 days is 38.4 h, not 38.400000000000006
    if spec.minimum is not None and isinstance(value, (int, float)) and value < spec.minimum:
        raise ValueProblem(f"{value:g} is below the plausible minimum {spec.minimum:g}")
    if spec.maximum is not None and isinstance(value, (int, float)) and value > spec.maximum:
        raise ValueProblem(f"{value:g} is above the plausible maximum {spec.maximum:g}")
    return value


def format_value(spec: FieldSpec, value: Any) -> str:
    """How a canonical value is shown and exported: lists joined by '; ', numbers plainly."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, float):
        if spec.kind is Kind.FLOP or abs(value) >= 1e12:
            return f"{value:.4g}"
        return f"{value:.6g}" if value != int(value) else str(int(value))
    return str(value)


def value_in_quote(spec: FieldSpec, value: Any, quote: str | None) -> bool | None:
    """Whether ``quote`` states ``value`` (digits or words, any unit). ``None`` when not
    applicable: no quote, or a judgement field (choices) the quote supports only indirectly."""
    if quote is None or value is None or spec.kind in (Kind.CHOICE, Kind.CHOICE_LIST):
        return None
    text = normalize(quote)
    kind = spec.kind
    if kind is Kind.ACCELERATOR:
        if str(value).startswith(catalog.OTHER_PREFIX):
            return normalize(str(value)[len(catalog.OTHER_PREFIX) :]) in text
        return any(
            catalog.same_accelerator(m.canonical, value)
            for m in catalog.find_mentions(text, normalized=True)
        )
    if kind in (Kind.COUNT, Kind.INTEGER):
        numbers = [m.value for m in find_numbers(text)]
        numbers += [m.count for m in catalog.find_mentions(text, normalized=True) if m.count]
        return any(n == value for n in numbers)
    if kind in (Kind.HOURS, Kind.DEVICE_HOURS):
        found = [hours for hours, _, _ in durations(text)]
        if len(found) > 1:
            found.append(sum(found))
        found += [m.value for m in find_numbers(text)]
        return any(close(h, float(value)) for h in found)
    if kind is Kind.FLOP:
        return any(close(f, float(value), 0.01) for f in flop_amounts(text))
    if kind is Kind.USD:
        return any(close(n.value, float(value)) for n in find_numbers(text))
    if kind is Kind.TEXT:
        return normalize(str(value)) in text
    if kind is Kind.TEXT_LIST:
        return all(normalize(item) in text for item in value)
    return None
