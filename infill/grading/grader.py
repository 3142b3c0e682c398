"""Turn (sample, completion) into a Verdict with the benchmark's grader.

Execution is the slow part, so the first sample of a group submits every program of the group to the sandbox
pool (`prefetch`) and each test then waits only for its own result.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from infill.benchmarks import Sample, get_benchmark
from infill.grading.exact_match import EDIT_SIMILARITY_VERSION, EM_RULES, edit_similarity
from infill.grading.execution import (EXECUTION_RULE_VERSION, SANDBOX_ERROR, ExecutionResult, SandboxConfig,
                                      SandboxPool, humaneval_program)
from infill.grading.verdict_cache import VerdictCache

MISSING = "missing"          # the source had no completion for the sample: a failure
MISMATCH = "mismatch"        # exact-match benchmarks: the deciding rule said no
PASSED = "passed"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    status: str              # passed, failed, timeout, memory, sandbox_error, missing, mismatch
    detail: str = ""
    metrics: dict = field(default_factory=dict)
    grade_seconds: float = 0.0

    @property
    def infrastructure_fault(self) -> bool:
        return self.status == SANDBOX_ERROR


class Grader:
    def __init__(self, sandbox: SandboxConfig | None = None, em_rule: str = "first_line",
                 verdict_dir: Path | None = None):
        self.sandbox_config = sandbox or SandboxConfig()
        self.verdict_dir = verdict_dir      # execution verdicts kept on disk (VerdictCache); None: not kept
        self._verdicts: VerdictCache | None = None
        self.em_rule = EM_RULES[em_rule]
        self._pool: SandboxPool | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        # Programs already run: an ensemble grades its members' candidates, and the members' own tests then
        # read the same verdict instead of running the program again.
        self._finished: dict[str, ExecutionResult] = {}

    @property
    def pool(self) -> SandboxPool:
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.sandbox_config)
            return self._pool

    @property
    def verdicts(self) -> VerdictCache | None:
        if self._verdicts is None and self.verdict_dir is not None:
            self._verdicts = VerdictCache(self.verdict_dir, self.sandbox_config, self.pool.isolation)
        return self._verdicts

    def rules(self) -> dict:
        """The rule versions that decided the scores, for the report."""
        return {"execution": EXECUTION_RULE_VERSION, "timeout_s": self.sandbox_config.timeout_s,
                "memory_mb": self.sandbox_config.memory_mb, "em_rule_deciding_tests": self.em_rule.name,
                "em_rules": {r.name: r.version for r in EM_RULES.values()}, "edit_similarity": EDIT_SIMILARITY_VERSION}

    def prefetch(self, pairs: list[tuple[Sample, str | None]]) -> None:
        """Start executing every program of `pairs` now; `grade` later waits for each."""
        for sample, completion in pairs:
            if completion is not None and get_benchmark(sample.benchmark).grader == "execution":
                program = _program(sample, completion)
                if program not in self._pending and self._known(program) is None:
                    self._pending[program] = self.pool.submit(program)

    def grade(self, sample: Sample, completion: str | None) -> Verdict:
        if completion is None:
            return Verdict(False, MISSING, "no completion for this task in the source (counts as a failure)")
        grader = get_benchmark(sample.benchmark).grader
        if grader == "execution":
            return self._execute(sample, completion)
        if grader == "exact_match":
            return self._exact_match(sample, completion)
        raise ValueError(f"benchmark {sample.benchmark} names unknown grader {grader!r}")

    def _execute(self, sample: Sample, completion: str) -> Verdict:
        program = _program(sample, completion)
        result = self._known(program)
        if result is None:
            future = self._pending.pop(program, None) or self.pool.submit(program)
            result: ExecutionResult = future.result()
            if result.status != SANDBOX_ERROR:          # an infrastructure fault is retried, never remembered
                self._finished[program] = result
                if self.verdicts and result.cacheable:  # the program's own verdict: not a timeout, kill, ...
                    self.verdicts.put(program, result)
        return Verdict(result.status == PASSED, result.status, result.detail, {"isolation": self.pool.isolation},
                       result.duration_s)

    def _known(self, program: str) -> ExecutionResult | None:
        """The verdict of a program run before, in this process or (from the verdict cache) in an earlier run."""
        result = self._finished.get(program)
        if result is None and self.verdicts is not None:
            result = self.verdicts.get(program)
            if result is not None:
                self._finished[program] = result
        return result

    def _exact_match(self, sample: Sample, completion: str) -> Verdict:
        started = time.perf_counter()
        metrics = {f"em_{name}": rule.function(completion, sample.canonical) for name, rule in EM_RULES.items()}
        metrics["edit_similarity"] = round(edit_similarity(completion, sample.canonical), 6)
        correct = metrics[f"em_{self.em_rule.name}"]
        detail = "" if correct else f"{self.em_rule.name} exact match failed"
        return Verdict(correct, PASSED if correct else MISMATCH, detail, metrics, time.perf_counter() - started)

    def close(self) -> None:
        if self._verdicts is not None:
            self._verdicts.flush()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _program(sample: Sample, completion: str) -> str:
    return humaneval_program(sample.prefix, completion, sample.suffix, sample.test, sample.entry_point)
