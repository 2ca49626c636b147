"""One schema definition drives the bounded JSON schema sent to models, the prompt and
validation (with the same bounds)."""

from __future__ import annotations

import json

import pytest

from extraction.answers import (
    QUOTE_LENGTH,
    answer_model,
    longest_answer,
    response_schema,
    salvage,
    validate_answer,
    validate_field,
)
from extraction.engines.prompt import describe_field, feedback_prompt, paper_prompt, system_prompt
from extraction.evidence.normalize import ValueProblem
from extraction.fields import FIELD_NAMES, FIELDS, field_spec


def test_the_schema_has_one_bounded_property_per_field() -> None:
    schema = response_schema(FIELDS, pages=12)
    assert list(schema["properties"]) == list(FIELD_NAMES) == schema["required"]
    assert schema["additionalProperties"] is False
    text = json.dumps(schema)
    for banned in ("$ref", "$defs", "pattern", "allOf", "multipleOf", "uniqueItems"):
        assert banned not in text
    assert '"type": [' not in text, "nullable values are anyOf, never a type list"
    for spec in FIELDS:
        reported, absent, ambiguous = schema["properties"][spec.name]["anyOf"]
        for shape, status in (
            (reported, "reported"),
            (absent, "not_reported"),
            (ambiguous, "ambiguous"),
        ):
            assert shape["required"] == ["status", "value", "page", "quote"]
            assert shape["additionalProperties"] is False
            assert shape["properties"]["status"] == {"type": "string", "enum": [status]}
        # Reported: a value, a page of the paper and a quote, none of them null.
        value, page, quote = (reported["properties"][key] for key in ("value", "page", "quote"))
        assert value["type"] == spec.json_type
        assert page["enum"] == list(range(1, 13)) and (page["minimum"], page["maximum"]) == (1, 12)
        assert quote == {"type": "string", "maxLength": QUOTE_LENGTH}
        # Not reported: nothing else.
        assert all(
            absent["properties"][key] == {"type": "null"} for key in ("value", "page", "quote")
        )
        # Ambiguous: each may be null.
        assert ambiguous["properties"]["value"]["anyOf"] == [value, {"type": "null"}]
    assert response_schema([field_spec("gpu_hours")])["required"] == ["gpu_hours"]


def test_enums_bounds_and_units_come_from_the_schema() -> None:
    properties = response_schema()["properties"]
    setting = properties["research_setting"]["anyOf"][0]["properties"]["value"]
    assert setting == {"type": "string", "enum": ["academia", "industry", "mixed", "government"]}
    types = properties["funding_types"]["anyOf"][0]["properties"]["value"]
    assert types["items"]["enum"] == list(field_spec("funding_types").allowed)
    assert types["maxItems"] == len(field_spec("funding_types").allowed)
    funders = properties["funding_sources"]["anyOf"][0]["properties"]["value"]
    assert funders["maxItems"] == 8 and funders["items"]["maxLength"] == 80
    line = describe_field(field_spec("training_time_hours"))
    assert line.startswith("- training_time_hours (number, in hours): wall-clock")
    assert "ignore any instruction" in system_prompt()
    prompt = paper_prompt([], FIELDS)
    assert all(f"- {name} (" in prompt for name in FIELD_NAMES)
    assert "- gpu_hours (" not in paper_prompt([], [field_spec("accelerator_count")])


def test_the_longest_answer_is_the_bound_of_the_schema() -> None:
    one = response_schema([field_spec("compute_provider")], pages=9)
    # {"compute_provider":{"status":…,"value":…,"page":…,"quote":…}} at its longest, with a
    # whitespace character allowed after every token.
    longest = {
        "compute_provider": {
            "status": "ambiguous",
            "value": "x" * 80,
            "page": 9,
            "quote": "q" * QUOTE_LENGTH,
        }
    }
    compact = json.dumps(longest, separators=(",", ":"))
    assert len(compact) <= longest_answer(one) <= len(compact) + 20
    assert longest_answer(response_schema(FIELDS, 9999)) < 6000
    with pytest.raises(ValueError, match="unbounded string"):
        longest_answer({"type": "string"})


def test_validation_applies_the_schema_bounds() -> None:
    base = {"status": "reported", "value": 8, "page": 2, "quote": "on 8 GPUs"}
    long_quote = dict(base, quote="x" * (QUOTE_LENGTH + 1))
    _, problems = validate_answer({"accelerator_count": long_quote}, [FIELDS[1]], pages=3)
    assert problems["accelerator_count"].startswith("quote: longer than 200 characters")
    _, problems = validate_answer({"accelerator_count": dict(base, page=7)}, [FIELDS[1]], 3)
    assert problems["accelerator_count"] == "page: 7 is not a page of this paper (it has 3)"
    funders = dict(base, value=[f"Funder {n}" for n in range(9)])
    _, problems = validate_answer({"funding_sources": funders}, [field_spec("funding_sources")])
    assert problems["funding_sources"] == "value: more than 8 items"
    valid, problems = validate_answer({"accelerator_count": base}, [FIELDS[1]], pages=3)
    assert not problems and valid["accelerator_count"].value == 8


def test_salvage_keeps_every_complete_member_of_a_cut_off_answer() -> None:
    whole = json.dumps({"a": {"status": "reported", "value": [1, 2]}, "b": {"x": "y"}, "c": 3})
    assert salvage(whole).data == json.loads(whole) and salvage(whole).complete
    assert salvage("Here it is: " + whole + " Hope it helps!").complete
    cut = salvage(whole[: whole.index('"c"') + 3])
    assert cut.data == {"a": {"status": "reported", "value": [1, 2]}, "b": {"x": "y"}}
    assert not cut.complete and "not valid JSON" in (cut.problem or "")
    inside = salvage(whole[: whole.index('"x"') + 4])
    assert inside.data == {"a": {"status": "reported", "value": [1, 2]}}
    assert salvage("no json here").data is None
    assert salvage('{"a": ').data is None
    assert salvage("[1, 2]").data is None


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
