"""SantaCoder-FIM (bigcode/santacoder-fim-task, openrail, evaluation only): single-line infills in Python,
JavaScript and Java, graded by exact match (both published rules) and edit similarity."""

from __future__ import annotations

import re
from dataclasses import replace

from infill.benchmarks.humaneval import PAPER, TINY
from infill.benchmarks.kind import BenchmarkKind
from infill.benchmarks.registry import register
from infill.benchmarks.sample import Benchmark, Sample
from infill.config.settings import KindSettings

# SantaCoder-FIM names look like "humaneval-HumanEval_75_is_multiply_prime.json-L24" (MultiPL-E's source). The
# sample id drops the "HumanEval" words: pytest's -k is case-insensitive, so `-k humaneval` would otherwise select
# every SantaCoder case too. The id stays unique and stable: "py/75_is_multiply_prime/L24".
MULTIPL_E_NAME = re.compile(r"^humaneval-HumanEval_(\d+_\w+)\.json-(L\d+)$")


def santacoder_sample_id(language: str, name: str) -> str:
    match = MULTIPL_E_NAME.match(name)
    return f"{language}/{match[1]}/{match[2]}" if match else f"{language}/{name}"


class SantaCoderFim(BenchmarkKind):
    name = "santacoder-fim"
    metrics = ("em_first_line", "em_full")
    mean_metrics = ("edit_similarity",)
    # As HumanEval-Infilling, but the smoke AR model keeps its verbatim output (the EM rules take the line
    # themselves) and needs fewer tokens for one line.
    settings = {"paper": PAPER,
                "tiny": KindSettings(replace(TINY.ar, max_new_tokens=24, postprocess="none"),
                                     replace(TINY.diffusion, postprocess="none"))}

    def to_sample(self, benchmark: Benchmark, index: int, row: dict) -> Sample:
        language = row.get("language", "py") or "py"
        return Sample(benchmark=benchmark.name, sample_id=santacoder_sample_id(language, row["name"]), index=index,
                      prefix=row["prompt"], suffix=row["suffix"], canonical=row["canonical_solution"],
                      test=row["tests"], entry_point="", language=language, task_type=benchmark.task_type)

    def diffusion_prefix(self, sample: Sample) -> str:
        """Open-dLLM's SantaCoder-FIM prefix is `prompt + "\\n"`: the line break before the middle is in neither
        field."""
        return sample.prefix + "\n"

    def describe_rules(self, rules: dict) -> list[str]:
        return ["Exact match (SantaCoder-FIM): both rules computed; tests pass or xfail by "
                f"`{rules.get('em_rule_deciding_tests')}`. " +
                "; ".join(f"`{name}` = {version}" for name, version in rules.get("em_rules", {}).items()) +
                f"; edit similarity `{rules.get('edit_similarity')}`."]

    def grader(self, tools):
        from infill.grading.match import ExactMatchGrader
        return ExactMatchGrader(tools.em_rule)


def _benchmark(language: str, size: int) -> Benchmark:
    return Benchmark(name=f"santacoder-fim-{language}", version="1", kind=SantaCoderFim.name,
                     data_file="santacoder-fim/santacoder-fim-task.all.jsonl.gz", size=size,
                     row_filter=("language", language), task_type=f"single-line {language}", id_prefix=f"{language}/",
                     groups=("santacoder",),
                     description=f"SantaCoder-FIM {language} (bigcode/santacoder-fim-task, openrail, evaluation only)")


register(SantaCoderFim(), [_benchmark("py", 1043), _benchmark("js", 1969), _benchmark("java", 1780)])
