"""The comparison as Markdown, in the report's style: a header naming the runs, then per compared run its rows,
rows in one run only, flipped samples and timing medians."""

from __future__ import annotations

import json

from infill.common.formatting import percent
from infill.reporting.compare.diff import Comparison
from infill.reporting.compare.runs import Run


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _pp(value: float) -> str:
    return f"{100 * value:+.2f}"


def _p(value: float) -> str:
    if value == 0:                  # an exact test's p below the smallest float
        return "< 1e-300"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _figure(result: dict) -> str:
    return f"{percent(result['value'])} ({result['passed']}/{result['n']})"


def _compared(compared: dict, full: dict) -> str:
    """The value the delta is computed on, and the full run's beside it when the shared samples are fewer."""
    if (compared["passed"], compared["n"]) == (full["passed"], full["n"]):
        return _figure(compared)
    return f"{_figure(compared)}; full run {_figure(full)}"


def render_header(runs: list[Run], alpha: float) -> list[str]:
    lines = ["# infill-bench comparison", "",
             f"Baseline: run **{runs[0].label}**; every other run is compared with it. Δ = run − baseline in "
             f"percentage points, with a 95% interval; both runs' values are on the samples Δ is computed on "
             f"(paired rows: the samples both graded, each run's full figure beside it when it differs). Paired rows (both runs graded the same samples; "
             f"samples.jsonl present) use the Newcombe interval for paired proportions and McNemar's exact test; "
             f"other rows the Newcombe hybrid-score interval and a two-proportion z-test. Significant: p < {alpha:g}.",
             "", "| run | path | commit | started | complete | limit | command |", "|---|---|---|---|---|---:|---|"]
    for run in runs:
        git = run.summary.get("provenance", {}).get("git", {})
        commit = f"`{str(git.get('commit', ''))[:12]}`" + (" (uncommitted changes)" if git.get("dirty") else "") \
            if git.get("commit") else "unknown"
        info, selection = run.summary.get("run", {}), run.summary.get("selection", {})
        complete = {True: "yes", False: "**INCOMPLETE**"}.get(run.summary.get("complete"), "unknown")
        command = f"`{_cell(info['command'])}`" if info.get("command") else ""
        lines.append(f"| {run.label} | `{_cell(run.path)}` | {commit} | {info.get('started', '')} | {complete} "
                     f"| {selection.get('limit') or ''} | {command} |")
    return lines + [""]


def render_comparison(comparison: Comparison, max_flips: int) -> list[str]:
    base, run = comparison.base, comparison.run
    title = f"{run.label} vs {base.label} (baseline)"
    unchanged = len(comparison.rows) - len(comparison.drops) - len(comparison.gains)
    lines = [f"## {title}", "",
             f"{_count(len(comparison.drops), 'significant drop')}, "
             f"{_count(len(comparison.gains), 'significant gain')}, "
             f"{unchanged} not significant; {_count(len(comparison.only_base), 'row')} only in {base.label}, "
             f"{len(comparison.only_run)} only in {run.label}.", ""]
    lines += _notes(base, run)
    if comparison.rows:
        lines += [f"| benchmark | model | metric | {base.label} | {run.label} | Δ pp [95% CI] | test | p | verdict |",
                  "|---|---|---|---|---|---|---|---:|---|"]
        for row in comparison.rows:
            low, high = row.interval
            test = "unpaired" if row.paired_n is None else f"paired, {row.paired_n}"
            lines.append(f"| {row.key[0]} | {row.key[1]} | {row.key[2]} | {_compared(row.base_compared, row.base)} "
                         f"| {_compared(row.run_compared, row.run)} "
                         f"| {_pp(row.delta)} [{_pp(low)}, {_pp(high)}] | {test} | {_p(row.p_value)} "
                         f"| {row.verdict} |")
        lines.append("")
    for label, keys, source in ((base.label, comparison.only_base, base), (run.label, comparison.only_run, run)):
        if keys:
            lines += [f"Only in {label}:", "", "| benchmark | model | metric | value |", "|---|---|---|---|"]
            lines += [f"| {k[0]} | {k[1]} | {k[2]} | {_figure(source.results[k])} |" for k in keys] + [""]
    lines += _flips(comparison, max_flips)
    lines += _timings(base, run)
    return lines


