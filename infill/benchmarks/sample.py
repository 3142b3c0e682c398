"""One benchmark row as the rest of the pipeline sees it, and a loaded benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    benchmark: str
    sample_id: str       # the dataset's own id (task_id; SantaCoder-FIM "<language>/<name>")
    index: int           # row position within the benchmark (recorded SantaCoder files use it as task_id)
    prefix: str
    suffix: str
    canonical: str       # the ground-truth middle
    test: str            # what grades it: HumanEval's check function, SAFIM's unit tests, ...
    entry_point: str
    language: str
    task_type: str
    # what a kind keeps beside the common fields (SAFIM: the PSM prompt's header); not part of equality or hashing
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class BenchmarkData:
    benchmark: "Benchmark"
    samples: tuple[Sample, ...] = field(repr=False)
    sha256: str          # of the shipped data file, recorded with every result

    def by_id(self) -> dict[str, Sample]:
        return {s.sample_id: s for s in self.samples}


@dataclass(frozen=True)
class Benchmark:
    """One dataset of a kind: where its rows are, which of them, and how they are named. `version` changes
    whenever anything here that can change a score changes (data file, field mapping); it is written next to every
    result."""
    name: str
    version: str
    kind: str                   # a name in infill.benchmarks.registry.KINDS
    data_file: str              # relative to infill/benchmarks/data/, or an absolute path
    size: int                   # rows after `row_filter`; loading checks it
    row_filter: tuple[str, str] | None = None    # (column, value) kept
    task_type: str = ""
    id_prefix: str = ""         # every sample id starts with it; replay files are matched to benchmarks by it
    groups: tuple[str, ...] = ()                 # command-line group names that select it (besides `all`)
    description: str = ""
