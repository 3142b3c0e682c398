"""SAFIM as a benchmark of the suite: its three splits and case ids, replay of SAFIM's own generations format, a
language without its toolchain left out and reported (never graded as failures), live smoke models end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infill.benchmarks import GROUPS, load_benchmark
from infill.grading.service import GradingService
from infill.grading.tools import GradingTools
from infill.run.session import BenchmarkRun
from infill.sources.canonical import CanonicalSource
from infill.sources.replay.files import load_replay

ROOT = Path(__file__).resolve().parents[1]


def test_three_splits_one_group_ids_carry_the_language():
    assert GROUPS["safim"] == ["safim-block", "safim-control", "safim-api"]
    sizes = {b: len(load_benchmark(b).samples) for b in GROUPS["safim"]}
    assert sizes == {"safim-block": 8781, "safim-control": 8629, "safim-api": 310}
    block = load_benchmark("safim-block").samples[0]
    assert block.sample_id == "block_completion_000000/java" and block.language == "java"
    assert "\r\n" in block.prefix                        # CRLF kept as in the data
    assert block.extra["eval_prompt"] == block.prefix + "{{completion}}" + block.suffix
    assert load_benchmark("safim-api").samples[0].sample_id == "api_completion_000000/cpp"


def test_safims_own_generations_format_replays(tmp_path):
    api = load_benchmark("safim-api").samples[:3]
    f = tmp_path / "api_generations.jsonl"                       # SAFIM's file: api tasks read block_completion_...
    f.write_text("".join(json.dumps({"task_id": s.sample_id.replace("api_", "block_").split("/")[0],
                                     "completion": s.canonical}) + "\n" for s in api))
    files = load_replay("m", f, "safim-api")
    assert files["safim-api"].completions == {s.sample_id: [s.canonical] for s in api}


def test_a_language_without_its_toolchain_is_left_out_and_reported(monkeypatch):
    from infill.grading.multilang import ExecPool
    from infill.grading.multilang.toolchains import Toolchain
    original = ExecPool.toolchain

    def without_mono(self, language):
        if language == "csharp":
            return Toolchain("csharp", False, "mcs not found", "", "")
        return original(self, language)
    monkeypatch.setattr(ExecPool, "toolchain", without_mono)
    grading = GradingService(GradingTools(), ["safim-block"])
    try:
        run = BenchmarkRun({"canonical": CanonicalSource()}, ["safim-block"], True, grading, None, limit=400)
        samples = run.samples("safim-block")
    finally:
        grading.close()
    first = load_benchmark("safim-block").samples[:400]
    assert [s.sample_id for s in samples] == [s.sample_id for s in first if s.language != "csharp"]
    skipped = sum(s.language == "csharp" for s in first)
    assert skipped and run.warnings == [f"safim-block: {skipped} samples not graded here (csharp: mcs not found); "
                                        f"install the toolchain to grade them (README, SAFIM)"]
    assert run.warnings[0] in run.notes


@pytest.mark.slow
def test_live_smoke_models_run_safim_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider", "-k",
                           "safim", "--infill-models", "tiny-qwen2-fim,ensemble", "--infill-limit", "4",
                           "--infill-report-dir", str(tmp_path / "report"), "--infill-cache-dir", str(tmp_path / "c")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    rows = {(r["benchmark"], r["model"]) for r in summary["results"]}
    for split in ("block", "control", "api"):
        assert (f"safim-{split}", "tiny-qwen2-fim") in rows and (f"safim-{split}", "ensemble/lowest-perplexity") in rows
    assert all(r["by_language"] for r in summary["results"])
    assert "safim_syntax" in summary["rules"]["postprocessing"] or "safim-syntax" in summary["rules"]["postprocessing"]
