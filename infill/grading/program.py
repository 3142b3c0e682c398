"""Grade a completion by running a Python program in the sandbox: the program assembled by the benchmark kind's rule
passes when it runs to completion (infill.grading.execution).

Execution is the slow part, so `prefetch` submits every program of a group to the sandbox pool at once and `grade`
then waits only for its own. A program already run in this process, or kept in the verdict cache from an earlier
run, is not run again.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Callable

from infill.benchmarks.sample import Sample
from infill.grading.execution import EXECUTION_RULE_VERSION, SANDBOX_ERROR, TIMEOUT, ExecutionResult
from infill.grading.tools import GradingTools
from infill.grading.verdict import PASSED, Verdict


class ProgramGrader:
    def __init__(self, tools: GradingTools, assemble: Callable[[Sample, str], str]):
        self.tools, self.assemble = tools, assemble
        self._pending: dict[str, Future] = {}
        # Programs already run: an ensemble grades its members' candidates, and the members' own tests then read
        # the same verdict instead of running the program again.
        self._finished: dict[str, ExecutionResult] = {}

    def rules(self) -> dict:
        config = self.tools.sandbox_config
        return {"execution": EXECUTION_RULE_VERSION, "timeout_s": config.timeout_s, "memory_mb": config.memory_mb}

    def excluded(self, sample: Sample) -> str | None:
        """Every sample can be graded (the sandbox is checked at start-up)."""
        return None

    def prefetch(self, pairs: list[tuple[Sample, str]]) -> tuple[int, int] | None:
        """Start executing every program of `pairs` now; `grade` later waits for each. Returns (from the verdict
        cache, needed): of the programs not already run or started in this run, how many the cache held (None
        without a cache)."""
        needed, hits = set(), 0
        for sample, completion in pairs:
            program = self.assemble(sample, completion)
            if program in needed or program in self._pending or program in self._finished:
                continue
            needed.add(program)
            if self._known(program) is not None:
                hits += 1
            else:
                self._pending[program] = self.tools.pool.submit(program)
        return None if self.tools.verdicts is None else (hits, len(needed))

    def start_known_slow(self, samples: list[Sample]) -> int:
        """Start now the programs of these samples that timed out in an earlier run (infill.grading.slow_programs),
        ahead of everything else in the sandbox's queue; returns how many started."""
        slow = self.tools.slow_programs
        programs = slow.of_samples({(s.benchmark, s.sample_id) for s in samples}) if slow is not None else []
        started = 0
        for program in programs:
            if program not in self._pending and self._known(program) is None:
                self._pending[program] = self.tools.pool.submit(program)
                started += 1
        return started

    def grade(self, sample: Sample, completion: str) -> Verdict:
        program = self.assemble(sample, completion)
        result = self._known(program)
        if result is None:
            future = self._pending.pop(program, None) or self.tools.pool.submit(program)
            result = future.result()
            if result.status != SANDBOX_ERROR:          # an infrastructure fault is retried, never remembered
                self._finished[program] = result
                if self.tools.verdicts and result.cacheable:  # the program's own verdict: not a timeout, kill, ...
                    self.tools.verdicts.put(program, result)
            if result.status == TIMEOUT and self.tools.slow_programs is not None:   # started first next time
                self.tools.slow_programs.note(sample.benchmark, sample.sample_id, program)
        return Verdict(result.status == PASSED, result.status, result.detail,
                       {"isolation": self.tools.pool.isolation}, result.duration_s)

    def _known(self, program: str) -> ExecutionResult | None:
        """The verdict of a program run before, in this process or (from the verdict cache) in an earlier run."""
        result = self._finished.get(program)
        if result is None and self.tools.verdicts is not None:
            result = self.tools.verdicts.get(program)
            if result is not None:
                self._finished[program] = result
        return result

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
