"""Sharding (--shard I/N), merging shard reports (infill.reporting.merge), and one GPU per xdist worker (infill.pytest_plugin.devices).

The end-to-end check: two shard runs of the tiny live model, merged, give the unsharded run's summary.json
(all but the `run` section) and samples.jsonl (all but the grading times)."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from infill.benchmarks import load_benchmark
from infill.errors import InfillUsageError
from infill.grading.service import GradingService
from infill.grading.tools import GradingTools
from infill.grading.verdict import Verdict
from infill.pytest_plugin.devices import pin_worker_to_gpu, worker_device
from infill.reporting.merge import merge_shards
from infill.reporting.merge.cli import main as merge_main
from infill.reporting.records import make_record
from infill.reporting.report import SCHEMA_VERSION
from infill.reporting.summary import summarize
from infill.run.session import BenchmarkRun, worker_groups
from infill.run.shard import Shard, parse_shard, shard_number
from infill.sources.canonical import CanonicalSource

ROOT = Path(__file__).resolve().parents[1]
BENCH = "humaneval-random-span-light"      # 164 samples: small enough to fake shard reports from
PROVENANCE = {"git": {"commit": "abc", "dirty": False}, "packages": {"torch": "2.13.0"},
              "machine": {"platform": "test", "cpu_count": 2, "python": "3.11", "gpu": None}}


# ---- parsing and assignment -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("1/2", Shard(1, 2)), (" 4 / 4 ", Shard(4, 4)), ("1/1", Shard(1, 1)),
                                            (None, None), ("", None)])
def test_shard_parses_i_of_n(text, expected):
    assert parse_shard(text) == expected
    if expected:
        assert str(expected) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("text", ["3/2", "0/2", "a/b", "1/0", "2", "-1/2", "1/2/3", "1.5/2"])
def test_bad_shard_values_are_one_line_usage_errors(text):
    with pytest.raises(InfillUsageError) as error:
        parse_shard(text)
    assert "--shard" in str(error.value) and "\n" not in str(error.value)


def test_assignment_is_stable_across_processes():
    """sha256, not Python's salted hash(): pinned values, and a fresh interpreter with another hash seed agrees."""
    assert shard_number("humaneval-single-line", "SingleLineInfilling/HumanEval/0/L0", 4) == 1
    assert shard_number("humaneval-single-line", "SingleLineInfilling/HumanEval/0/L0", 7) == \
        shard_number("humaneval-single-line", "SingleLineInfilling/HumanEval/0/L0", 7)
    code = ("from infill.run.shard import shard_number; print([shard_number('b', f'id{i}', 5) for i in range(50)])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                              env={"PYTHONHASHSEED": seed}, check=True).stdout for seed in ("1", "2")}
    assert outputs == {str([shard_number("b", f"id{i}", 5) for i in range(50)]) + "\n"}


@pytest.mark.parametrize("count", [2, 4, 7])
def test_shards_are_disjoint_covering_and_roughly_balanced(count):
    samples = load_benchmark("humaneval-single-line").samples
    holders = [[Shard(i, count).holds(s.benchmark, s.sample_id) for i in range(1, count + 1)] for s in samples]
    assert all(sum(row) == 1 for row in holders)                      # each sample in exactly one shard
    sizes = Counter(row.index(True) for row in holders)
    mean = len(samples) / count
    assert all(abs(sizes[i] - mean) < 0.2 * mean for i in range(count)), sizes


class FakeSource(CanonicalSource):
    def __init__(self, model):
        self.model = model


def session_with(limit, shard, models=("a", "b/oracle")):
    benchmarks = [BENCH, "humaneval-single-line"]
    return BenchmarkRun({m: FakeSource(m) for m in models}, benchmarks, True,
                        GradingService(GradingTools(), benchmarks), None, limit, shard)


def test_shard_splits_what_the_limit_left_and_every_model_sees_the_same_subset():
    limited = session_with(100, None).samples("humaneval-single-line")
    parts = [session_with(100, Shard(i, 3)).samples("humaneval-single-line") for i in (1, 2, 3)]
    assert sorted(s.index for part in parts for s in part) == [s.index for s in limited]   # = the first 100
    plan = session_with(100, Shard(2, 3)).plan("humaneval-infill")
    by_benchmark = {}
    for model, benchmark, samples in plan:
        by_benchmark.setdefault(benchmark, set()).add(tuple(s.sample_id for s in samples))
    assert {m for m, _, _ in plan} == {"a", "b/oracle"}
    assert all(len(subsets) == 1 for subsets in by_benchmark.values())                   # one subset per benchmark


def test_bad_shard_option_stops_the_run_with_one_line():
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "--infill-models", "canonical", "--shard", "3/2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "infill-bench: error: --shard '3/2': shards are numbered 1 to 2" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# ---- one GPU per xdist worker ---------------------------------------------------------------------------------

@pytest.mark.parametrize("worker, visible, gpus, expected", [
    ("gw0", None, 4, "0"), ("gw3", None, 4, "3"), ("gw5", None, 4, "1"),        # K mod the GPU count
    ("gw1", "2,3", 8, "3"), ("gw2", "2,3", 8, "2"),                              # the user's list, K-th entry
    ("gw1", "GPU-aaaa, GPU-bbbb", 0, "GPU-bbbb"),                                # UUIDs kept verbatim
    ("gw0", "", 4, None), ("gw0", "-1", 4, None), ("gw1", "1,-1,2", 4, "1"),     # hidden GPUs; CUDA stops at -1
    ("gw0", None, 0, None),                                                      # no GPU: leave it alone
    ("master", None, 4, None), ("", None, 4, None),                              # not an xdist worker
])
def test_worker_device(worker, visible, gpus, expected):
    assert worker_device(worker, visible, gpus) == expected


def test_pin_sets_cuda_visible_devices_only_with_a_gpu(monkeypatch):
    monkeypatch.setattr("infill.pytest_plugin.devices.gpu_count", lambda: 2)
    environ = {}
    assert pin_worker_to_gpu("gw3", environ) == "1" and environ == {"CUDA_VISIBLE_DEVICES": "1"}
    environ = {"CUDA_VISIBLE_DEVICES": "5,6,7"}
    assert pin_worker_to_gpu("gw1", environ) == "6" and environ == {"CUDA_VISIBLE_DEVICES": "6"}
    monkeypatch.setattr("infill.pytest_plugin.devices.gpu_count", lambda: 0)
    environ = {}
    assert pin_worker_to_gpu("gw0", environ) is None and environ == {}


def test_worker_group_is_the_model_root_and_an_ensemble_joins_its_members():
    from types import SimpleNamespace

    plain = SimpleNamespace(members=())
    row = lambda *members: SimpleNamespace(members=members)
    sources = {"tiny-qwen2-diffusion/oracle": plain, "tiny-qwen2-diffusion/fixed:8": plain,
               "tiny-qwen2-fim": plain, "other": plain, "rec-a": plain, "rec-b": plain,
               "ens/lowest-perplexity": row("tiny-qwen2-diffusion/oracle", "tiny-qwen2-fim"),
               "ens/routed": row("tiny-qwen2-diffusion/oracle", "tiny-qwen2-fim"),
               "rec/lowest-perplexity": row("rec-a", "rec-b")}
    groups = worker_groups(sources)
    assert len({groups[m] for m in ["tiny-qwen2-diffusion/oracle", "tiny-qwen2-diffusion/fixed:8", "tiny-qwen2-fim",
                                    "ens/lowest-perplexity", "ens/routed"]}) == 1
    assert groups["rec/lowest-perplexity"] == groups["rec-a"] == groups["rec-b"] != groups["other"]
    assert groups["other"] == "other"


def test_a_case_node_id_names_its_model_for_the_worker_scheduler():
    from infill.pytest_plugin.scheduling import case_model

    models = ["tiny-qwen2-fim", "tiny-qwen2-fim-large", "tiny-qwen2-diffusion/oracle", "ens/lowest-perplexity"]
    test = "bench_tests/test_humaneval_infill.py::test_humaneval_infill"
    assert case_model(f"{test}[tiny-qwen2-fim-SingleLineInfilling/HumanEval/0/L1]", models) == "tiny-qwen2-fim"
    assert case_model(f"{test}[tiny-qwen2-fim-large-SingleLineInfilling/HumanEval/0/L1]", models) == \
        "tiny-qwen2-fim-large"                                  # the longest name wins
    assert case_model(f"{test}[tiny-qwen2-diffusion/oracle-py/75_x/L24]", models) == "tiny-qwen2-diffusion/oracle"
    assert case_model(f"{test}[ens/lowest-perplexity-SingleLineInfilling/HumanEval/3/L0]", models) == \
        "ens/lowest-perplexity"
    assert case_model(f"{test}[unknown-SingleLineInfilling/HumanEval/0/L1]", models) is None
    assert case_model("tests/test_stats.py::test_wilson", models) is None


# ---- merge: fake shard reports --------------------------------------------------------------------------------

def fake_records(model="m"):
    data = load_benchmark(BENCH)
    return [make_record(model, "replay", s, data.sha256, s.canonical if i % 3 else "x",
                        Verdict(bool(i % 3), "passed" if i % 3 else "failed", metrics={"isolation": "rlimits"}))
            for i, s in enumerate(data.samples)]


def write_shard(directory: Path, shard: Shard, records: list[dict], **changes) -> Path:
    directory.mkdir(parents=True)
    mine = [r for r in records if shard.holds(r["benchmark"], r["sample_id"])]
    sha = records[0]["data_sha256"]
    summary = {"schema_version": SCHEMA_VERSION, "complete": True, "results": summarize(mine),
               "selection": {"models": ["m"], "profile": "tiny", "benchmarks": [BENCH], "limit": None,
                             "data_sha256": {BENCH: sha}},
               "rules": {**GradingService(GradingTools(), ["humaneval-single-line", "santacoder-fim-py"]).rules(), "isolation": "rlimits", "postprocessing": "m: none"},
               "notes": ["a note"],
               "sources": [{"model": "m", "kind": "replay", "location": str(directory)}],
               "provenance": PROVENANCE,
               "run": {"command": f"pytest --shard {shard}", "started": "2026-01-01T00:00:00+00:00",
                       "finished": f"2026-01-01T00:0{shard.index}:00+00:00", "seconds": 60.0 * shard.index,
                       "shard": str(shard)},
               "timings": [{"name": "t", "median_s": 1.0, "iqr_s": 0.0, "rounds": 1, "extra_info": {}}]}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            summary[section][field] = value
        else:
            summary[section] = value
    (directory / "summary.json").write_text(json.dumps(summary))
    (directory / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mine))
    return directory


