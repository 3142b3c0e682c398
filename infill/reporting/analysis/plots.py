"""PNG figures for report.md, drawn with matplotlib's Agg canvas directly (no pyplot: no global state, no
display). Output is deterministic: fixed size and dpi, no timestamp or software tag in the PNG metadata, so the
same analyses give the same bytes.

Each `*_png` function returns PNG bytes (the `*_figure` functions the figure behind it), or draws a labelled
placeholder panel when there is nothing to plot (all perplexities inf, no samples), so a degenerate run still has
every linked file. Every function takes the report's colour map (infill.reporting.analysis.colours): a model has
the same colour in every figure.
"""

from __future__ import annotations

import io
import math

import numpy as np

from infill.reporting.analysis.colours import ORACLE_COLOUR
from infill.reporting.roles import SMOKE, ordered_models

DPI = 100
FALLBACK_COLOUR = "#7f7f7f"                 # a model the colour map lacks (never in a report: all models are mapped)
PNG_METADATA = {"Software": None}          # matplotlib writes its version here by default


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


def _empty(axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#555555")
    axes.set_xticks([])
    axes.set_yticks([])


def pass_rates_png(benchmark: str, multi_model: dict, colours: dict[str, str]) -> bytes:
    return _png(pass_rates_figure(benchmark, multi_model, colours))


def pass_rates_figure(benchmark: str, multi_model: dict, colours: dict[str, str]):
    """Per model, in report order (real models, ensembles, smoke rows), in its colour of the report: pass rate on all
    its graded samples with the 95% Wilson interval; the best-of-N oracle on the shared samples and any ORACLE
    ensemble row drawn hatched, since they are upper bounds and not models."""
    groups = multi_model.get("groups", {})
    models = ordered_models(multi_model["models"], {m: {"group": g} for m, g in groups.items()})
    oracle_rows = set(multi_model.get("oracle_rows", []))
    labels = [m + (" (ORACLE)" if m in oracle_rows else "") + (" (smoke)" if groups.get(m) == SMOKE else "")
              for m in models] + ["ORACLE best-of-N (shared samples)"]
    stats = [multi_model["per_model"][m]["all_samples"] for m in models] + [multi_model["oracle"]]
    figure = _figure(8, 1.2 + 0.45 * len(labels))
    axes = figure.add_subplot(1, 1, 1)
    if not models:
        _empty(axes, "no models")
    else:
        values = [s["rate"] or 0.0 for s in stats]
        low = [v - s["ci95"][0] for v, s in zip(values, stats)]
        high = [s["ci95"][1] - v for v, s in zip(values, stats)]
        positions = np.arange(len(labels))[::-1]
        bars = axes.barh(positions, values, xerr=[np.clip(low, 0, None), np.clip(high, 0, None)], capsize=3,
                         color=[colours.get(m, FALLBACK_COLOUR) for m in models] + [ORACLE_COLOUR],
                         edgecolor="#333333")
        for bar, model in zip(bars, models + ["best-of-N"]):
            bar.set_gid(model)          # names the bar in the figure (and its SVG), for readers and tests
            if model in oracle_rows or model == "best-of-N":
                bar.set_hatch("//")
        for position, value, s in zip(positions, values, stats):
            axes.text(1.03, position, f"{100 * value:.1f}% (n={s['n']})", va="center", fontsize=8)
        axes.set_yticks(positions, labels, fontsize=8)
        axes.set_xlim(0, 1.3)
        axes.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        axes.set_xlabel("pass rate (correct / graded), 95% Wilson interval")
    axes.set_title(f"{benchmark}: pass rates", fontsize=10)
    figure.tight_layout()
    return figure


def perplexity_png(benchmark: str, ensemble: str, per_member: dict[str, tuple[list[float], list[bool]]],
                   colours: dict[str, str]) -> bytes:
    """Per member: normalised histograms of log10 perplexity for its correct and its incorrect candidates (finite
    values; the count of unscorable candidates is in the panel title). Green and red mean correct and incorrect;
    the panel's frame has the member's colour of the report."""
    members = list(per_member)
    figure = _figure(4.2 * max(1, len(members)), 3.4)
    for i, member in enumerate(members):
        axes = figure.add_subplot(1, max(1, len(members)), i + 1)
        perplexities, correct = per_member[member]
        logs = [(math.log10(p), c) for p, c in zip(perplexities, correct) if math.isfinite(p) and p > 0]
        unscorable = len(perplexities) - len(logs)
        axes.set_title(f"{member}\n({unscorable} unscorable)" if unscorable else member, fontsize=8)
        for spine in axes.spines.values():
            spine.set_edgecolor(colours.get(member, FALLBACK_COLOUR))
            spine.set_linewidth(2)
        if not logs:
            _empty(axes, "no finite perplexities")
            continue
        values = [v for v, _ in logs]
        low, high = min(values), max(values)
        if low == high:
            low, high = low - 0.5, high + 0.5
        bins = np.linspace(low, high, 21)
        for is_correct, colour, label in ((True, "#2ca02c", "correct"), (False, "#d62728", "incorrect")):
            chosen = [v for v, c in logs if c == is_correct]
            if chosen:       # density: the classes differ in size, the shapes are what is compared
                axes.hist(chosen, bins=bins, density=True, alpha=0.6, color=colour, label=f"{label} (n={len(chosen)})")
        axes.set_xlabel("log10 perplexity")
        axes.set_ylabel("density")
        axes.legend(fontsize=7)
    figure.suptitle(f"{benchmark}: {ensemble} candidate perplexity, correct vs incorrect", fontsize=10)
    figure.tight_layout()
    return _png(figure)


def selection_png(benchmark: str, ensemble: str, analysis: dict, colours: dict[str, str]) -> bytes:
    return _png(selection_figure(benchmark, ensemble, analysis, colours))


def selection_figure(benchmark: str, ensemble: str, analysis: dict, colours: dict[str, str]):
    """Per ensemble row: the share of samples whose kept completion came from each member (in the member's colour
    of the report), overall and per task type (stacked bars)."""
    members = analysis["members"]
    rows = analysis["rows"]
    figure = _figure(max(5.0, 1.5 + 1.2 * max((len(r["selection"]["by_task_type"]) + 1 for r in rows.values()),
                                               default=1)), 2.2 + 2.4 * max(1, len(rows)))
    if not rows:
        _empty(figure.add_subplot(1, 1, 1), "no ensemble rows")
    for i, (model, row) in enumerate(rows.items()):
        axes = figure.add_subplot(max(1, len(rows)), 1, i + 1)
        groups = [("all", row["n"], row["selection"]["overall"])] + [
            (task, info["n"], info["members"]) for task, info in row["selection"]["by_task_type"].items()]
        bottoms = np.zeros(len(groups))
        for member in members:
            shares = np.array([(counts[member]["share"] or 0.0) for _, _, counts in groups])
            bars = axes.bar(range(len(groups)), shares, bottom=bottoms, color=colours.get(member, FALLBACK_COLOUR),
                            label=member)
            for bar in bars:
                bar.set_gid(member)
            bottoms += shares
        axes.set_xticks(range(len(groups)), [f"{name}\n(n={n})" for name, n, _ in groups], fontsize=7)
        axes.set_ylim(0, 1.05)
        axes.set_ylabel("share kept")
        axes.set_title(model + (" (ORACLE)" if row["oracle"] else ""), fontsize=9)
        axes.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"{benchmark}: {ensemble} selection by member", fontsize=10)
    figure.tight_layout()
    return figure
