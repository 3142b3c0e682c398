"""What pytest costs per benchmark case on a cached run, against a bare pytest case that only asserts, measured in
the same pytest session (so the ratio holds on a loaded machine too).

A fully cached run of the main job spends its time in pytest's per-case machinery (fixtures, reports, capture,
logging), not in generating or grading. This script builds a throw-away project in a temporary folder (the
benchmark test modules of bench_tests, a module of N bare cases and a timing conftest), warms a cache with the main
job's own selection (its 12 rows on its two benchmarks, the first N/24 samples of each: the tiny models generate
on the CPU, a few minutes the first time; --recorded: the three replayed recordings only, N/6 samples, no model),
then runs N cached benchmark cases and N bare cases in one pytest session, `-q -p no:cacheprovider` as the main
job, and prints the
milliseconds per case of each (the whole runtest protocol of every case: setup, call, teardown and their reports)
and their ratio, in wall-clock, in wall-clock without the time the cases waited for the sandbox (programs that time
out run again in every run: their verdict depends on the machine's load, so it is never cached), and in CPU time
of the pytest process (on a busy machine the CPU figures are the steadier). The first case of each (model,
benchmark) group includes reading that group's cache: that too is what a cached rerun pays.

    .venv/bin/python scripts/bench_case_overhead.py --cache-dir /tmp/overhead-cache      # N = 3000
    .venv/bin/python scripts/bench_case_overhead.py --cache-dir /tmp/overhead-cache --repeat 3
    .venv/bin/python scripts/bench_case_overhead.py --recorded                           # no model at all
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ("recorded-open-dcoder-0.5B", "recorded-deepseek-coder-1.3b-base", "recorded-qwen2.5-coder-1.5b-instruct")
BENCHMARKS = ("humaneval-single-line", "santacoder-fim-py")
ROWS = {"main job": 12, "recorded": len(RECORDED)}    # rows per sample: the default run's (README), or the replays
MODULES = ("test_humaneval_infill.py", "test_santacoder_fim.py")

TIMER = '''
import concurrent.futures, json, os, time
import pytest

pytest_plugins = ["infill.pytest_plugin.plugin"]
SPENT = {"benchmark": [0.0, 0.0, 0], "bare": [0.0, 0.0, 0]}      # wall seconds, CPU seconds, cases
WAITED = [0.0]        # wall seconds benchmark cases waited for the sandbox (programs run again: timeouts)
_result = concurrent.futures.Future.result


def result(self, timeout=None):
    started = time.perf_counter()
    try:
        return _result(self, timeout)
    finally:
        WAITED[0] += time.perf_counter() - started
concurrent.futures.Future.result = result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return (yield)
    finally:
        kind = SPENT["bare" if item.name.startswith("test_bare") else "benchmark"]
        kind[0] += time.perf_counter() - wall
        kind[1] += time.process_time() - cpu
        kind[2] += 1


def pytest_sessionfinish(session):
    if os.environ.get("OVERHEAD_OUT"):
        with open(os.environ["OVERHEAD_OUT"], "w") as f:
            json.dump({**SPENT, "waited": WAITED[0]}, f)
'''
BARE = '''
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_bare(i):
    assert i >= 0
'''


def make_project(folder: Path, cases: int) -> None:
    (folder / "bench").mkdir(parents=True)
    (folder / "pytest.ini").write_text("[pytest]\nxfail_strict = false\n")
    (folder / "conftest.py").write_text(TIMER)
    for name in MODULES:
        shutil.copy(ROOT / "bench_tests" / name, folder / "bench" / name)
    (folder / "test_bare.py").write_text(BARE.replace("{n}", str(cases)))


def pytest_run(folder: Path, cache: Path, limit: int, recorded: bool, *paths: str, out: Path | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if out is not None:
        env["OVERHEAD_OUT"] = str(out)
    models = ["--infill-models", ",".join(RECORDED)] if recorded else []
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, *models,
            "--infill-benchmarks", ",".join(BENCHMARKS), "--infill-limit", str(limit), "--infill-cache-dir", str(cache),
            "--infill-report-dir", str(folder / "report")]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"pytest failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=3000, help="benchmark cases, and as many bare ones")
    parser.add_argument("--repeat", type=int, default=1, help="timed sessions (the median is printed)")
    parser.add_argument("--cache-dir", type=Path, help="keep the warmed cache here (default: a temporary folder)")
    parser.add_argument("--recorded", action="store_true", help="the replayed recordings only (no model runs)")
    args = parser.parse_args()
    rows = ROWS["recorded" if args.recorded else "main job"] * len(BENCHMARKS)
    limit = math.ceil(args.cases / rows)
    if limit > 1033:
        sys.exit(f"--cases {args.cases}: at most {1033 * rows} (the samples of the smaller benchmark)")
    work = Path(tempfile.mkdtemp(prefix="infill-overhead-"))
    cache = args.cache_dir or work / "cache"
    try:
        make_project(work / "project", limit * rows)
        project = work / "project"
        print(f"warming the cache ({cache}) ...", flush=True)
        pytest_run(project, cache, limit, args.recorded, "bench")
        per_case = {(kind, clock): [] for kind in ("benchmark", "bare") for clock in ("wall", "cpu", "own")}
        for _ in range(args.repeat):
            out = work / "spent.json"
            wall = pytest_run(project, cache, limit, args.recorded, "bench", "test_bare.py", out=out)
            spent = json.loads(out.read_text())
            waited = {"benchmark": spent.pop("waited"), "bare": 0.0}
            for kind, (wall_s, cpu_s, count) in spent.items():
                per_case[kind, "wall"].append(1000 * wall_s / count)
                per_case[kind, "cpu"].append(1000 * cpu_s / count)
                per_case[kind, "own"].append(1000 * (wall_s - waited[kind]) / count)
            print(f"session: {wall:.1f} s wall; {spent['benchmark'][2]} benchmark cases, {spent['bare'][2]} bare; "
                  f"the benchmark cases waited {waited['benchmark']:.1f} s for the sandbox (programs that time out "
                  f"are run again in every run, never cached)")
        for clock, label in (("wall", "wall"), ("own", "wall without the sandbox waits"), ("cpu", "cpu")):
            bench, bare = (statistics.median(per_case[kind, clock]) for kind in ("benchmark", "bare"))
            print(f"{label}: cached benchmark case {bench:.3f} ms, bare pytest case {bare:.3f} ms: "
                  f"ratio {bench / bare:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