@pytest.fixture
def records():
    return fake_records()


@pytest.fixture
def two_shards(tmp_path, records):
    return [write_shard(tmp_path / f"s{i}", Shard(i, 2), records) for i in (1, 2)]


def merge_error(dirs, out) -> str:
    with pytest.raises(InfillUsageError) as error:
        merge_shards(dirs, out, "merge")
    message = str(error.value)
    assert "\n" not in message
    return message


def test_merge_recomputes_results_and_combines_the_rest(two_shards, tmp_path, records):
    results, context = merge_shards(two_shards, tmp_path / "out", "merge")
    assert results == summarize(records)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complete"] is True and summary["notes"] == ["a note"]
    assert [s["shard"] for s in summary["run"]["shards"]] == ["1/2", "2/2"]
    assert summary["run"]["seconds"] == 120.0                    # first start to last finish
    assert [t["shard"] for t in summary["timings"]] == ["1/2", "2/2"]
    assert "gates" not in summary
    assert len((tmp_path / "out" / "samples.jsonl").read_text().splitlines()) == len(records)


def test_merge_needs_every_shard_once(two_shards, tmp_path, records):
    assert "shard 2/2 missing" in merge_error(two_shards[:1], tmp_path / "out")
    copy = write_shard(tmp_path / "copy", Shard(1, 2), records)
    assert "shard 1/2 is given twice" in merge_error([*two_shards, copy], tmp_path / "out")
    third = write_shard(tmp_path / "third", Shard(1, 3), records)
    assert "different splits" in merge_error([*two_shards, third], tmp_path / "out")
    assert "one of the shard folders" in merge_error(two_shards, two_shards[0])


