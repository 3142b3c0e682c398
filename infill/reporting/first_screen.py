"""report.md's first screen, "## At a glance": one headline sentence per benchmark (infill.reporting.headline), then
every row's scores as a model x metric table, real models first, then ensembles, then smoke rows, each group
labelled and every smoke-derived row carrying its caveat (infill.reporting.roles). The full per-row table with
counts, intervals and error statuses follows it in "## Results"."""

from __future__ import annotations

from infill.common.formatting import percent
from infill.reporting.roles import GROUP_LABELS, GROUP_ORDER, caveat_of, group_of, ordered_models


def _interval(row: dict) -> str:
    low, high = row["ci95"]
    return f"{percent(row['value'])} [{percent(low)}, {percent(high)}]"


def _samples(headline: dict) -> str:
    size = headline.get("dataset_size")
    return f"{headline['n']} of {size} samples" if size and size != headline["n"] else f"{headline['n']} samples"


def _comparison(headline: dict) -> str:
    runner_up, paired = headline["runner_up"], headline["paired"]
    if runner_up is None:
        return "the only real model here, nothing to compare it with"
    gap = f"{100 * headline['gap']:+.2f} pp over {runner_up['model']} ({percent(runner_up['value'])})"
    if paired is None:
        return f"{gap}; no sample graded for both, so no paired test"
    verdict = "distinguishable" if paired["distinguishable"] else "not distinguishable"
    p = "< 1e-300" if paired["mcnemar_p"] == 0 else f"{paired['mcnemar_p']:.2g}"
    return (f"{gap}, {verdict} at {headline['alpha']:g} (McNemar p = {p}; of {paired['n']} paired samples "
            f"{paired['only_best']} solved only by the best, {paired['only_runner_up']} only by the runner-up)")


def headline_sentence(headline: dict) -> str:
    start = f"**{headline['benchmark']}** ({headline['metric']}, {_samples(headline)}): "
    best, top = headline["best"], headline["top_row"]
    if best is None:
        text = start + "no real model in this run"
    else:
        text = (start + f"best real model **{best['model']}** {_interval(best)}" +
                (" (PARTIAL)" if best["partial"] else "") + f", {_comparison(headline)}")
    if top is not None:
        text += (f"; highest row of any kind: {top['model']} ({top['group']}) {percent(top['value'])}" +
                 (f", **{top['caveat']}**" if top["caveat"] else ""))
    return text + "."


def _cell(result: dict | None) -> str:
    if result is None:
        return "—"
    return f"{percent(result['value'])} ({result['passed']}/{result['n']})" + (" PARTIAL" if result.get("partial")
                                                                               else "")


def pivot_lines(results: list[dict], roles: dict[str, dict]) -> list[str]:
    """model x (benchmark, metric): real models, ensembles, smoke rows, each group under its label."""
    columns = list(dict.fromkeys((r["benchmark"], r["metric"]) for r in results))
    cells = {(r["model"], r["benchmark"], r["metric"]): r for r in results}
    lines = ["| model | " + " | ".join(f"{b} {m}" for b, m in columns) + " | caveat |",
             "|---|" + "---:|" * len(columns) + "---|"]
    models = ordered_models(dict.fromkeys(r["model"] for r in results), roles)
    for group in GROUP_ORDER:
        members = [m for m in models if group_of(m, roles) == group]
        if not members:
            continue
        lines.append(f"| **{GROUP_LABELS[group]}** |" + " |" * (len(columns) + 1))
        for model in members:
            lines.append(f"| {model} | " + " | ".join(_cell(cells.get((model, b, m))) for b, m in columns) +
                         f" | {caveat_of(model, roles)} |")
    return lines


def first_screen_lines(results: list[dict], first_screen: dict | None) -> list[str]:
    """The section, or nothing when the report has no first-screen data (a run without results)."""
    if not first_screen or not results:
        return []
    lines = ["## At a glance", ""]
    lines += [f"- {headline_sentence(h)}" for h in first_screen["headlines"]] + [""]
    lines += pivot_lines(results, first_screen["roles"])
    return lines + ["", "Score (passed/n) per row and metric; intervals, error counts and edit similarity in "
                        "Results, how the rows differ in Analyses.", ""]
