"""What a gates file may hold and what checking it yields: the keys of each table, the metrics a gate can name,
a threshold on one figure (Gate), samples that must pass (MustPass), the whole file (GateSet), and one gate's
result after a run (GateOutcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infill.benchmarks import kind_of

COUNT_METRICS = ("timeout", "memory", "missing", "sandbox_error")   # per-(benchmark, model) sample counts
TOP_LEVEL_KEYS = ("defaults", "gate", "must_pass")
DEFAULT_KEYS = ("tolerance", "n", "optional")
GATE_KEYS = ("name", "benchmark", "model", "metric", "at_least", "at_most", "tolerance", "n", "optional", "note")
MUST_PASS_KEYS = ("name", "benchmark", "model", "samples", "metric", "optional", "note")


# n samples per task add pass@k rows (infill.reporting.pass_at_k); a gate may name them
PASS_AT_K_METRICS = ("pass@10", "pass@100")


def allowed_metrics(benchmark: str) -> tuple[str, ...]:
    kind = kind_of(benchmark)
    return (*kind.metrics, *PASS_AT_K_METRICS, *kind.mean_metrics, *COUNT_METRICS)


@dataclass(frozen=True)
class Gate:
    name: str
    benchmark: str
    model: str
    metric: str
    direction: str              # "at_least" or "at_most"
    threshold: float
    threshold_text: str         # as written: "0.7648" or "790/1033"
    tolerance: float = 0.0
    n: int | None = None
    optional: bool = False
    note: str = ""

    @property
    def is_count(self) -> bool:
        return self.metric in COUNT_METRICS

    @property
    def bound(self) -> float:
        """The value the measurement is compared with, tolerance applied."""
        return self.threshold - self.tolerance if self.direction == "at_least" else self.threshold + self.tolerance


@dataclass(frozen=True)
class MustPass:
    name: str
    benchmark: str
    model: str
    samples: tuple[str, ...]
    metric: str | None = None   # None: the test's verdict (`correct`)
    optional: bool = False
    note: str = ""


@dataclass(frozen=True)
class GateSet:
    path: Path
    gates: tuple[Gate, ...] = ()
    must_pass: tuple[MustPass, ...] = ()

    def __len__(self) -> int:
        return len(self.gates) + len(self.must_pass)


@dataclass(frozen=True)
class GateOutcome:
    name: str
    kind: str                   # "threshold" or "must_pass"
    status: str                 # "pass", "fail" or "skip" (an optional gate without a result)
    message: str                # one line, names the gate, the measured value and what it needed
    benchmark: str
    model: str
    metric: str | None
    measured: float | None = None
    threshold: float | None = None
    tolerance: float | None = None
    direction: str | None = None
    n: int | None = None        # samples behind the measurement
    expected_n: int | None = None
    needs: str = ""             # "≥ 76.28% (76.48% − 0.20 pp)", for tables
    shown: str = ""             # the measured value formatted, for tables
    failing_samples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status, "passed": self.passed,
                "benchmark": self.benchmark, "model": self.model, "metric": self.metric,
                "measured": self.measured, "threshold": self.threshold, "tolerance": self.tolerance,
                "direction": self.direction, "needs": self.needs, "n": self.n, "expected_n": self.expected_n,
                "failing_samples": self.failing_samples, "message": self.message}
