"""Compute every analysis once and write its files beside report.md: PNG figures and the per-sample ensemble
files. Returns the JSON-able dict that goes into summary.json under "analyses" and that render.py turns into
report.md's "## Analyses" section.

The analyses explain the results; they must never cost a run its results. An error while analysing is
therefore recorded in the dict (and shown in report.md) instead of stopping the report.
"""

from __future__ import annotations

from pathlib import Path

from infill.benchmarks import BENCHMARKS
from infill.common.files import write_atomic
from infill.common.jsonable import to_jsonable
from infill.common.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from infill.reporting.analysis.agreement import EXCLUDED_MODELS, multi_model_analysis
from infill.reporting.analysis.ensemble import (
    ensemble_analysis,
    ensemble_groups,
    member_candidates,
    members_of,
    unique_samples,
)
from infill.reporting.analysis.colours import model_colours
from infill.reporting.analysis.noise import noise_analysis
from infill.reporting.analysis.published import ensemble_files, sanitize
from infill.reporting.roles import model_roles

# v1: shared-sample intersection, exact McNemar, Pearson on log(perplexity) over finite values, ROC-AUC of
# -perplexity with unscorable ranked lowest, percentile bootstrap (1000 resamples, fixed seed).
# v2: v1's numbers unchanged, plus complementarity among the real models and the pairs report.md shows (real
# models among themselves, each ensemble row against its members), read from the sources (infill.reporting.roles).
ANALYSIS_VERSION = "analysis-v2"

RULES = {
    "summary": ("multi-model analyses use the samples every model was graded on; the ORACLE counts a sample if "
                "any model is correct (an upper bound; ensemble rows that are oracles themselves are left out of "
                "it and of the best single model); \"solved only by\" and the ORACLE shown are among the real "
                "models (not ensembles, which copy their members' completions, nor smoke rows); pairwise tables "
                "show real models among themselves and each ensemble row against its members (every pair is in "
                "summary.json); McNemar p-values are exact two-sided binomial tests on "
                "discordant samples; Pearson r is between log(perplexity) and correctness over finite "
                "perplexities; ROC-AUC uses -perplexity as the score with unscorable candidates ranked lowest, "
                f"its 95% interval a percentile bootstrap ({BOOTSTRAP_RESAMPLES} resamples, seed "
                f"{BOOTSTRAP_SEED}); pass-rate intervals are 95% Wilson intervals."),
    "excluded_models": list(EXCLUDED_MODELS),
    "pearson": "log(perplexity) vs correct (1/0), finite perplexities only",
    "roc_auc": "score -perplexity, inf ranked lowest, ties count 1/2",
    "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "interval": "percentile 2.5-97.5"},
    "mcnemar": "exact two-sided binomial on discordant pairs",
}


def backends_from(context: dict | None) -> dict[str, str]:
    """model -> registry backend ("diffusion" / "ar-fim") for sources whose provenance states it."""
    return {s["model"]: s["model_backend"] for s in (context or {}).get("sources", []) if s.get("model_backend")}


def by_benchmark(records: list[dict]) -> dict[str, list[dict]]:
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["benchmark"], []).append(record)
    return {b: groups[b] for b in sorted(groups, key=lambda b: (order.get(b, len(order)), b))}


def roles_for(records: list[dict], context: dict | None) -> dict[str, dict]:
    """What each row is (infill.reporting.roles), from the run's sources, else from the records' source kinds."""
    return model_roles((context or {}).get("sources", []),
                       {r["model"]: r["source"] for r in records if "source" in r})


