"""Execution verdicts kept on disk (infill/grading/verdict_cache.py): a rerun with the same rules reads them
instead of running the programs again; anything that can change a verdict gives another file."""

from __future__ import annotations

import json

import pytest

from infill.benchmarks import load_benchmark
from infill.grading import verdict_cache
from infill.grading.execution import SANDBOX_ERROR, TIMEOUT, ExecutionResult, SandboxConfig, SandboxPool
from infill.grading.service import GradingService
from infill.grading.tools import GradingTools


@pytest.fixture(scope="module")
def pairs():
    samples = load_benchmark("humaneval-single-line").samples[:4]
    completions = [samples[0].canonical, "    return None\n", "    assert False\n", "    x = (\n"]
    return list(zip(samples, completions))


def humaneval_grading(config: SandboxConfig, verdict_dir) -> GradingService:
    return GradingService(GradingTools(config, verdict_dir=verdict_dir), ["humaneval-single-line"])


def grade_all(grader: GradingService, pairs) -> list[tuple]:
    grader.prefetch(pairs)
    verdicts = [grader.grade(s, c) for s, c in pairs]
    return [(v.correct, v.status, v.detail, v.grade_seconds) for v in verdicts]


def test_a_rerun_reads_the_verdicts_and_runs_nothing(pairs, tmp_path, monkeypatch):
    config = SandboxConfig(timeout_s=1.0, workers=2)
    first = humaneval_grading(config, tmp_path)
    try:
        graded = grade_all(first, pairs)
    finally:
        first.close()                       # flushes the last group
    assert [g[1] for g in graded] == ["passed", "failed", "failed", "failed"]

    def must_not_run(self, program):
        raise AssertionError("a stored verdict was executed again")
    monkeypatch.setattr(SandboxPool, "submit", must_not_run)
    again = humaneval_grading(config, tmp_path)
    try:
        assert grade_all(again, pairs) == graded            # the same verdicts, durations included
    finally:
        again.close()


def test_a_change_of_limits_is_another_file_and_sandbox_errors_and_timeouts_are_never_kept(pairs, tmp_path, monkeypatch):
    one = verdict_cache.VerdictCache(tmp_path, SandboxConfig(timeout_s=1.0), "bubblewrap")
    for changed in [verdict_cache.VerdictCache(tmp_path, SandboxConfig(timeout_s=3.0), "bubblewrap"),
                    verdict_cache.VerdictCache(tmp_path, SandboxConfig(timeout_s=1.0, memory_mb=512), "bubblewrap"),
                    verdict_cache.VerdictCache(tmp_path, SandboxConfig(timeout_s=1.0), "rlimits only")]:
        assert changed.store.path != one.store.path
    # the worker count does not change a verdict: same file
    assert verdict_cache.VerdictCache(tmp_path, SandboxConfig(timeout_s=1.0, workers=7), "bubblewrap").store.path \
        == one.store.path
    for status in (SANDBOX_ERROR, TIMEOUT):             # an infrastructure fault; a verdict that depends on load
        monkeypatch.setattr(SandboxPool, "submit", lambda self, program: _done(ExecutionResult(status, "x", 1.0)))
        grader = humaneval_grading(SandboxConfig(timeout_s=1.0, workers=1), tmp_path)
        try:
            sample, completion = pairs[0]
            assert grader.grade(sample, completion).status == status
        finally:
            grader.close()
    assert all(len(p.read_text().splitlines()) <= 1 for p in tmp_path.glob("verdicts/*.jsonl"))   # a header at most


def test_verdicts_are_written_in_groups_and_a_torn_group_is_run_again(tmp_path, monkeypatch):
    monkeypatch.setattr(verdict_cache, "FLUSH_SECONDS", 3600.0)
    cache = verdict_cache.VerdictCache(tmp_path, SandboxConfig(), "bubblewrap")
    for i in range(verdict_cache.FLUSH_EVERY + 3):
        cache.put(f"program {i}", ExecutionResult("failed", f"AssertionError {i}", 0.01))
    lines = cache.store.path.read_text().splitlines()
    assert len(lines) == 1 + verdict_cache.FLUSH_EVERY and len(cache.unwritten) == 3     # 3 not yet on disk
    cache.store.path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])          # a killed writer's tear
    reread = verdict_cache.VerdictCache(tmp_path, SandboxConfig(), "bubblewrap")
    assert len(reread.known) == verdict_cache.FLUSH_EVERY - 1
    assert reread.get("program 0") == ExecutionResult("failed", "AssertionError 0", 0.01)
    assert json.loads(lines[0])["components"]["kind"] == "execution-verdicts"


def _done(result):
    from concurrent.futures import Future
    future = Future()
    future.set_result(result)
    return future