def test_merge_refuses_shards_of_different_runs(tmp_path, records):
    one = write_shard(tmp_path / "one", Shard(1, 2), records)
    other_data = write_shard(tmp_path / "data", Shard(2, 2), records, selection__data_sha256={BENCH: "f" * 64})
    assert "graded different data for humaneval-random-span-light" in merge_error([one, other_data], tmp_path / "o")
    limit = write_shard(tmp_path / "limit", Shard(2, 2), records, selection__limit=100)
    assert "differ in selection limit: null vs 100" in merge_error([one, limit], tmp_path / "o")
    commit = write_shard(tmp_path / "commit", Shard(2, 2), records,
                         provenance={**PROVENANCE, "git": {"commit": "def", "dirty": False}})
    assert "differ in code commit" in merge_error([one, commit], tmp_path / "o")
    source = write_shard(tmp_path / "src", Shard(2, 2), records, sources=[{"model": "m", "kind": "live"}])
    assert "model m's kind" in merge_error([one, source], tmp_path / "o")


def test_merge_refuses_misplaced_duplicate_or_foreign_records(tmp_path, records):
    one = write_shard(tmp_path / "one", Shard(1, 2), records)
    two = write_shard(tmp_path / "two", Shard(2, 2), records)
    stray = next(r for r in records if Shard(1, 2).holds(r["benchmark"], r["sample_id"]))
    with open(two / "samples.jsonl", "a") as handle:
        handle.write(json.dumps(stray) + "\n")
    assert "which belongs to shard 1/2" in merge_error([one, two], tmp_path / "o")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "summary.json").write_text(json.dumps({"run": {"command": "pytest"}}))
    (tmp_path / "plain" / "samples.jsonl").write_text("")
    assert "not a shard" in merge_error([one, tmp_path / "plain"], tmp_path / "o")
    assert "no such folder" in merge_error([one, tmp_path / "nowhere"], tmp_path / "o")
    (tmp_path / "empty").mkdir()
    assert "no summary.json" in merge_error([one, tmp_path / "empty"], tmp_path / "o")


