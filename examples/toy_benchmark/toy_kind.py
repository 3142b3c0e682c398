"""A benchmark kind of your own in one module: three toy rows, graded by a case-insensitive match. Load it with
`pytest -p toy_kind ...` (this folder on PYTHONPATH) and add `test_toy.py` to bench_tests."""

import time
from pathlib import Path

from infill.benchmarks import Benchmark, Sample, register
from infill.benchmarks.humaneval import PAPER, TINY
from infill.benchmarks.kind import BenchmarkKind
from infill.grading.verdict import Verdict


class CaseInsensitiveGrader:
    def rules(self) -> dict:
        return {"toy_match": "toy-casefold-v1"}

    def excluded(self, sample: Sample) -> None:
        """Every toy sample can be graded anywhere."""

    def prefetch(self, pairs) -> None:
        """Nothing slow to start."""

    def grade(self, sample: Sample, completion: str) -> Verdict:
        started = time.perf_counter()
        correct = completion.strip().casefold() == sample.canonical.strip().casefold()
        return Verdict(correct, "passed" if correct else "mismatch", "" if correct else "toy match failed",
                       {}, time.perf_counter() - started)

    def close(self) -> None:
        """Holds nothing."""


class ToyKind(BenchmarkKind):
    name = "toy"
    settings = {"paper": PAPER, "tiny": TINY}

    def to_sample(self, benchmark: Benchmark, index: int, row: dict) -> Sample:
        return Sample(benchmark.name, row["id"], index, row["prefix"], row["suffix"], row["middle"], "", "", "py",
                      benchmark.task_type)

    def grader(self, tools):
        return CaseInsensitiveGrader()


register(ToyKind(), [Benchmark("toy-words", "1", "toy", str(Path(__file__).with_name("toy.jsonl")), 3,
                               task_type="word", id_prefix="toy/", groups=("toy",))])
