"""Benchmarks: small declarative definitions in a registry, data shipped inside the package."""

from infill.benchmarks.registry import BENCHMARKS, Benchmark, get_benchmark, resolve_benchmarks
from infill.benchmarks.loading import BenchmarkData, Sample, load_benchmark

__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkData", "Sample", "get_benchmark", "load_benchmark",
           "resolve_benchmarks"]
