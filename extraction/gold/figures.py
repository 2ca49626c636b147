"""How the estimate's figures are written for people: the same text in the terminal, the
app's report screen and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence


def rate_text(value: float | None, interval: Sequence[float] | None = None) -> str:
    """A rate in percent with its interval: ``61.2 (51.8–70.6)``; ``—`` when unknown."""
    if value is None:
        return "—"
    text = f"{100 * value:.1f}"
    if interval:
        text += f" ({100 * interval[0]:.1f}–{100 * interval[1]:.1f})"
    return text


def amount_text(value: float | None, interval: Sequence[float] | None = None) -> str:
    """A quantity with its interval, four significant digits: ``15.26 (12.1–18.4)``."""
    if value is None:
        return "—"
    text = f"{value:,.4g}"
    if interval:
        text += f" ({interval[0]:,.4g}–{interval[1]:,.4g})"
    return text
