"""Where a run reads and writes: the cache (--infill-cache-dir) and the reports (--infill-report-dir) are the
project's, wherever pytest is started from. Defaults and ini keys resolve against the project's folder (the ini
file's); values given on the command line against the folder pytest was started in (as a shell user means them).

Each test builds a small project of its own (an ini file and a benchmark test module) under tmp_path, so nothing
here depends on where the checkout lives or writes into it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = "--infill-models canonical --infill-benchmarks humaneval-single-line --infill-limit 2".split()


def make_project(base: Path, ini: str = "") -> Path:
    project = base / "project"
    (project / "bench").mkdir(parents=True)
    (project / "pytest.ini").write_text(f"[pytest]\n{ini}")
    (project / "conftest.py").write_text('pytest_plugins = ["infill.pytest_plugin.plugin"]\n')
    (project / "bench" / "test_cases.py").write_text((ROOT / "bench_tests" / "test_humaneval_infill.py").read_text())
    return project


def run_from(folder: Path, *args: str) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def verdict_files(cache: Path) -> list[Path]:
    return sorted((cache / "verdicts").glob("*.jsonl"))


def test_started_elsewhere_writes_nothing_there_and_uses_the_projects_cache(tmp_path):
    project, elsewhere = make_project(tmp_path), tmp_path / "elsewhere"
    first = run_from(elsewhere, str(project / "bench"), *CASES)
    assert list(elsewhere.iterdir()) == []
    summary = json.loads((project / "reports" / "latest" / "summary.json").read_text())
    assert [(r["model"], r["passed"], r["n"]) for r in summary["results"]] == [("canonical", 2, 2)]
    assert len(verdict_files(project / ".infill-cache")) == 1
    assert "canonical humaneval-single-line: from the cache: 0/2 verdicts" in first.stdout
    # started from yet another folder, the run reads the verdicts the first one kept in the project
    again = run_from(tmp_path / "third", str(project / "bench"), *CASES)
    assert "canonical humaneval-single-line: from the cache: 2/2 verdicts" in again.stdout
    assert list((tmp_path / "third").iterdir()) == []


def test_ini_keys_resolve_against_the_ini_folder_and_options_against_the_start_folder(tmp_path):
    project = make_project(tmp_path, "infill_cache_dir = kept/cache\ninfill_report_dir = kept/report\n")
    elsewhere = tmp_path / "elsewhere"
    run_from(elsewhere, str(project / "bench"), *CASES)
    assert len(verdict_files(project / "kept" / "cache")) == 1
    assert (project / "kept" / "report" / "summary.json").is_file()
    assert list(elsewhere.iterdir()) == []
    # given on the command line, a relative path is where pytest was started, as in any shell command
    run_from(elsewhere, str(project / "bench"), *CASES, "--infill-cache-dir", "c", "--infill-report-dir", "r")
    assert len(verdict_files(elsewhere / "c")) == 1
    assert (elsewhere / "r" / "summary.json").is_file()
    assert not (project / "reports").exists() and not (project / ".infill-cache").exists()
