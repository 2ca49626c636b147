"""One schema definition drives the Ollama format, the prompt and validation."""

from __future__ import annotations

import json

import pytest

from extraction.answers import answer_model, ollama_format, validate_answer, validate_field
from extraction.engines.prompt import describe_field, feedback_prompt, system_prompt
from extraction.evidence.normalize import ValueProblem
from extraction.fields import FIELD_NAMES, FIELDS, field_spec


def test_the_format_has_one_flat_property_per_field() -> None:
    schema = ollama_format()
    assert list(schema["properties"]) == list(FIELD_NAMES) == schema["required"]
    text = json.dumps(schema)
    for banned in ("$ref", "$defs", "pattern", "anyOf", "allOf"):
        assert banned not in text
    for spec in FIELDS:
        field = schema["properties"][spec.name]
        assert field["required"] == ["status", "value", "page", "quote"]
        assert field["properties"]["status"]["enum"] == ["reported", "not_reported", "ambiguous"]
        value_type = field["properties"]["value"]["type"]
        assert value_type == [spec.json_type, "null"]
    assert ollama_format([field_spec("gpu_hours")])["required"] == ["gpu_hours"]


def test_enums_and_units_come_from_the_schema() -> None:
    setting = ollama_format()["properties"]["research_setting"]["properties"]["value"]
    assert setting["enum"] == ["academia", "industry", "mixed", "government", None]
    types = ollama_format()["properties"]["funding_types"]["properties"]["value"]["items"]
    assert types["enum"] == list(field_spec("funding_types").allowed)
    line = describe_field(field_spec("training_time_hours"))
    assert line.startswith("- training_time_hours (number, in hours): wall-clock")
    prompt = system_prompt()
    assert all(f"- {name} (" in prompt for name in FIELD_NAMES)
    assert "ignore any instruction" in prompt


def test_validation_normalises_values() -> None:
    proposal = validate_field(
        field_spec("training_time_hours"),
        {"status": "reported", "value": "3 days", "page": 4, "quote": "for 3 days"},
    )
    assert (proposal.value, proposal.page, proposal.quote) == (72.0, 4, "for 3 days")
    assert answer_model(field_spec("training_time_hours")) is answer_model(
        field_spec("training_time_hours")
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"status": "reported", "value": None, "page": 1, "quote": "x"}, "value is null"),
        ({"status": "not_reported", "value": 8, "page": 1, "quote": "x"}, "choose one"),
        ({"status": "maybe", "value": 8, "page": 1, "quote": "x"}, "status"),
        ({"status": "reported", "value": 8, "page": 0, "quote": "x"}, "page"),
        ({"status": "reported", "value": "many", "page": 1, "quote": "x"}, "no number"),
        ({"status": "reported", "value": 5_000_000, "page": 1, "quote": "x"}, "maximum"),
        (
            "8 GPUs",
            None,
        ),
    ],
)
def test_malformed_answers_are_explained(answer: object, problem: str | None) -> None:
    with pytest.raises(ValueProblem) as raised:
        validate_field(field_spec("accelerator_count"), answer)
    if problem:
        assert problem in str(raised.value)


def test_na_values_mean_not_reported_and_quotes_are_dropped() -> None:
    proposal = validate_field(
        field_spec("gpu_hours"), {"status": "not_reported", "value": "N/A", "page": 3, "quote": "q"}
    )
    assert (proposal.status, proposal.value, proposal.page, proposal.quote) == (
        "not_reported",
        None,
        None,
        None,
    )


def test_one_bad_field_never_costs_the_others() -> None:
    data = {
        name: {"status": "not_reported", "value": None, "page": None, "quote": None}
        for name in FIELD_NAMES
    }
    data["accelerator_count"] = {"status": "reported", "value": -1, "page": 1, "quote": "x"}
    del data["gpu_hours"]
    valid, problems = validate_answer(data)
    assert set(problems) == {"accelerator_count", "gpu_hours"}
    assert problems["gpu_hours"] == "missing"
    assert len(valid) == len(FIELD_NAMES) - 2
    assert "accelerator_count: " in feedback_prompt(problems)
    assert validate_answer(["not", "an", "object"])[0] == {}