def test_merge_of_an_incomplete_shard_is_incomplete(tmp_path, records, capsys):
    one = write_shard(tmp_path / "one", Shard(1, 2), records, complete=False)
    two = write_shard(tmp_path / "two", Shard(2, 2), records)
    assert merge_main([str(one), str(two), "-o", str(tmp_path / "out")]) == 1
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["complete"] is False
    assert "INCOMPLETE RUN**: shard 1/2" in (tmp_path / "out" / "report.md").read_text()
    assert "INCOMPLETE" in capsys.readouterr().out


def test_merge_cli_errors_are_one_line_with_exit_code_2(two_shards, tmp_path, capsys):
    assert merge_main([str(two_shards[0]), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("infill-bench merge: error: shard 2/2 missing")


def test_merge_checks_gates_on_the_merged_figures(two_shards, tmp_path, capsys):
    gates = tmp_path / "gates.toml"
    gates.write_text(f'[[gate]]\nbenchmark = "{BENCH}"\nmodel = "m"\nmetric = "pass@1"\nat_least = 0.6\n'
                     f'n = 164\n')
    assert merge_main([*map(str, two_shards), "-o", str(tmp_path / "out"), "--gates", str(gates)]) == 0
    [gate] = json.loads((tmp_path / "out" / "summary.json").read_text())["gates"]
    assert gate["status"] == "pass" and gate["n"] == 164
    gates.write_text(gates.read_text().replace("0.6", "0.7"))
    assert merge_main([*map(str, two_shards), "-o", str(tmp_path / "out"), "--gates", str(gates)]) == 1
    assert "FAIL" in capsys.readouterr().out


# ---- DONE: two shard runs merged = one run ---------------------------------------------------------------------

def run_suite(tmp_path: Path, name: str, *args: str) -> Path:
    report_dir = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-p", "no:cacheprovider", "-q",
                           "--infill-models", "tiny-qwen2-fim", "--infill-limit", "12",
                           # an ensemble of two recordings: its calibrated and routed rows are fitted on the whole
                           # run, so the merge must refit them on the union of the shards
                           "--infill-ensemble", "rec=recorded-open-dcoder-0.5B+recorded-qwen2.5-coder-1.5b-instruct",
                           "--infill-benchmarks", "humaneval-single-line,santacoder-fim-py",
                           "--infill-cache-dir", str(tmp_path / f"cache-{name}"),    # each run generates afresh
                           "--infill-report-dir", str(report_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return report_dir


@pytest.mark.slow
def test_two_shards_merged_equal_the_unsharded_run(tmp_path):
    whole = run_suite(tmp_path, "whole")
    shards = [run_suite(tmp_path, "shard1", "--shard", "1/2"), run_suite(tmp_path, "shard2", "--infill-shard=2/2")]
    assert "**Shard 1/2**" in (shards[0] / "report.md").read_text()
    assert merge_main([*map(str, shards), "-o", str(tmp_path / "merged")]) == 0

    expected = json.loads((whole / "summary.json").read_text())
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert [s["shard"] for s in merged.pop("run")["shards"]] == ["1/2", "2/2"]
    expected.pop("run")
    assert merged == expected
    assert sum(r["n"] for r in merged["results"] if r["metric"] == "pass@1" and r["model"] == "tiny-qwen2-fim") == 12
    assert {"rec/calibrated", "rec/routed"} <= {r["model"] for r in merged["results"]}
    strip = lambda path: [{k: v for k, v in json.loads(line).items() if k != "grade_seconds"}
                          for line in path.read_text().splitlines()]
    assert strip(tmp_path / "merged" / "samples.jsonl") == strip(whole / "samples.jsonl")


def test_a_shard_the_split_left_empty_still_reports_and_the_merge_equals_the_whole_run(tmp_path):
    def run(name: str, *args: str) -> Path:
        done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-p", "no:cacheprovider", "-q",
                               "--infill-models", "canonical", "--infill-benchmarks", "humaneval-single-line",
                               "--infill-limit", "1", "--infill-report-dir", str(tmp_path / name), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return tmp_path / name
    sample = load_benchmark("humaneval-single-line").samples[0]
    holder = shard_number("humaneval-single-line", sample.sample_id, 2)
    shards = [run(f"shard{i}", "--shard", f"{i}/2") for i in (1, 2)]
    empty = json.loads((shards[2 - holder] / "summary.json").read_text())      # the shard without the sample
    assert empty["results"] == [] and empty["complete"] is True
    assert "This shard holds no selected sample" in (shards[2 - holder] / "report.md").read_text()
    assert merge_main([*map(str, shards), "-o", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    whole = json.loads((run("whole") / "summary.json").read_text())
    merged.pop("run"), whole.pop("run")
    assert merged == whole
