"""What a benchmark kind is: the one definition a new kind of benchmark writes (bigcode-evaluation-harness's `Task`,
lm-evaluation-harness's task definition). A kind says how a data row becomes a `Sample`, what a model sees (the
diffusion canvas's prefix), how a completion is graded, which metrics are reported, and the generation settings
each profile runs it with. Its datasets (`Benchmark`s) and the kind are registered together
(`infill.benchmarks.registry.register`)."""

from __future__ import annotations

from typing import Mapping, Protocol

from infill.benchmarks.sample import Benchmark, Sample
from infill.config.settings import KindSettings


class SampleGrader(Protocol):
    """Grades one benchmark kind's completions. `prefetch` may start slow work (sandboxed execution) for many
    samples at once (and, for a grader that keeps verdicts on disk, return (from that cache, needed) for the
    progress lines); `grade` returns one sample's verdict (an `infill.grading.verdict.Verdict`)."""

    def excluded(self, sample: Sample) -> str | None: ...       # why it cannot be graded here (a missing toolchain)

    def prefetch(self, pairs: list[tuple[Sample, str]]) -> tuple[int, int] | None: ...

    def grade(self, sample: Sample, completion: str): ...

    def rules(self) -> dict: ...

    def close(self) -> None: ...


class BenchmarkKind:
    """Subclass per kind and register an instance. Class attributes are the declarative part."""
    name: str = ""
    version: str = "1"
    # summary.json metric names, the first is the headline. "pass@1" counts verdicts that are correct; any other
    # name counts the samples whose record holds a true value under that name (from the verdict's metrics).
    metrics: tuple[str, ...] = ("pass@1",)
    mean_metrics: tuple[str, ...] = ()          # averaged over samples, e.g. edit similarity
    settings: Mapping[str, KindSettings] = {}   # profile name -> live generation settings
    executes_programs: bool = False             # its grader runs programs in the sandbox (checked at start-up)

    def to_sample(self, benchmark: Benchmark, index: int, row: dict) -> Sample:
        raise NotImplementedError

    def prompt_prefix(self, sample: Sample) -> str:
        """The prefix an AR model's FIM prompt starts with (a kind may put an instruction header before the code)."""
        return sample.prefix

    def replay_id(self, benchmark: Benchmark, task_id: str) -> str:
        """The sample id a generations file's task id stands for (a kind whose published files name tasks
        differently maps them here)."""
        return task_id

    def problem_id(self, sample: Sample) -> str:
        """The problem a sample belongs to: samples of one problem (the lines of one HumanEval function) share it, so
        cross-validation keeps them in one fold. Default: the sample id without its last part."""
        return sample.sample_id.rsplit("/", 1)[0]

    def summary_details(self, rows: list[dict]) -> dict:
        """Extra fields of a (benchmark, model) summary entry, from its records (e.g. counts per language)."""
        return {}

    def diffusion_prefix(self, sample: Sample) -> str:
        """The prefix a masked-diffusion canvas starts with (a kind may add the line break its data leaves out)."""
        return sample.prefix

    def describe_rules(self, rules: dict) -> list[str]:
        """report.md's lines on this kind's evaluation rules, from the run's recorded `rules` (summary.json)."""
        return []

    def grader(self, tools) -> SampleGrader:
        """The grader of this kind, built from the run's grading tools (infill.grading.tools.GradingTools)."""
        raise NotImplementedError
