"""Benchmarks: kinds (one definition each: rows to samples, canvas quirks, grader, metrics, profile settings) and
their datasets, in a registry; the data ships inside the package (`data/`).

Importing the package registers the built-in kinds (HumanEval-Infilling, SantaCoder-FIM, SAFIM) and any installed
through the `infill_bench.benchmarks` entry point group.
"""

from infill.benchmarks import humaneval, santacoder  # noqa: F401  (built-in kinds register themselves)
from infill.benchmarks.loading import load_benchmark
from infill.benchmarks.registry import (
                                        BENCHMARKS,
                                        GROUPS,
                                        KINDS,
                                        get_benchmark,
                                        kind_of,
                                        load_entry_points,
                                        register,
                                        resolve_benchmarks,
)
from infill.benchmarks.safim import definition as _safim  # noqa: F401,E402
from infill.benchmarks.sample import Benchmark, BenchmarkData, Sample

load_entry_points()

__all__ = ["BENCHMARKS", "GROUPS", "KINDS", "Benchmark", "BenchmarkData", "Sample", "get_benchmark", "kind_of",
           "load_benchmark", "register", "resolve_benchmarks"]
