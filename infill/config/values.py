"""Parsing single option values, each bad one a one-line usage error naming the option."""

from __future__ import annotations

import math

from infill.errors import InfillUsageError


def split_list(value) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def option_name(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def number(dest: str, value, kind: type, minimum: float, maximum: float | None = None):
    """`value` as an int or a finite float, at least `minimum` (and at most `maximum`)."""
    try:
        parsed = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InfillUsageError(f"{option_name(dest)} {value!r}: expected {what}") from None
    if not math.isfinite(parsed):
        raise InfillUsageError(f"{option_name(dest)} {value!r}: expected a finite number")
    if parsed < minimum:
        raise InfillUsageError(f"{option_name(dest)} {value!r}: must be at least {minimum}")
    if maximum is not None and parsed > maximum:
        raise InfillUsageError(f"{option_name(dest)} {value!r}: must be at most {maximum}")
    return parsed


def choice(dest: str, value, choices) -> str:
    if value not in choices:
        raise InfillUsageError(f"{option_name(dest)} {value!r}: choose from {', '.join(choices)}")
    return value
