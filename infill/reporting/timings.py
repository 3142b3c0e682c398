"""Timing rows (pytest-benchmark figures) as summary.json and report.md show them: pure functions of
pytest-benchmark's JSON structure."""

from __future__ import annotations

# extra_info keys shown in the report's table (the rest stays in summary.json), in this order
KEY_DETAILS = ("model", "backend", "scorer", "benchmark", "batch_size", "steps", "canvas_tokens_max",
               "max_new_tokens", "dtype", "device", "attn_implementation", "isolation", "workers")


def throughput(median_s: float | None, samples: int, tokens: int | None = None) -> dict:
    """samples/s and tokens/s of one timed batch at its median time (empty when nothing was timed, e.g. under
    --benchmark-disable)."""
    if not median_s:
        return {}
    rates = {"samples_per_s": round(samples / median_s, 2)}
    if tokens is not None:
        rates["tokens_per_s"] = round(tokens / median_s, 1)
    return rates


def timings_from_benchmark_json(data: dict) -> list[dict]:
    """Rows {name, group, median_s, iqr_s, mean_s, rounds, extra_info} from a pytest-benchmark JSON document
    (`--benchmark-json`, a saved run, or the session's benchmarks as dicts), in the document's order."""
    rows = []
    for bench in data.get("benchmarks", []):
        stats = bench["stats"]
        rows.append({"name": bench["name"], "group": bench.get("group"), "median_s": stats["median"],
                     "iqr_s": stats["iqr"], "mean_s": stats["mean"], "rounds": stats["rounds"],
                     "extra_info": dict(bench.get("extra_info") or {})})
    return rows


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def render_timings_markdown(timings: list[dict]) -> list[str]:
    """The report's "## Timings" section (no lines when there are no timings)."""
    if not timings:
        return []
    lines = ["## Timings", "",
             "pytest-benchmark, one fixed batch per row (`--infill-timings`); rates are taken at the median. "
             "Machine-dependent: compare rows of one run, or runs on one machine (`--benchmark-compare`).", "",
             "| name | median | IQR | rounds | samples/s | tokens/s | details |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in timings:
        info = row["extra_info"]
        details = ", ".join(f"{key}={info[key]}" for key in KEY_DETAILS if info.get(key) not in (None, ""))
        lines.append(f"| {row['name']} | {format_seconds(row['median_s'])} | {format_seconds(row['iqr_s'])} "
                     f"| {row['rounds']} | {info.get('samples_per_s', '')} | {info.get('tokens_per_s', '')} "
                     f"| {details} |")
    return lines
