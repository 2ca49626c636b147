"""What a model must answer, derived from :data:`extraction.fields.FIELDS`.

From the one schema definition this module builds the JSON schema sent to a model (Ollama's
``format``, an OpenAI-compatible server's ``response_format``), the pydantic models that
validate each field's answer (with the shared normalisers as validators), the salvage of a
cut-off answer, and the proposal value objects.

The schema is *bounded*, so that no answer can run away: every string has a ``maxLength``,
every list a ``maxItems``, and a page is one of the paper's pages. It uses only what the
grammar converters of llama.cpp (so Ollama and LM Studio), llama-cpp-python and vLLM's
xgrammar all enforce: no ``$ref``, no ``pattern``, no ``multipleOf`` or ``uniqueItems``, and
nullable values written as ``anyOf`` with ``null`` — under a type list such as
``["array", "null"]`` llama.cpp's converters drop ``items``, ``enum`` and ``maxLength``.
llama-cpp-python's converter ignores ``minimum``/``maximum``, so values carry no range (the
validators check it) and a page is an ``enum`` of the paper's pages (with the range beside it
for readers). Validation applies the same bounds: a server may silently stop enforcing a
schema, so the schema is never the last line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from jsonschema import Draft202012Validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from extraction.evidence.normalize import NOT_REPORTED_WORDS, ValueProblem, normalize_value
from extraction.fields import FIELDS, FieldSpec, Status
from extraction.safe_text import unsafe_character

MAX_QUOTE = 600
"""Characters of evidence kept per field from any source; longer quotes are cut (and fail to
ground). Model answers are bounded tighter, by :data:`QUOTE_LENGTH`."""
QUOTE_LENGTH = 200
"""Longest quote a model may give (``maxLength``): a sentence or two states a value."""
TEXT_LENGTH = 80
"""Longest text value or list item a model may give: a name, not a paragraph."""
LIST_ITEMS = 8
"""Most items in a list of names a model may give (``maxItems``)."""
PAGE_ENUM_LIMIT = 2000
"""Papers with more pages get a page range only (an enum that long helps no grammar)."""

# The longest JSON each primitive can take under llama.cpp's grammars: an optional sign, at
# most 16 integer digits, 16 decimals and a 16-digit exponent.
_LONGEST_INTEGER = 17
_LONGEST_NUMBER = 1 + 16 + 1 + 16 + 2 + 16
_NULL = {"type": "null"}


def max_items(spec: FieldSpec) -> int:
    """How many items a list field's answer may hold: each choice once, else :data:`LIST_ITEMS`."""
    return len(spec.allowed) if spec.allowed else LIST_ITEMS


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _NULL]}


def value_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON schema of a field's ``value`` (null allowed: not reported)."""
    if spec.is_list:
        items: dict[str, Any] = {"type": "string"}
        if spec.allowed:
            items["enum"] = list(spec.allowed)
        else:
            items["maxLength"] = TEXT_LENGTH
        return _nullable({"type": "array", "items": items, "maxItems": max_items(spec)})
    schema: dict[str, Any] = {"type": spec.json_type}
    if spec.allowed:
        schema["enum"] = list(spec.allowed)
    elif spec.json_type == "string":
        schema["maxLength"] = TEXT_LENGTH
    return _nullable(schema)


def page_schema(pages: int | None) -> dict[str, Any]:
    """The JSON schema of an evidence page: one of the paper's ``pages`` (null: no evidence)."""
    if not pages:
        return _nullable({"type": "integer", "minimum": 1})
    schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": pages}
    if pages <= PAGE_ENUM_LIMIT:
        schema["enum"] = list(range(1, pages + 1))
    return _nullable(schema)


def _answer_object(
    status: Status, value: dict[str, Any], page: dict[str, Any], quote: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": [status.value]},
            "value": value,
            "page": page,
            "quote": quote,
        },
        "required": ["status", "value", "page", "quote"],
        "additionalProperties": False,
    }


def answer_schema(spec: FieldSpec, pages: int | None = None) -> dict[str, Any]:
    """The JSON schema of one field's answer object: one shape per status, so a grammar
    rules out what validation would refuse anyway — ``reported`` with no value, page or
    quote, ``not_reported`` with any."""
    value = value_schema(spec)
    page = page_schema(pages)
    quote = _nullable({"type": "string", "maxLength": QUOTE_LENGTH})
    return {
        "anyOf": [
            _answer_object(Status.REPORTED, value["anyOf"][0], page["anyOf"][0], quote["anyOf"][0]),
            _answer_object(Status.NOT_REPORTED, _NULL, _NULL, _NULL),
            _answer_object(Status.AMBIGUOUS, value, page, quote),
        ]
    }


