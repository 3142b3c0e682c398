"""HumanEval-Infilling (openai/human-eval-infilling, MIT): four benchmarks graded by running the assembled program
in the sandbox; pass@1."""

from __future__ import annotations

from dataclasses import replace

from infill.benchmarks.kind import BenchmarkKind
from infill.benchmarks.registry import register
from infill.benchmarks.sample import Benchmark, Sample
from infill.config.settings import DiffusionConfig, GenerationConfig, KindSettings


def humaneval_program(prompt: str, completion: str, suffix: str, test: str, entry_point: str) -> str:
    """The reference assembly rule, verbatim: the completion is used as it is (single-line completions must end
    with their newline), then the tests and the call that runs them."""
    return prompt + completion + suffix + "\n" + test + "\n" + f"check({entry_point})"


# The published reruns (shared docs/evaluation-rules.md, open-dllm.md). AR: `model.generate(do_sample=True,
# temperature=0.6, max_new_tokens=512)` and nothing else, so top-k, top-p and the repetition penalty come from each
# model's generation_config.json, then transformers' defaults; nothing stripped; batch 64. Open-dCoder: the recorded
# rerun's re-masking p2 (Open-dLLM's code at that date), 64 steps, temperature 0.6, top-p 0.95, oracle length (the
# profile `open-dllm-readme` runs the original p2 of the Open-dLLM README figures instead).
PAPER = KindSettings(GenerationConfig(temperature=0.6, do_sample=True, max_new_tokens=512, postprocess="none",
                                      batch_size=64),
                     DiffusionConfig(steps=64, temperature=0.6, top_p=0.95, alg="p2_remask", postprocess="none"))
# The smoke models seldom emit end-of-text: single-line completions keep their first line, and generation stops at
# the first newline (exact under that rule). On CPU a diffusion step costs the model over the whole canvas, so the
# smoke runs keep 96 prefix and 32 suffix tokens around the hole and take 16 steps; the confidence length policy
# over-fills canvases, which first_line trims.
# The smoke profile sets every sampling setting itself (no model defaults) and runs the original p2.
TINY = KindSettings(GenerationConfig(temperature=0.6, top_p=0.95, top_k=0, repetition_penalty=1.0,
                                     max_new_tokens=48, postprocess="first_line", batch_size=32),
                    replace(PAPER.diffusion, alg="p2", steps=16, postprocess="first_line", batch_size=96,
                            window=(96, 32)))


class HumanEvalInfilling(BenchmarkKind):
    name = "humaneval-infill"
    metrics = ("pass@1",)
    settings = {"paper": PAPER, "tiny": TINY}
    executes_programs = True

    def to_sample(self, benchmark: Benchmark, index: int, row: dict) -> Sample:
        return Sample(benchmark=benchmark.name, sample_id=str(row["task_id"]), index=index, prefix=row["prompt"],
                      suffix=row["suffix"], canonical=row["canonical_solution"], test=row["test"],
                      entry_point=row.get("entry_point", "") or "", language="py", task_type=benchmark.task_type)

    def describe_rules(self, rules: dict) -> list[str]:
        return [f"Program assembly (HumanEval-Infill): `prompt + completion + suffix + \"\\n\" + test + \"\\n\" + "
                f"f\"check({{entry_point}})\"`, completion verbatim, run as `exec(program, {{}})` (not `__main__`); a "
                f"pass requires the tests to run to completion. Rule `{rules.get('execution')}`, timeout "
                f"{rules.get('timeout_s')} s, memory {rules.get('memory_mb')} MiB."]

    def grader(self, tools):
        from infill.grading.program import ProgramGrader
        return ProgramGrader(tools, program_of)


def program_of(sample: Sample, completion: str) -> str:
    return humaneval_program(sample.prefix, completion, sample.suffix, sample.test, sample.entry_point)


def _benchmark(name: str, file_stem: str, size: int, task_type: str) -> Benchmark:
    return Benchmark(name=name, version="1", kind=HumanEvalInfilling.name,
                     data_file=f"humaneval-infilling/HumanEval-{file_stem}.jsonl.gz", size=size, task_type=task_type,
                     id_prefix=f"{file_stem}/", groups=("humaneval",),
                     description=f"HumanEval-Infilling {task_type} (openai/human-eval-infilling, MIT)")


register(HumanEvalInfilling(), [
    _benchmark("humaneval-single-line", "SingleLineInfilling", 1033, "single-line"),
    _benchmark("humaneval-multi-line", "MultiLineInfilling", 5815, "multi-line"),
    _benchmark("humaneval-random-span", "RandomSpanInfilling", 1640, "random-span"),
    _benchmark("humaneval-random-span-light", "RandomSpanInfillingLight", 164, "random-span-light"),
])
