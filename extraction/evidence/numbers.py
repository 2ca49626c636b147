"""Numbers as papers write them: digits with separators, suffixes (2.5k, 1.2M), and words.

Shared by every normaliser. Works on text already passed through
:func:`extraction.textnorm.normalize` (casefolded, "×" as "x", dashes unified).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0,
    "one": 1,
    "a single": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "dozen": 12,
    "a dozen": 12,
    "half": 0.5,
    "half a": 0.5,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
SUFFIXES = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}

_DIGIT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Normalised text joins hyphenated words, so "fifty-six" arrives as "fiftysix".
_JOINED_TENS = re.compile(f"^({'|'.join(_TENS)})({'|'.join(_DIGIT_WORDS)})$")
_WORD = "|".join(
    [
        f"(?:{'|'.join(_TENS)})(?:{'|'.join(_DIGIT_WORDS)})",
        *sorted(
            (re.escape(w) for w in [*_UNITS, *_TENS, *_SCALES, "a", "an", "and"]),
            key=len,
            reverse=True,
        ),
    ]
)
_NUMBER_WORDS = re.compile(rf"\b(?:{_WORD})(?:[\s-]+(?:{_WORD}))*\b")
_DIGITS = r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)"
_DIGIT_NUMBER = re.compile(
    _DIGITS + r"(?:\s?(?P<suffix>k|mn|m|bn|b|thousand|million|billion|trillion)\b)?"
)


@dataclass(frozen=True, slots=True)
class NumberMatch:
    """A number found in text, with where it was."""

    value: float
    start: int
    end: int


def words_to_number(text: str) -> float | None:
    """``"twenty-four"`` → 24, ``"a hundred"`` → 100, ``"two thousand"`` → 2000; else ``None``."""
    tokens: list[str] = []
    for token in re.split(r"[\s-]+", text.strip().lower()):
        tens_and_unit = _JOINED_TENS.match(token)
        if tens_and_unit:
            tokens.extend(tens_and_unit.groups())
        elif token and token != "and":
            tokens.append(token)
    if not tokens:
        return None
    # Two-word units ("a single", "a dozen", "half a") first.
    joined: list[str] = []
    index = 0
    while index < len(tokens):
        pair = " ".join(tokens[index : index + 2])
        if pair in _UNITS:
            joined.append(pair)
            index += 2
        else:
            joined.append(tokens[index])
            index += 1
    total = 0.0
    current: float = 0.0
    seen = False
    for token in joined:
        if token in ("a", "an"):
            current = current or 1
            seen = True
            continue
        if token == "dozen":
            current = (current or 1) * 12  # "two dozen" is 24, not 2 + 12
        elif token in _UNITS:
            current += _UNITS[token]
        elif token in _TENS:
            current += _TENS[token]
        elif token == "hundred":
            current = (current or 1) * 100
        elif token in _SCALES:
            total += (current or 1) * _SCALES[token]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def find_numbers(text: str) -> list[NumberMatch]:
    """Every number in ``text`` (digits, with k/M/B suffixes or scale words, or number words)."""
    found: list[NumberMatch] = []
    taken: list[tuple[int, int]] = []
    for match in _DIGIT_NUMBER.finditer(text):
        raw = match.group("num").replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        suffix = match.group("suffix")
        if suffix:
            value *= SUFFIXES[suffix]
        found.append(NumberMatch(value, match.start(), match.end()))
        taken.append((match.start(), match.end()))
    for match in _NUMBER_WORDS.finditer(text):
        if any(s < match.end() and match.start() < e for s, e in taken):
            continue
        phrase = match.group(0)
        if phrase.strip() in ("a", "an", "and", "a an"):
            continue
        spoken = words_to_number(phrase)
        if spoken is not None:
            found.append(NumberMatch(spoken, match.start(), match.end()))
    found.sort(key=lambda m: m.start)
    return found


def parse_number(text: str) -> float:
    """The single number ``text`` states.

    Raises:
        ValueError: ``text`` holds no number, or several.
    """
    numbers = find_numbers(text.strip().lower())
    if not numbers:
        raise ValueError(f"no number in {text!r}")
    if len(numbers) > 1:
        raise ValueError(f"more than one number in {text!r}")
    return numbers[0].value


def close(a: float, b: float, tolerance: float = 0.005) -> bool:
    """``a`` and ``b`` agree within a relative ``tolerance``."""
    if a == b:
        return True
    return abs(a - b) <= tolerance * max(abs(a), abs(b))
