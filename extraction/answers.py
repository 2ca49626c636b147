"""What a model must answer, derived from :data:`extraction.fields.FIELDS`.

From the one schema definition this module builds the JSON schema sent to Ollama as
``format`` (flat: no ``$ref``, no regex ``pattern``), the pydantic models that validate each
field's answer (with the shared normalisers as validators), and the proposal value objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from extraction.evidence.normalize import NOT_REPORTED_WORDS, ValueProblem, normalize_value
from extraction.fields import FIELDS, FieldSpec, Status

MAX_QUOTE = 600
"""Characters of evidence kept per field; longer quotes are cut (and fail to ground)."""


def value_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON schema of a field's ``value`` (null allowed: not reported)."""
    if spec.is_list:
        items: dict[str, Any] = {"type": "string"}
        if spec.allowed:
            items["enum"] = list(spec.allowed)
        return {"type": ["array", "null"], "items": items}
    schema: dict[str, Any] = {"type": [spec.json_type, "null"]}
    if spec.allowed:
        schema["enum"] = [*spec.allowed, None]
    return schema


def answer_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON schema of one field's answer object."""
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "value": value_schema(spec),
            "page": {"type": ["integer", "null"]},
            "quote": {"type": ["string", "null"]},
        },
        "required": ["status", "value", "page", "quote"],
    }


def ollama_format(fields: Sequence[FieldSpec] = FIELDS) -> dict[str, Any]:
    """The JSON schema sent as Ollama's ``format``: one property per field."""
    return {
        "type": "object",
        "properties": {spec.name: answer_schema(spec) for spec in fields},
        "required": [spec.name for spec in fields],
    }


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
    if status == Status.NOT_REPORTED:
        return FieldProposal(spec.name, status, None, None, None)
    return FieldProposal(
        spec.name, status, value, answer.page, quote[:MAX_QUOTE] if quote else None
    )


def validate_answer(
    data: Any, fields: Sequence[FieldSpec] = FIELDS
) -> tuple[dict[str, FieldProposal], dict[str, str]]:
    """Validate a whole answer, field by field.

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
            valid[spec.name] = validate_field(spec, data[spec.name])
        except ValueProblem as exc:
            problems[spec.name] = str(exc)
    return valid, problems