def compute_analyses(records: list[dict], roles: dict[str, dict] | None = None) -> dict:
    """Every analysis of every benchmark, as plain (not yet rounded) Python values, with the report's colour of
    every model (the same in every figure)."""
    roles = roles if roles is not None else roles_for(records, None)
    benchmarks = {}
    for benchmark, rows in by_benchmark(records).items():
        benchmarks[benchmark] = {
            "models": multi_model_analysis(rows, roles),
            "ensembles": {name: ensemble_analysis(group) for name, group in ensemble_groups(rows).items()},
        }
        noise = noise_analysis(rows)
        if noise["models"]:                         # n samples per task: the seed-noise analysis
            benchmarks[benchmark]["noise"] = noise
    drawn = {r["model"] for r in records if r["model"] not in EXCLUDED_MODELS}
    drawn |= {m for group in (ensemble_groups(records).values()) for m in members_of(group)}  # members without rows
    colours = model_colours(drawn, roles)
    return {"version": ANALYSIS_VERSION, "rules": RULES, "benchmarks": benchmarks, "colours": colours}


def plot_files(records: list[dict], analyses: dict) -> list[tuple[dict, callable]]:
    """(plot entry, function drawing its PNG bytes) for every figure; drawing is deferred so that the caller
    decides whether to draw at all."""
    from infill.reporting.analysis import plots
    colours = analyses["colours"]
    planned = []
    grouped = by_benchmark(records)
    for benchmark, info in analyses["benchmarks"].items():
        stem = f"analysis-{sanitize(benchmark)}"
        planned.append(({"benchmark": benchmark, "kind": "pass-rates", "file": f"{stem}-pass-rates.png",
                         "title": f"{benchmark}: pass rates with 95% Wilson intervals"},
                        lambda b=benchmark, m=info["models"]: plots.pass_rates_png(b, m, colours)))
        groups = ensemble_groups(grouped[benchmark])
        for name, ens in info["ensembles"].items():
            samples = unique_samples(groups[name])
            per_member = {m: member_candidates(samples, m) for m in members_of(groups[name])}
            planned.append(({"benchmark": benchmark, "ensemble": name, "kind": "perplexity",
                             "file": f"{stem}-{sanitize(name)}-perplexity.png",
                             "title": f"{benchmark}: {name} perplexity of correct vs incorrect candidates"},
                            lambda b=benchmark, n=name, p=per_member: plots.perplexity_png(b, n, p, colours)))
            planned.append(({"benchmark": benchmark, "ensemble": name, "kind": "selection",
                             "file": f"{stem}-{sanitize(name)}-selection.png",
                             "title": f"{benchmark}: {name} selection by member and task type"},
                            lambda b=benchmark, n=name, e=ens: plots.selection_png(b, n, e, colours)))
    return planned


def write_analyses(directory: Path, records: list[dict], context: dict | None = None,
                   roles: dict[str, dict] | None = None) -> dict:
    """Compute, write the PNGs and ensemble files into `directory`, return the JSON-able analyses. A figure or
    file that fails is listed under "errors" and the rest still appear."""
    try:
        analyses = compute_analyses(records, roles if roles is not None else roles_for(records, context))
    except Exception as exc:    # noqa: BLE001 - see the module docstring: recorded, shown, never fatal
        return {"version": ANALYSIS_VERSION, "error": f"{type(exc).__name__}: {exc}"}
    errors, written = [], []
    try:
        for entry, draw in plot_files(records, analyses):
            try:
                write_atomic(directory / entry["file"], draw())
                written.append(entry)
            except Exception as exc:    # noqa: BLE001
                errors.append(f"{entry['file']}: {type(exc).__name__}: {exc}")
    except Exception as exc:    # noqa: BLE001 - e.g. matplotlib not installed
        errors.append(f"plots: {type(exc).__name__}: {exc}")
    analyses["plots"] = written
    try:
        files = ensemble_files(records, backends_from(context))
        for name, text in files.items():
            write_atomic(directory / name, text)
        analyses["ensemble_files"] = list(files)
    except Exception as exc:    # noqa: BLE001
        analyses["ensemble_files"] = []
        errors.append(f"ensemble files: {type(exc).__name__}: {exc}")
    analyses["errors"] = errors
    return to_jsonable(analyses)
