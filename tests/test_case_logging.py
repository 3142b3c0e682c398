"""Benchmark cases run without pytest's per-phase log capture (infill.pytest_plugin.case_logging): the logging plugin
is out while they run and back for every other test (`caplog` works there), and it stays for the whole run when
the user asks for logs (--log-level, --log-cli-level). A small project of its own under tmp_path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = "--infill-models canonical --infill-benchmarks humaneval-single-line --infill-limit 2".split()
CONFTEST = '''
import json, os, pytest
pytest_plugins = ["infill.pytest_plugin.plugin"]
SEEN = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    SEEN.append([item.name, item.config.pluginmanager.get_plugin("logging-plugin") is not None])
    return (yield)


def pytest_unconfigure(config):
    with open(os.environ["SEEN_OUT"], "w") as out:
        json.dump([*SEEN, ["after the run", config.pluginmanager.get_plugin("logging-plugin") is not None]], out)
'''
UNIT_TEST = '''
import logging


def test_caplog_still_works(caplog):
    logging.getLogger("some.library").warning("seen by caplog")
    assert [r.getMessage() for r in caplog.records] == ["seen by caplog"]
'''


def run(tmp_path: Path, *args: str) -> list:
    project = tmp_path / "project"
    (project / "bench").mkdir(parents=True, exist_ok=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(CONFTEST)
    (project / "bench" / "test_cases.py").write_text((ROOT / "bench_tests" / "test_humaneval_infill.py").read_text())
    (project / "bench" / "test_zunit.py").write_text(UNIT_TEST)
    seen = tmp_path / "seen.json"
    env = {**os.environ, "SEEN_OUT": str(seen),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cases = [] if "--infill-models" in args else CASES
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "bench", *cases, *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(seen.read_text())


def test_benchmark_cases_run_without_the_logging_plugin_and_other_tests_with_it(tmp_path):
    assert run(tmp_path) == [["test_humaneval_infill[canonical-SingleLineInfilling/HumanEval/0/L0]", False],
                             ["test_humaneval_infill[canonical-SingleLineInfilling/HumanEval/0/L1]", False],
                             ["test_caplog_still_works", True],
                             ["after the run", True]]


@pytest.mark.parametrize("asked", [["--log-level", "INFO"], ["--log-cli-level", "WARNING"]])
def test_the_logging_plugin_stays_when_the_user_asks_for_logs(tmp_path, asked):
    assert all(present for _, present in run(tmp_path, *asked))


def test_a_program_that_timed_out_is_remembered_and_graded_again_in_the_next_run(tmp_path):
    """The plugin's side of infill.grading.slow_programs: a timeout is written down for the next run to start first,
    and that run still grades it itself (a timeout is never a cached verdict)."""
    from infill.benchmarks import load_benchmark
    samples = load_benchmark("humaneval-single-line").samples[:2]
    replay = tmp_path / "loops.jsonl"
    replay.write_text("".join(json.dumps({"task_id": s.sample_id, "completion": c}) + "\n" for s, c in
                              zip(samples, ["    idx = elem = 0\n    while True:\n        pass\n", samples[1].canonical])))
    args = ["--infill-models", "loops", "--infill-replay", f"loops={replay}", "--infill-limit", "2",
            "--infill-timeout", "0.5", "--infill-cache-dir", str(tmp_path / "cache")]
    for run_number in (1, 2):
        run(tmp_path / f"run{run_number}", *args)
        summary = json.loads((tmp_path / f"run{run_number}" / "project" / "reports" / "latest" / "summary.json")
                             .read_text())
        assert [(r["model"], r["passed"], r["n"]) for r in summary["results"]] == [("loops", 1, 2)]
        slow = list((tmp_path / "cache" / "slow-programs").glob("*.jsonl"))
        assert len(slow) == 1 and len(slow[0].read_text().splitlines()) == 2     # a header and the one program
    records = [json.loads(line) for line in (tmp_path / "run2" / "project" / "reports" / "latest" / "samples.jsonl")
               .read_text().splitlines()]
    assert [r["status"] for r in records] == ["timeout", "passed"]
