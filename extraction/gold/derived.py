"""Values the tool derives (never proposed by a model or typed by a person).

``derived_device_hours``: the stated GPU hours, else count × training time.
``derived_peak_pflops``: count × the catalog's dense FP16/BF16 peak (the aggregate-TFLOPS
figure of compute-inequality studies), in PFLOPS.
``derived_training_flop``: device-hours × 3600 × peak × utilisation (an assumption, 0.3
unless the user sets another, exported with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from extraction.evidence.catalog import lookup

DEFAULT_UTILIZATION = 0.3
DERIVED_COLUMNS = (
    "derived_device_hours",
    "derived_peak_pflops",
    "derived_training_flop",
    "derived_utilization",
)


@dataclass(frozen=True, slots=True)
class Derived:
    device_hours: float | None
    peak_pflops: float | None
    training_flop: float | None
    utilization: float

    def as_row(self) -> dict[str, float | None]:
        return dict(
            zip(
                DERIVED_COLUMNS,
                (self.device_hours, self.peak_pflops, self.training_flop, self.utilization),
                strict=True,
            )
        )


def _number(values: Mapping[str, Any], name: str) -> float | None:
    value = values.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def derive(values: Mapping[str, Any], utilization: float = DEFAULT_UTILIZATION) -> Derived:
    """Derived values from a paper's reported values (``None`` where they cannot be)."""
    count = _number(values, "accelerator_count")
    hours = _number(values, "training_time_hours")
    stated = _number(values, "gpu_hours")
    device_hours = (
        stated
        if stated is not None
        else (count * hours if count is not None and hours is not None else None)
    )
    peak_tflops = None
    accelerator = values.get("accelerator_type")
    if isinstance(accelerator, str):
        found = lookup(accelerator)
        if found is not None:
            peak_tflops = found[0].fp16_tflops
    peak_pflops = count * peak_tflops / 1000 if count is not None and peak_tflops else None
    training_flop = (
        device_hours * 3600 * peak_tflops * 1e12 * utilization
        if device_hours is not None and peak_tflops
        else None
    )
    return Derived(device_hours, peak_pflops, training_flop, utilization)
