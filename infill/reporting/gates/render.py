"""Rendering the outcomes: terminal lines, report.md's "## Gates" section and summary.json `gates`."""

from __future__ import annotations

from pathlib import Path

from infill.reporting.gates.spec import GateOutcome


def tally(outcomes: list[GateOutcome]) -> str:
    counts = {status: sum(o.status == status for o in outcomes) for status in ("pass", "fail", "skip")}
    text = f"{counts['pass']} passed, {counts['fail']} failed"
    return text + (f", {counts['skip']} skipped" if counts["skip"] else "")


def terminal_lines(outcomes: list[GateOutcome], source: Path | str | None = None) -> list[str]:
    """One line per gate (PASS / FAIL / SKIP, measured, threshold), after a tally line."""
    head = f"gates{f' ({source})' if source else ''}: {tally(outcomes)}"
    return [head] + [f"{o.status.upper():<4}  {o.message}" for o in outcomes]


def markdown_lines(outcomes: list[GateOutcome], source: Path | str | None = None) -> list[str]:
    """report.md's "## Gates" section: a table in the report's style, then every failure's message."""
    if not outcomes:
        return []
    lines = ["## Gates", "", f"{tally(outcomes)}" + (f" (gates file `{source}`)." if source else "."), "",
             "| gate | benchmark | model | metric | n | measured | needs | result |",
             "|---|---|---|---|---:|---|---|---|"]
    for o in outcomes:
        result = {"pass": "PASS", "fail": "**FAIL**", "skip": "skip (optional, no result)"}[o.status]
        n = "" if o.n is None else (f"{o.n} (gate: {o.expected_n})" if o.expected_n not in (None, o.n) else str(o.n))
        lines.append(f"| {o.name} | {o.benchmark} | {o.model} | {o.metric or 'verdict'} | {n} | {o.shown} "
                     f"| {o.needs} | {result} |")
    failed = [o for o in outcomes if o.status == "fail"]
    if failed:
        lines += ["", "Failed gates:", ""] + [f"- {o.message}" for o in failed]
    return lines + [""]


def outcomes_json(outcomes: list[GateOutcome]) -> list[dict]:
    """summary.json `gates`."""
    return [o.to_json() for o in outcomes]
