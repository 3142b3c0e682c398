"""Reading one table's values: each reader checks a key's type and range and raises _Problem with the fix."""

from __future__ import annotations

import difflib
import math


class _Problem(Exception):
    """A problem inside one table; turned into an InfillUsageError that names the file and the table."""


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(table: dict, allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            raise _Problem(f"unknown key {key!r}{_did_you_mean(key, allowed)}: allowed keys are {', '.join(allowed)}")


def _number(table: dict, key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem(f"{key} = {value!r} is not a number: write e.g. {key} = 0.02")
    if value < 0:
        raise _Problem(f"{key} = {value!r} is negative: write a value >= 0")
    return float(value)


def _count(table: dict, key: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Problem(f"{key} = {value!r} is not a positive whole number: write the sample count, e.g. {key} = 1033")
    return value


def _flag(table: dict, key: str) -> bool | None:
    value = table.get(key)
    if value is not None and not isinstance(value, bool):
        raise _Problem(f"{key} = {value!r} is not a boolean: write {key} = true or {key} = false")
    return value


def _text(table: dict, key: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise _Problem(f"missing {key!r}: add {key} = \"...\"")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Problem(f"{key} = {value!r} must be a non-empty string: write {key} = \"...\"")
    return value