def response_schema(
    fields: Sequence[FieldSpec] = FIELDS, pages: int | None = None
) -> dict[str, Any]:
    """The JSON schema a model's answer must follow: one property per field asked for."""
    return {
        "type": "object",
        "properties": {spec.name: answer_schema(spec, pages) for spec in fields},
        "required": [spec.name for spec in fields],
        "additionalProperties": False,
    }


ollama_format = response_schema
"""Sent as Ollama's ``format`` (the name the first engine gave it)."""


def longest_answer(schema: Mapping[str, Any]) -> int:
    """Characters of the longest JSON document ``schema`` admits, written compactly with one
    whitespace character between tokens (what llama.cpp's grammars allow, at most, per token).

    This is the bound an answer's length is derived from: with every string, list and page
    bounded, a complete answer never needs more. Strings count one character per character
    (an escape such as ``\\u00d7`` takes more, and is rare in quotes).

    Raises:
        ValueError: ``schema`` admits unbounded documents (a string without ``maxLength``).
    """
    if "anyOf" in schema:
        return max(longest_answer(option) for option in schema["anyOf"])
    if "enum" in schema:
        return max(len(json.dumps(option)) for option in schema["enum"]) + 1
    kind = schema.get("type")
    if kind == "object":
        members = [
            len(json.dumps(name)) + 2 + longest_answer(member)
            for name, member in schema["properties"].items()
        ]
        return 2 + sum(members) + len(members) + 1
    if kind == "array":
        if "maxItems" not in schema:
            raise ValueError(f"unbounded array: {schema}")
        count = schema["maxItems"]
        return 2 + count * (longest_answer(schema["items"]) + 1) + 1
    if kind == "string":
        if "maxLength" not in schema:
            raise ValueError(f"unbounded string: {schema}")
        return schema["maxLength"] + 3
    if kind == "integer":
        return _LONGEST_INTEGER + 1
    if kind == "number":
        return _LONGEST_NUMBER + 1
    if kind == "null":
        return 5
    if kind == "boolean":
        return 6
    raise ValueError(f"cannot bound {schema}")


@dataclass(frozen=True, slots=True)
class FieldProposal:
    """A validated answer for one field: canonical value, evidence as the model gave it."""

    field: str
    status: str
    value: Any
    page: int | None
    quote: str | None


class _AnswerBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Status
    page: int | None = Field(default=None, ge=1, le=100_000)
    quote: str | None = None


def _absent(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in NOT_REPORTED_WORDS)


@cache
def answer_model(spec: FieldSpec) -> type[_AnswerBase]:
    """The pydantic model validating one field's answer, its value normalised by the
    field's normaliser (so "3 days" validates to 72.0 hours)."""

    def check_value(raw: Any) -> Any:
        return None if _absent(raw) else normalize_value(spec, raw)

    return create_model(
        f"{spec.name}_answer",
        __base__=_AnswerBase,
        value=(Annotated[Any, AfterValidator(check_value)], None),
    )


def validate_field(spec: FieldSpec, raw: Any) -> FieldProposal:
    """Validate one field's answer object.

    Raises:
        ValueProblem: The answer is malformed or inconsistent, with the reason.
    """
    if not isinstance(raw, dict):
        raise ValueProblem(
            f"expected an object with status, value, page and quote, got {raw!r}"[:200]
        )
    try:
        answer = answer_model(spec).model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        raise ValueProblem(f"{where}: {message}" if where else message) from None
    value = getattr(answer, "value", None)
    status = answer.status.value
    if status == Status.REPORTED and value is None:
        raise ValueProblem(
            "status is reported but value is null: give the value or use not_reported"
        )
    if status == Status.NOT_REPORTED and value is not None:
        raise ValueProblem("status is not_reported but a value was given: choose one")
    quote = answer.quote.strip() if answer.quote and answer.quote.strip() else None
    if quote and (unsafe := unsafe_character(quote)):
        # A quote is shown and exported: the same rule as for every other text.
        raise ValueProblem(f"quote: {unsafe}")
    if status == Status.NOT_REPORTED:
        return FieldProposal(spec.name, status, None, None, None)
    return FieldProposal(
        spec.name, status, value, answer.page, quote[:MAX_QUOTE] if quote else None
    )


