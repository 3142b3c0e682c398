"""Execution verdicts kept on disk (infill/grading/verdict_cache.py): a rerun with the same rules reads them
instead of running the programs again; anything that can change a verdict gives another file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform

import pytest

from infill.benchmarks import load_benchmark
from infill.generation.cache import GenerationCache
from infill.grading import verdict_cache
from infill.grading.execution import FAILED, MEMORY, SANDBOX_ERROR, TIMEOUT, ExecutionResult, SandboxConfig, SandboxPool
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
        cache.put(f"program {i}", ExecutionResult("failed", f"AssertionError {i}", 0.01, cacheable=True))
    lines = cache.store.path.read_text().splitlines()
    assert len(lines) == 1 + verdict_cache.FLUSH_EVERY and len(cache.unwritten) == 3     # 3 not yet on disk
    cache.store.path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])          # a killed writer's tear
    reread = verdict_cache.VerdictCache(tmp_path, SandboxConfig(), "bubblewrap")
    assert len(reread.known) == verdict_cache.FLUSH_EVERY - 1
    assert reread.get("program 0") == ExecutionResult("failed", "AssertionError 0", 0.01)
    assert json.loads(lines[0])["components"]["kind"] == "execution-verdicts"


def test_entries_of_the_old_key_are_never_served(pairs, tmp_path):
    """exec-v1 files kept timeouts (before that rule) and signal kills: the key changed, none is read."""
    config = SandboxConfig(timeout_s=1.0)
    limits = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("workers", "isolation")}
    old = GenerationCache(tmp_path / "verdicts", {"kind": "execution-verdicts", "execution_rule": "exec-v1",
                                                  "limits": limits, "isolation": "bubblewrap",
                                                  "python": platform.python_version()})
    old.append({verdict_cache.program_key("slow"): json.dumps([TIMEOUT, "timed out after 1.0 s", 1.0]),
                verdict_cache.program_key("killed"): json.dumps([FAILED, "killed by signal SIGKILL", 0.2])})
    assert len(GenerationCache(old.path.parent, old.components).load()) == 2  # readable under the old key
    cache = verdict_cache.VerdictCache(tmp_path, config, "bubblewrap")
    assert cache.store.path != old.path
    assert cache.get("slow") is None and cache.get("killed") is None


@pytest.mark.parametrize("result", [
    ExecutionResult(FAILED, "killed by signal SIGKILL before the tests completed", 0.3),
    ExecutionResult(MEMORY, "killed by the kernel's OOM killer", 0.3),
    ExecutionResult(MEMORY, "its processes held 300 MB together (limit 256 MB)", 0.3),
    ExecutionResult(FAILED, "killed the grader", 4.0),
    ExecutionResult(TIMEOUT, "timed out after 1.0 s", 1.0, cacheable=True),   # (the grader would never say so)
], ids=["external kill", "oom killer", "memory watchdog", "grader killed twice", "timeout"])
def test_only_the_programs_own_verdicts_are_kept(pairs, tmp_path, monkeypatch, result):
    kept = ExecutionResult(FAILED, "AssertionError", 0.1, cacheable=True)
    answers = iter([result, kept])
    monkeypatch.setattr(SandboxPool, "submit", lambda self, program: _done(next(answers)))
    grader = humaneval_grading(SandboxConfig(timeout_s=1.0, workers=1), tmp_path)
    try:
        assert grader.grade(*pairs[1]).status == result.status
        assert grader.grade(*pairs[2]).status == FAILED
    finally:
        grader.close()
    again = humaneval_grading(SandboxConfig(timeout_s=1.0, workers=1), tmp_path)
    programs = again.graders["humaneval-infill"]
    try:
        again.tools.verdicts  # (reads the file)
        assert programs._known(verdict_cache_program(pairs[1])) is None          # graded again in the next run
        assert programs._known(verdict_cache_program(pairs[2])) == kept
    finally:
        again.close()
    with pytest.raises(ValueError):
        verdict_cache.VerdictCache(tmp_path, SandboxConfig(), "x").put("p", result if not result.cacheable else
                                                                            ExecutionResult(FAILED, "x", 0.1))


def test_a_program_with_a_lone_surrogate_has_a_key_and_valid_text_keeps_its_key():
    assert verdict_cache.program_key("raise AssertionError('\ud800')") != verdict_cache.program_key("x")
    text = "assert 'é' + '\U0001f600' == 'é\U0001f600'"
    assert verdict_cache.program_key(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def verdict_cache_program(pair):
    from infill.benchmarks.humaneval import program_of
    return program_of(*pair)


def _done(result):
    from concurrent.futures import Future
    future = Future()
    future.set_result(result)
    return future


def test_a_program_that_timed_out_starts_first_next_time_and_is_graded_again(pairs, tmp_path, monkeypatch):
    """infill.grading.slow_programs: a timeout is remembered as a program to start early, never as a verdict."""
    sample = pairs[0][0]
    loop = "    idx = elem = 0\n    while True:\n        pass\n"          # the suffix's loop runs inside forever
    config = SandboxConfig(timeout_s=0.5, workers=1)
    first = humaneval_grading(config, tmp_path)
    try:
        assert first.grade(sample, loop).status == TIMEOUT
        assert first.start_known_slow([sample]) == 0              # already run in this process
    finally:
        first.close()
    submitted = []
    original_submit = SandboxPool.submit

    def recording_submit(self, program):
        submitted.append(program)
        return original_submit(self, program)
    monkeypatch.setattr(SandboxPool, "submit", recording_submit)
    again = humaneval_grading(config, tmp_path)
    try:
        other = pairs[1][0]
        assert again.start_known_slow([other]) == 0                # another sample's: not started
        assert again.start_known_slow([sample]) == 1               # started before anything else ...
        assert len(submitted) == 1 and loop in submitted[0]
        verdict = again.grade(sample, loop)                        # ... and its verdict is this run's own
        assert verdict.status == TIMEOUT and len(submitted) == 1
    finally:
        again.close()
    # a verdict cache of other limits does not know the program
    third = humaneval_grading(SandboxConfig(timeout_s=0.7, workers=1), tmp_path)
    try:
        assert third.start_known_slow([sample]) == 0
    finally:
        third.close()


def test_a_tampered_slow_program_entry_is_ignored(pairs, tmp_path):
    from infill.grading.slow_programs import SlowPrograms
    components = {"kind": "execution-verdicts", "limits": {"timeout_s": 1.0}}
    slow = SlowPrograms(tmp_path, components)
    slow.note("humaneval-single-line", "a/0", "print(1)\n")
    slow.store.append({"0" * 64: json.dumps(["humaneval-single-line", "a/0", "print(2)\n"])})   # key != program's
    slow.store.append({"1" * 64: "not json"})
    assert SlowPrograms(tmp_path, components).of_samples({("humaneval-single-line", "a/0")}) == ["print(1)\n"]
