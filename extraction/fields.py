"""The default schema: the compute fields goldsmith extracts, defined once, as data.

The prompt, the JSON schema sent to Ollama, validation, the review editors, export and
scoring are all generated from :data:`FIELDS`. Adding a field is a change here only (plus a
normaliser in :mod:`extraction.evidence.normalize` if it needs a new kind of value).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SCHEMA_VERSION = 1
"""Bump when a field is added, removed or changes meaning; runs record the version they used."""


class Status(StrEnum):
    """Whether the paper states a field."""

    REPORTED = "reported"
    NOT_REPORTED = "not_reported"
    AMBIGUOUS = "ambiguous"


class Kind(StrEnum):
    """The kind of value a field holds; decides its JSON type, normaliser, editor and matching."""

    ACCELERATOR = "accelerator"
    """A catalog accelerator name (a string)."""
    COUNT = "count"
    """A non-negative integer."""
    INTEGER = "integer"
    HOURS = "hours"
    """A duration in hours (a float), accepting "3 days", "36h"."""
    DEVICE_HOURS = "device_hours"
    """Device-hours (a float), accepting "2.788M GPU hours", "1.5k"."""
    FLOP = "flop"
    """An amount of floating-point operations (a float), accepting "3.1e23", "60 PF-days"."""
    USD = "usd"
    TEXT = "text"
    CHOICE = "choice"
    """One of ``allowed``."""
    TEXT_LIST = "text_list"
    CHOICE_LIST = "choice_list"
    """Several of ``allowed``."""


_JSON_TYPES = {
    Kind.ACCELERATOR: "string",
    Kind.COUNT: "integer",
    Kind.INTEGER: "integer",
    Kind.HOURS: "number",
    Kind.DEVICE_HOURS: "number",
    Kind.FLOP: "number",
    Kind.USD: "number",
    Kind.TEXT: "string",
    Kind.CHOICE: "string",
    Kind.TEXT_LIST: "array",
    Kind.CHOICE_LIST: "array",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the schema."""

    name: str
    kind: Kind
    description: str
    """What the field means, as the model and the annotator read it."""
    unit: str | None = None
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    """Smallest plausible value; below it a value is rejected."""
    maximum: float | None = None
    """Largest plausible value; above it a value is rejected (e.g. a million devices)."""
    hint: str = ""
    """Extra guidance for the prompt: where in a paper to look, what not to confuse it with."""

    @property
    def json_type(self) -> str:
        """The JSON type of the field's value."""
        return _JSON_TYPES[self.kind]

    @property
    def is_list(self) -> bool:
        return self.kind in (Kind.TEXT_LIST, Kind.CHOICE_LIST)

    @property
    def is_numeric(self) -> bool:
        return self.json_type in ("integer", "number")


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "accelerator_type",
        Kind.ACCELERATOR,
        "the GPU/TPU model used for the main training run, as named in the paper",
        hint="e.g. 'NVIDIA A100 80GB', 'Google TPU v4'; the training hardware, not inference",
    ),
    FieldSpec(
        "accelerator_count",
        Kind.COUNT,
        "number of devices (GPUs/TPU chips) used for the main training run",
        unit="devices",
        minimum=0,
        maximum=1_000_000,
        hint="'8 GPUs' -> 8; a cluster's size only if the run used all of it",
    ),
    FieldSpec(
        "accelerator_memory_gb",
        Kind.INTEGER,
        "memory per device",
        unit="GB",
        minimum=1,
        maximum=4096,
        hint="'A100-80GB' -> 80; per device, not the total",
    ),
    FieldSpec(
        "training_time_hours",
        Kind.HOURS,
        "wall-clock time of the main training run",
        unit="hours",
        minimum=0,
        maximum=200_000,
        hint="'3 days' -> 72; wall-clock, not device-hours",
    ),
    FieldSpec(
        "gpu_hours",
        Kind.DEVICE_HOURS,
        "device-hours (GPU hours, TPU chip-hours) of the main training run, only if stated",
        unit="device-hours",
        minimum=0,
        maximum=1e10,
        hint="'2.788M H800 GPU hours' -> 2788000; never compute it yourself",
    ),
    FieldSpec(
        "training_compute_flop",
        Kind.FLOP,
        "total training compute in FLOP, only if the paper states it",
        unit="FLOP",
        minimum=0,
        maximum=1e30,
        hint="'3.14e23 FLOPs' -> 3.14e23; never compute it yourself",
    ),
    FieldSpec(
        "compute_provider",
        Kind.TEXT,
        "cloud provider or named cluster/supercomputer the training ran on",
        hint="e.g. 'AWS', 'Google Cloud', 'JUWELS Booster'",
    ),
    FieldSpec(
        "funding_sources",
        Kind.TEXT_LIST,
        "funders named in the paper, usually in the acknowledgements",
        hint="organisation names only, e.g. ['National Science Foundation', 'Google']",
    ),
    FieldSpec(
        "funding_types",
        Kind.CHOICE_LIST,
        "the kinds of funders named",
        allowed=("government", "corporate", "foundation", "university", "other"),
    ),
    FieldSpec(
        "research_setting",
        Kind.CHOICE,
        "where the authors work, from their affiliations",
        allowed=("academia", "industry", "mixed", "government"),
        hint="'mixed' when both universities and companies appear among the affiliations",
    ),
    FieldSpec(
        "models_used",
        Kind.TEXT_LIST,
        "pretrained foundation models the paper trains, fine-tunes or evaluates",
        hint="e.g. ['LLaMA-2 7B', 'GPT-4']; named models, not architectures like 'Transformer'",
    ),
    FieldSpec(
        "api_cost_usd",
        Kind.USD,
        "money spent on model APIs, if stated",
        unit="USD",
        minimum=0,
        maximum=1e9,
    ),
)

FIELD_NAMES: tuple[str, ...] = tuple(spec.name for spec in FIELDS)
_BY_NAME = {spec.name: spec for spec in FIELDS}


def field_spec(name: str) -> FieldSpec:
    """The spec of the field called ``name``.

    Raises:
        KeyError: No such field, with the valid names in the message.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown field {name!r}; fields are: {', '.join(FIELD_NAMES)}") from None