def _notes(base: Run, run: Run) -> list[str]:
    """Differences that do not stop the comparison but change what it means."""
    notes = []
    for key in sorted(base.results.keys() & run.results.keys()):
        a, b = base.results[key].get("benchmark_version"), run.results[key].get("benchmark_version")
        if a != b:
            notes.append(f"{key[0]}: benchmark definition version {a} in {base.label}, {b} in {run.label}.")
    base_rules, run_rules = base.summary.get("rules") or {}, run.summary.get("rules") or {}
    changed = [k for k in sorted(base_rules.keys() | run_rules.keys()) if base_rules.get(k) != run_rules.get(k)]
    if changed:
        notes.append("Evaluation rules differ: " + "; ".join(
            f"{k}: {_short(base_rules.get(k))} in {base.label}, {_short(run_rules.get(k))} in {run.label}"
            for k in changed) + ".")
    for source in (base, run):
        if source.samples is None:
            notes.append(f"{source.label} has no samples.jsonl: its rows are compared unpaired and no flips are "
                         f"listed.")
    return [f"> {note}" for note in notes] + ([""] if notes else [])


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return f"`{_cell(text if len(text) <= 40 else text[:37] + '...')}`"


def _flips(comparison: Comparison, max_flips: int) -> list[str]:
    rows = [r for r in comparison.rows if r.regressions or r.fixes]
    paired = [r for r in comparison.rows if r.paired_n is not None]
    if not paired:
        return []
    lines = [f"### Flipped samples ({comparison.run.label} vs {comparison.base.label})", ""]
    if not rows:
        return lines + ["No sample changed its outcome.", ""]
    run_samples = comparison.run.samples or {}
    for row in rows:
        lines.append(f"- {row.key[0]} / {row.key[1]} / {row.key[2]}: {len(row.regressions)} passed → failed, "
                     f"{len(row.fixes)} failed → passed")
        for name, ids in (("passed → failed", row.regressions), ("failed → passed", row.fixes)):
            if not ids:
                continue
            records = run_samples.get(row.key[:2], {})
            shown = [f"`{s}`" + _why(records.get(s)) for s in ids[:max_flips]]
            more = f", … and {len(ids) - max_flips} more" if len(ids) > max_flips else ""
            lines.append(f"  - {name}: " + ", ".join(shown) + more)
    return lines + [""]


def _why(record: dict | None) -> str:
    if not record or record.get("status") in (None, "passed"):
        return ""
    detail = f": {record['detail']}" if record.get("detail") else ""
    return f" ({_cell((record['status'] + detail)[:60])})"


def _timings(base: Run, run: Run) -> list[str]:
    """Timing medians by name (summary.json `timings`, written by runs with --infill-timings)."""
    base_t = {t["name"]: t for t in base.summary.get("timings") or [] if isinstance(t, dict) and "name" in t}
    run_t = {t["name"]: t for t in run.summary.get("timings") or [] if isinstance(t, dict) and "name" in t}
    if not base_t and not run_t:
        return []
    lines = [f"### Timings ({run.label} vs {base.label})", ""]
    if not base_t or not run_t:
        missing = base.label if not base_t else run.label
        return lines + [f"Run {missing} has no timings (it ran without --infill-timings); nothing to compare.", ""]
    lines += ["Medians; machine-dependent: compare runs from one machine.", "",
              f"| name | {base.label} median | {run.label} median | {run.label} / {base.label} |",
              "|---|---:|---:|---:|"]
    for name in list(base_t) + [n for n in run_t if n not in base_t]:
        a = base_t.get(name, {}).get("median_s")
        b = run_t.get(name, {}).get("median_s")
        ratio = f"{b / a:.2f}×" if a and b else "—"
        lines.append(f"| {_cell(name)} | {_seconds(a)} | {_seconds(b)} | {ratio} |")
    return lines + [""]


def _seconds(value) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.3f} s" if value >= 1 else f"{1000 * value:.2f} ms"


def render(runs: list[Run], comparisons: list[Comparison], alpha: float, max_flips: int) -> str:
    lines = render_header(runs, alpha)
    for comparison in comparisons:
        lines += render_comparison(comparison, max_flips)
    return "\n".join(lines)
