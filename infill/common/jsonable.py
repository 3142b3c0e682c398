"""Numbers for summary.json: floats rounded to 6 places (6 significant digits below 0.001), no NaN or inf (JSON
has neither; they become null), and perplexities read back from either spelling of "unscorable" (null, "inf", a
float inf)."""

from __future__ import annotations

import math

DECIMALS = 6


def to_jsonable(value):
    """A copy of `value` that json.dumps writes the same way on every machine."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # 6 decimal places, but 6 significant digits below 0.001: a p-value of 1e-40 must not read as 0
        return round(value, DECIMALS) if abs(value) >= 1e-3 or value == 0 else float(f"{value:.{DECIMALS}g}")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item"):                       # numpy scalars
        return to_jsonable(value.item())
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def perplexity_value(value) -> float:
    """A candidate's perplexity as a float; inf for "could not be scored" (None, "inf", NaN, junk)."""
    if value is None:
        return math.inf
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return math.inf if math.isnan(number) else number


def rate(passed: int, n: int) -> float | None:
    return passed / n if n else None