@cache
def _bounds_validator(spec: FieldSpec, pages: int | None) -> Draft202012Validator:
    """The schema's bounds alone, as a validator: JSON Schema applies ``maxLength`` only to
    strings, ``maxItems`` only to arrays and ``maximum`` only to numbers, so an answer of
    another type passes here and is left to the normalisers ("3 days" for hours)."""
    value: dict[str, Any] = {}
    if spec.is_list:
        value["maxItems"] = max_items(spec)
        if not spec.allowed:
            value["items"] = {"maxLength": TEXT_LENGTH}
    elif not spec.allowed:
        value["maxLength"] = TEXT_LENGTH
    page: dict[str, Any] = {"minimum": 1, "maximum": pages} if pages else {}
    return Draft202012Validator(
        {
            "properties": {
                "value": value,
                "page": page,
                "quote": {"maxLength": QUOTE_LENGTH},
            }
        }
    )


def check_bounds(spec: FieldSpec, raw: Any, pages: int | None = None) -> None:
    """Refuse an answer beyond the schema's bounds, as a server that enforced it could not
    have sent: a quote or name too long, too many items, a page the paper does not have.

    Raises:
        ValueProblem: A bound is exceeded, with the bound.
    """
    error = next(iter(_bounds_validator(spec, pages).iter_errors(raw)), None)
    if error is None:
        return
    where = str(error.absolute_path[0]) if error.absolute_path else "answer"
    if error.validator == "maxLength":
        raise ValueProblem(f"{where}: longer than {error.validator_value} characters")
    if error.validator == "maxItems":
        raise ValueProblem(f"{where}: more than {error.validator_value} items")
    if where == "page":
        raise ValueProblem(f"page: {error.instance} is not a page of this paper (it has {pages})")
    raise ValueProblem(f"{where}: {error.message}"[:200])


def validate_answer(
    data: Any, fields: Sequence[FieldSpec] = FIELDS, pages: int | None = None
) -> tuple[dict[str, FieldProposal], dict[str, str]]:
    """Validate a model's whole answer, field by field, within the schema's bounds.

    Args:
        pages: The paper's page count; a page beyond it is a problem.

    Returns:
        ``(valid, problems)``: the fields that validated, and for each other field the reason.
        A problem in one field never costs the others.
    """
    if not isinstance(data, dict):
        return {}, {spec.name: "the answer is not a JSON object" for spec in fields}
    valid: dict[str, FieldProposal] = {}
    problems: dict[str, str] = {}
    for spec in fields:
        if spec.name not in data:
            problems[spec.name] = "missing"
            continue
        try:
            check_bounds(spec, data[spec.name], pages)
            valid[spec.name] = validate_field(spec, data[spec.name])
        except ValueProblem as exc:
            problems[spec.name] = str(exc)
    return valid, problems


@dataclass(frozen=True, slots=True)
class Salvaged:
    """What could be read from a model's answer text."""

    data: dict[str, Any] | None
    """The answer object, or the members complete before it broke off; None if nothing."""
    complete: bool
    """The text held one whole JSON object."""
    problem: str | None = None
    """Why the text is not one whole object, for the record."""


def salvage(text: str) -> Salvaged:
    """Read a model's answer, keeping every complete member of a cut-off or broken object.

    A whole object is read as it is (text around it ignored). Otherwise the longest valid
    prefix is kept: each member whose value is complete JSON, up to the first that is not, so
    a cut-off answer keeps every field it finished.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    if start < 0:
        return Salvaged(None, False, "not JSON (no object in the answer)")
    try:
        data, _ = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc.msg} at character {exc.pos})"
    except RecursionError:
        return Salvaged(None, False, "not usable JSON (nested too deeply)")
    else:
        if isinstance(data, dict):
            return Salvaged(data, True)
        return Salvaged(None, False, "not a JSON object")
    members: dict[str, Any] = {}
    position = start + 1
    length = len(text)
    while True:
        while position < length and text[position] in " \t\r\n,":
            position += 1
        if position >= length or text[position] != '"':
            break
        try:
            name, position = decoder.raw_decode(text, position)
            while position < length and text[position] in " \t\r\n":
                position += 1
            if position >= length or text[position] != ":":
                break
            position += 1
            while position < length and text[position] in " \t\r\n":
                position += 1
            value, position = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            break
        members[name] = value
    return Salvaged(members or None, False, problem)
