"""pytest-benchmark integration: what the timing figures depend on, and this run's timing rows.

- `pytest_benchmark_update_machine_info`: a pytest-benchmark hook (registered by the plugin only when
  pytest-benchmark is installed) that adds the GPU names, CUDA and driver versions and the torch/transformers
  versions to the `machine_info` of every saved or compared benchmark file, so a baseline says on what it ran.
- `session_timings`: the rows of summary.json's `timings` read from the running pytest-benchmark session (the
  report is written before or after pytest-benchmark's own files depending on hook order, so the in-memory list is
  the source); infill.reporting.timings turns them into report.md's "## Timings".
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from infill.reporting.timings import timings_from_benchmark_json


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


def session_timings(config) -> list[dict]:
    """This run's timing rows, read from pytest-benchmark's session (empty without pytest-benchmark, under
    xdist where it disables itself, or when no timing ran)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return []
    finished = [bench for bench in session.benchmarks if bench and not bench.has_error]   # empty stats: not run
    return timings_from_benchmark_json({"benchmarks": [bench.as_dict(include_data=False) for bench in finished]})


