"""Normalisers and number parsing, on passages from real papers and as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extraction.evidence.catalog import find_mentions, normalize_accelerator, same_accelerator
from extraction.evidence.normalize import (
    ValueProblem,
    format_value,
    normalize_value,
    value_in_quote,
)
from extraction.evidence.numbers import find_numbers, words_to_number
from extraction.evidence.textnorm import normalize, normalize_with_map
from extraction.fields import FIELDS, field_spec

# Short passages as PyMuPDF extracts them from the corpus's papers.
DEEPSEEK_V3 = (
    "d-source\nmodels. Despite its excellent performance, DeepSeek-V3 requires only 2.788M H800 "
    "GPU hours\nfor its full training."
)
DEEPSEEK_V2 = (
    "for training on each trillion tokens, DeepSeek 67B requires 300.6K\nGPU hours, while "
    "DeepSeek-V2 needs only 172.8K GPU hours"
)
PALM = "We trained PaLM on 6144 TPU v4 chips using Pathways, a new ML system which enables"
WAV2VEC = "a total of 64 V100 GPUs for 1.6 days [38]; the total batch size is 1.6h."
BELLE = "8 NVIDIA A100-40GB GPUs."
PATACCHIOLA = "All experiments were carried out on a single NVIDIA A100 GPU with 80GB of memory."
LINDERMAN = "100 experiments were trained on 1 GPU for 90 epochs which completed in ∼8 hours"
COORDINATE = "The weight decay is set to 4 × 10−5 always."


def spec(name: str):  # noqa: ANN201
    return field_spec(name)


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("accelerator_type", "8x A100s (80GB)", "NVIDIA A100 80GB"),
        ("accelerator_type", "Tesla V100", "NVIDIA V100"),
        ("accelerator_type", "TPUv3", "Google TPU v3"),
        ("accelerator_type", "A100-SXM4-80GB", "NVIDIA A100 80GB"),
        ("accelerator_type", "NVIDIA A100 80GB", "NVIDIA A100 80GB"),
        ("accelerator_type", "H100 PCIe", "NVIDIA H100 PCIe 80GB"),
        ("accelerator_type", "Ascend 910", "other: Ascend 910"),
        ("accelerator_type", BELLE, "NVIDIA A100 40GB"),
        ("accelerator_type", PATACCHIOLA, "NVIDIA A100 80GB"),
        ("accelerator_count", "8x", 8),
        ("accelerator_count", "eight", 8),
        ("accelerator_count", "2,048", 2048),
        ("accelerator_count", "4x8", 32),
        ("accelerator_count", 16.0, 16),
        ("accelerator_memory_gb", "80GB", 80),
        ("accelerator_memory_gb", "48 GB", 48),
        ("training_time_hours", "3 days", 72.0),
        ("training_time_hours", "two weeks", 336.0),
        ("training_time_hours", "36h", 36.0),
        ("training_time_hours", "1,600 minutes", 1600 / 60),
        ("training_time_hours", "1.6 days", 38.4),
        ("training_time_hours", "10 days and 5 hours", 245.0),
        ("training_time_hours", "a week", 168.0),
        ("training_time_hours", 72, 72.0),
        ("gpu_hours", "2.788M H800 GPU hours", 2.788e6),
        ("gpu_hours", "300.6K GPU hours", 300600.0),
        ("gpu_hours", "1.5k GPU-hours", 1500.0),
        ("training_compute_flop", "3.14 × 10^23", 3.14e23),
        ("training_compute_flop", "3.14 × 1023 FLOPs", 3.14e23),  # superscript lost by PDF
        ("training_compute_flop", "3.1e23 FLOPs", 3.1e23),
        ("training_compute_flop", "60 petaflop/s-days", 60 * 1e15 * 86400),
        ("training_compute_flop", "2.5 zettaFLOPs", 2.5e21),
        ("api_cost_usd", "$1,200", 1200.0),
        ("api_cost_usd", "$2.5 million", 2.5e6),
        ("api_cost_usd", "about $1,200 in total", 1200.0),
        ("api_cost_usd", "1.2k USD", 1200.0),
        ("research_setting", "Academic", "academia"),
        ("research_setting", "INDUSTRY", "industry"),
        ("funding_types", "government; corporate", ["government", "corporate"]),
        ("funding_types", ["corporate", "government", "corporate"], ["government", "corporate"]),
        ("funding_sources", ["NSF", "Google; Inc", "nsf"], ["Google, Inc", "NSF"]),
        ("models_used", "LLaMA-2 7B; GPT-4", ["GPT-4", "LLaMA-2 7B"]),
        ("compute_provider", "  Google   Cloud ", "Google Cloud"),
    ],
)
def test_values_normalise(field: str, raw: object, expected: object) -> None:
    value = normalize_value(spec(field), raw)
    if isinstance(expected, float):
        assert math.isclose(value, expected, rel_tol=1e-9)
    else:
        assert value == expected


@pytest.mark.parametrize(
    ("field", "raw", "reason"),
    [
        ("accelerator_count", "N/A", "means not reported"),
        ("accelerator_count", "", "means not reported"),
        ("accelerator_count", 2_000_000, "above the plausible maximum"),
        ("accelerator_count", -3, "below the plausible minimum"),
        ("accelerator_count", 2.5, "whole number"),
        ("accelerator_count", "8 and 16", "several numbers"),
        ("training_time_hours", "a long while", "no duration"),
        ("training_time_hours", -4, "below the plausible minimum"),
        ("training_compute_flop", "147 TFLOP/s", "a speed"),
        ("api_cost_usd", "300 euros", "not in US dollars"),
        ("api_cost_usd", "a100 4", "not an amount in USD"),
        ("research_setting", "startup", "not one of"),
        ("funding_types", ["government", "aliens"], "not one of"),
        ("funding_sources", [], "empty list"),
        ("accelerator_count", True, "true/false"),
        ("accelerator_memory_gb", "2 TB", "no memory size"),
        ("accelerator_count", "__import__('os').system('rm 5')", "is not a number of devices"),
        ("accelerator_memory_gb", "8*10**9", "is not a memory size"),
        ("training_compute_flop", "[bold]3e23[/]", "is not an amount of compute"),
        ("gpu_hours", "<b>1000</b>", "is not device-hours"),
        ("api_cost_usd", "=1000+1", "is not an amount in USD"),
        ("training_time_hours", "os.system 5 days", "is not a duration"),
    ],
)
def test_bad_values_are_refused_with_a_reason(field: str, raw: object, reason: str) -> None:
    with pytest.raises(ValueProblem, match=reason):
        normalize_value(spec(field), raw)


def test_mentions_carry_count_and_memory_from_real_passages() -> None:
    assert [(m.canonical, m.count) for m in find_mentions(PALM)] == [("Google TPU v4", 6144)]
    assert [(m.canonical, m.count) for m in find_mentions(WAV2VEC)] == [("NVIDIA V100", 64)]
    assert [(m.canonical, m.count) for m in find_mentions("992 80GB A100 GPUs")] == [
        ("NVIDIA A100 80GB", 992)
    ]
    assert [m.count for m in find_mentions("48GB NVIDIA RTX A6000")] == [None]
    assert [m.count for m in find_mentions("four NVIDIA RTX A5000 GPUs")] == [4]


def test_catalog_matching_treats_unstated_memory_as_the_same_device() -> None:
    assert same_accelerator("NVIDIA A100", "NVIDIA A100 80GB")
    assert not same_accelerator("NVIDIA A100 40GB", "NVIDIA A100 80GB")
    assert not same_accelerator("NVIDIA A100", "NVIDIA A800")
    assert same_accelerator("other: Ascend 910", "other: ascend  910")
    assert normalize_accelerator("other: A100") == "NVIDIA A100"


@pytest.mark.parametrize(
    ("field", "value", "quote", "expected"),
    [
        ("gpu_hours", 2.788e6, DEEPSEEK_V3, True),
        ("gpu_hours", 172800.0, DEEPSEEK_V2, True),
        ("gpu_hours", 2.788e5, DEEPSEEK_V3, False),
        ("accelerator_count", 6144, PALM, True),
        ("accelerator_type", "Google TPU v4", PALM, True),
        ("accelerator_type", "Google TPU v3", PALM, False),
        ("training_time_hours", 38.4, WAV2VEC, True),
        ("accelerator_count", 64, WAV2VEC, True),
        ("accelerator_count", 8, "trained on eight GPUs", True),
        ("training_time_hours", 8.0, LINDERMAN, True),
        ("accelerator_memory_gb", 80, PATACCHIOLA, True),
        ("accelerator_count", 1, PATACCHIOLA, True),
        ("research_setting", "academia", "Example University", None),
        ("accelerator_count", 8, None, None),
        ("funding_sources", ["NSF", "DARPA"], "supported by the NSF and DARPA", True),
        ("funding_sources", ["NSF", "ONR"], "supported by the NSF and DARPA", False),
    ],
)
def test_value_in_quote(
    field: str, value: object, quote: str | None, expected: bool | None
) -> None:
    assert value_in_quote(spec(field), value, quote) is expected


def test_normalised_text_joins_hyphenation_and_expands_ligatures() -> None:
    raw = "salient beneﬁts in terms of train-\ning costs. The eﬃcient 8 × A100 setup"
    assert (
        normalize(raw)
        == "salient benefits in terms of training costs. the efficient 8 x a100 setup"
    )
    assert normalize(COORDINATE) == "the weight decay is set to 4 x 10-5 always."


@given(st.text())
def test_mapped_normalisation_agrees_with_the_fast_one(text: str) -> None:
    normalized, offsets = normalize_with_map(text)
    assert normalized == normalize(text)
    assert len(offsets) == len(normalized)
    assert offsets == sorted(offsets)
    assert all(0 <= o < len(text) for o in offsets)


@given(st.integers(min_value=0, max_value=999_999_999))
def test_integers_written_with_separators_read_back(n: int) -> None:
    assert [m.value for m in find_numbers(f"{n:,} GPUs")] == [n]


@given(st.integers(min_value=1, max_value=99))
def test_number_words_read_back(n: int) -> None:
    ones = "one two three four five six seven eight nine".split()
    teens = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
    tens = "twenty thirty forty fifty sixty seventy eighty ninety".split()
    if n < 10:
        words = ones[n - 1]
    elif n < 20:
        words = teens.split()[n - 10]
    else:
        words = tens[n // 10 - 2] + ("-" + ones[n % 10 - 1] if n % 10 else "")
    assert words_to_number(words) == n


@given(st.floats(min_value=0.01, max_value=100_000, allow_nan=False))
def test_hours_survive_a_round_trip_through_days(hours: float) -> None:
    parsed = normalize_value(spec("training_time_hours"), f"{hours / 24!r} days")
    assert math.isclose(parsed, hours, rel_tol=1e-9)


@pytest.mark.parametrize("field", [s.name for s in FIELDS])
def test_formatted_values_parse_back_to_themselves(field: str) -> None:
    samples = {
        "accelerator_type": "NVIDIA A100 80GB",
        "accelerator_count": 992,
        "accelerator_memory_gb": 80,
        "training_time_hours": 38.4,
        "gpu_hours": 2788000.0,
        "training_compute_flop": 3.14e23,
        "compute_provider": "Google Cloud",
        "funding_sources": ["DARPA", "National Science Foundation"],
        "funding_types": ["government", "corporate"],
        "research_setting": "mixed",
        "models_used": ["GPT-4", "LLaMA-2 7B"],
        "api_cost_usd": 1200.5,
    }
    value = samples[field]
    text = format_value(spec(field), value)
    assert normalize_value(spec(field), text) == value


@pytest.mark.parametrize(
    "text",
    [
        "trained on larger datasets (14m-300m images)",
        "more data (96m datapoints) than flan (1.2m datapoints)",
        "ranging from 125m to 175b parameters",
        "we suppose that the clip is trained for 2d linear instead of 3d linear",
        "31 d ablation of attention mechanisms",
        "in the 1990s",
        "an invertible transform h(x)",
        "we trained on 8 h100 gpus",
    ],
)
def test_prose_holds_no_duration_where_a_letter_follows_a_number(text: str) -> None:
    from extraction.evidence.normalize import durations

    assert durations(text) == []


def test_a_scale_word_is_not_read_inside_another_word() -> None:
    from extraction.evidence.normalize import durations

    assert [hours for hours, _, _ in durations("it took 3 more days")] == [72.0]
    assert [hours for hours, _, _ in durations("2.788m h800 gpu hours")] == [2.788e6]


@pytest.mark.parametrize(
    ("raw", "hours"), [("3d", 72.0), ("1h30m", 1.5), ("2d 4h", 52.0), ("36h", 36.0)]
)
def test_short_durations_typed_alone(raw: str, hours: float) -> None:
    assert normalize_value(spec("training_time_hours"), raw) == hours


def test_a_bare_m_is_refused_as_ambiguous() -> None:
    with pytest.raises(ValueProblem, match="minutes or millions"):
        normalize_value(spec("training_time_hours"), "90m")
