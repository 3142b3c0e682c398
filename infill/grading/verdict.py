"""A graded sample: correct or not, why, and the metrics its grader computed."""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED = "passed"
MISSING = "missing"          # the source had no completion for the sample: a failure
MISMATCH = "mismatch"        # exact-match benchmarks: the deciding rule said no
SANDBOX_ERROR = "sandbox_error"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    status: str              # passed, failed, timeout, memory, sandbox_error, missing, mismatch, ...
    detail: str = ""
    metrics: dict = field(default_factory=dict)
    grade_seconds: float = 0.0

    @property
    def infrastructure_fault(self) -> bool:
        return self.status == SANDBOX_ERROR


def missing_verdict() -> Verdict:
    return Verdict(False, MISSING, "no completion for this task in the source (counts as a failure)")
