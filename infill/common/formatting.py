"""How numbers read in reports, terminals and diffs."""

from __future__ import annotations


def percent(value: float | None) -> str:
    """0.7648 -> '76.48%'; None (undefined) -> 'n/a'."""
    return "n/a" if value is None else f"{100 * value:.2f}%"
