"""The pytest-benchmark integration: JSON to the report's timing rows, the machine_info hook, and one real timing run
whose extra_info and report are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infill.pytest_plugin import timings as plugin_timings
from infill.reporting import timings

ROOT = Path(__file__).resolve().parent.parent


def benchmark_json() -> dict:
    """A hand-made document in pytest-benchmark's structure (only the fields the report reads, plus a few)."""
    def bench(name, group, median, iqr, mean, rounds, extra):
        return {"group": group, "name": name, "fullname": f"bench_tests/test_timings.py::{name}", "params": None,
                "param": None, "extra_info": extra, "options": {"disable_gc": False},
                "stats": {"min": median * 0.9, "max": median * 1.5, "mean": mean, "stddev": 0.01, "rounds": rounds,
                          "median": median, "iqr": iqr, "q1": median - iqr / 2, "q3": median + iqr / 2,
                          "iqr_outliers": 0, "stddev_outliers": 1, "outliers": "1;0", "ld15iqr": median * 0.9,
                          "hd15iqr": median * 1.5, "ops": 1 / mean, "total": mean * rounds, "iterations": 1}}
    return {"machine_info": {"node": "x", "gpu_names": []}, "commit_info": {}, "datetime": "2026-01-01T00:00:00",
            "version": "5.3.1", "benchmarks": [
                bench("test_ar_generation[tiny-qwen2-fim-humaneval-single-line]", "generation", 0.25, 0.02, 0.26, 5,
                      {"model": "tiny-qwen2-fim", "backend": "ar-fim", "benchmark": "humaneval-single-line",
                       "batch_size": 16, "max_new_tokens": 48, "device": "cpu", "dtype": "float32",
                       "attn_implementation": "sdpa", "samples_per_s": 64.0, "tokens_per_s": 400.0, "tokens": 100}),
                bench("test_grading_exact_match", "grading", 0.0015, 0.0001, 0.0016, 50,
                      {"backend": "exact-match", "samples_per_s": 10666.67})]}


def test_rows_from_benchmark_json():
    rows = timings.timings_from_benchmark_json(benchmark_json())
    assert [r["name"] for r in rows] == ["test_ar_generation[tiny-qwen2-fim-humaneval-single-line]",
                                         "test_grading_exact_match"]
    assert rows[0] == {"name": "test_ar_generation[tiny-qwen2-fim-humaneval-single-line]", "group": "generation",
                       "median_s": 0.25, "iqr_s": 0.02, "mean_s": 0.26, "rounds": 5,
                       "extra_info": benchmark_json()["benchmarks"][0]["extra_info"]}
    assert set(rows[1]) == {"name", "group", "median_s", "iqr_s", "mean_s", "rounds", "extra_info"}
    assert timings.timings_from_benchmark_json({"benchmarks": []}) == []


def test_markdown_table():
    lines = timings.render_timings_markdown(timings.timings_from_benchmark_json(benchmark_json()))
    assert lines[0] == "## Timings"
    header = next(i for i, line in enumerate(lines) if line.startswith("| name |"))
    assert lines[header] == "| name | median | IQR | rounds | samples/s | tokens/s | details |"
    ar, em = lines[header + 2], lines[header + 3]
    assert ar.startswith("| test_ar_generation[tiny-qwen2-fim-humaneval-single-line] | 250.00 ms | 20.00 ms | 5 "
                         "| 64.0 | 400.0 | model=tiny-qwen2-fim, backend=ar-fim, benchmark=humaneval-single-line, "
                         "batch_size=16, max_new_tokens=48, dtype=float32, device=cpu, attn_implementation=sdpa |")
    assert em == "| test_grading_exact_match | 1.50 ms | 100.0 µs | 50 | 10666.67 |  | backend=exact-match |"
    assert timings.render_timings_markdown([]) == []


def test_throughput_at_the_median():
    assert timings.throughput(0.5, 16, 200) == {"samples_per_s": 32.0, "tokens_per_s": 400.0}
    assert timings.throughput(0.5, 16) == {"samples_per_s": 32.0}
    assert timings.throughput(None, 16, 200) == {}            # nothing timed (--benchmark-disable)


def test_machine_info_hook_without_gpu(monkeypatch):
    import torch
    import transformers

    monkeypatch.setattr(plugin_timings.shutil, "which", lambda name: None)     # no nvidia-smi
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)                   # a CPU build (also on a GPU runner)
    machine_info = {"node": "x"}
    plugin_timings.pytest_benchmark_update_machine_info(config=None, machine_info=machine_info)
    assert machine_info["node"] == "x"
    assert machine_info["gpu_names"] == [] and machine_info["cuda_version"] is None
    assert machine_info["cuda_driver_version"] is None
    assert machine_info["torch_version"] == torch.__version__
    assert machine_info["transformers_version"] == transformers.__version__


def test_machine_info_reads_nvidia_smi(monkeypatch):
    monkeypatch.setattr(plugin_timings.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    output = "NVIDIA L4, 550.54.15\nNVIDIA L4, 550.54.15\n"
    monkeypatch.setattr(plugin_timings.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=output, stderr=""))
    assert plugin_timings.nvidia_smi_gpus() == (["NVIDIA L4", "NVIDIA L4"], "550.54.15")


@pytest.mark.slow
def test_timing_run_writes_extra_info_and_report(tmp_path):
    """One cheap timing (tiny AR model, one batch) through pytest-benchmark: its JSON carries the extra_info and the
    added machine_info, and the report written for the run has the Timings section and summary.json's list."""
    import torch

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "bench_tests/test_timings.py", "-p", "no:cacheprovider", "-q",
         "-k", "test_ar_generation and humaneval", "--infill-timings", "--infill-profile", "tiny",
         "--infill-models", "canonical", f"--benchmark-json={tmp_path / 'bench.json'}",
         "--infill-report-dir", str(tmp_path / "report")],
        # One torch thread: the figures do not matter here, and two threads on a shared 2-core CPU can be 10x slower.
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads((tmp_path / "bench.json").read_text())
    assert [b["name"] for b in data["benchmarks"]] == ["test_ar_generation[tiny-qwen2-fim-humaneval-single-line]"]
    info = data["benchmarks"][0]["extra_info"]
    assert {"model": "tiny-qwen2-fim", "backend": "ar-fim", "benchmark": "humaneval-single-line", "batch_size": 16,
            "max_new_tokens": 48, "dtype": "float32"}.items() <= info.items()
    assert info["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert info["attn_implementation"] and info["tokens"] > 0
    assert info["samples_per_s"] == pytest.approx(16 / data["benchmarks"][0]["stats"]["median"], rel=0.01)
    assert info["tokens_per_s"] == pytest.approx(info["tokens"] / data["benchmarks"][0]["stats"]["median"], rel=0.01)
    assert {"gpu_names", "cuda_version", "torch_version", "transformers_version"} <= set(data["machine_info"])

    report = (tmp_path / "report" / "report.md").read_text()
    assert "## Timings" in report and "test_ar_generation[tiny-qwen2-fim-humaneval-single-line]" in report
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["results"] == []
    assert [t["name"] for t in summary["timings"]] == ["test_ar_generation[tiny-qwen2-fim-humaneval-single-line]"]
    assert summary["timings"][0]["median_s"] == data["benchmarks"][0]["stats"]["median"]
