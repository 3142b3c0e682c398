"""pytest-benchmark integration: what the timing figures depend on, and the report's timing table.

- `pytest_benchmark_update_machine_info`: a pytest-benchmark hook (registered by `infill.plugin` only when
  pytest-benchmark is installed) that adds the GPU names, CUDA and driver versions and the torch/transformers
  versions to the `machine_info` of every saved or compared benchmark file, so a baseline says on what it ran.
- `timings_from_benchmark_json` / `render_timings_markdown`: pure functions from pytest-benchmark's JSON
  structure to the rows of summary.json's `timings` and report.md's "## Timings".
- `session_timings`: the same rows read from the running pytest-benchmark session (the report is written
  before or after pytest-benchmark's own files depending on hook order, so the in-memory list is the source).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

# extra_info keys shown in the report's table (the rest stays in summary.json), in this order
KEY_DETAILS = ("model", "backend", "scorer", "benchmark", "batch_size", "steps", "canvas_tokens_max",
               "max_new_tokens", "dtype", "device", "attn_implementation", "isolation", "workers")


def nvidia_smi_gpus() -> tuple[list[str], str | None]:
    """(GPU names, driver version) from nvidia-smi; ([], None) when it is absent or fails."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return [], None
    try:
        out = subprocess.run([binary, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return [], None
    rows = [[part.strip() for part in line.split(",")] for line in out.splitlines() if line.strip()]
    return [row[0] for row in rows], (rows[0][1] if rows and len(rows[0]) > 1 else None)


def accelerator_info() -> dict:
    """GPU and library versions: what a timing depends on beyond pytest-benchmark's CPU/Python fields."""
    import torch
    import transformers

    names, driver = nvidia_smi_gpus()
    if not names and torch.cuda.is_available():          # no nvidia-smi in the container: ask torch
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"gpu_names": names, "cuda_version": torch.version.cuda, "cuda_driver_version": driver,
            "torch_version": torch.__version__, "transformers_version": transformers.__version__,
            "torch_threads": torch.get_num_threads()}


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    machine_info.update(accelerator_info())


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


def session_timings(config) -> list[dict]:
    """This run's timing rows, read from pytest-benchmark's session (empty without pytest-benchmark, under
    xdist where it disables itself, or when no timing ran)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return []
    finished = [bench for bench in session.benchmarks if bench and not bench.has_error]   # empty stats: not run
    return timings_from_benchmark_json({"benchmarks": [bench.as_dict(include_data=False) for bench in finished]})


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
