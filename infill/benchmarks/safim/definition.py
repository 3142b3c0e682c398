"""SAFIM (Gong et al., ICML 2024; gonglinyuan/safim, MIT; problems from https://codeforces.com): syntax-aware FIM in
C++, Java, Python and C#, as three benchmarks of one kind.

- `safim-block` (8781, algorithmic block completion) and `safim-control` (8629, control-flow expressions): the
  program (`eval_prompt` with the completion) compiled and run against each unit test's stdin in the sandbox with
  ExecEval's comparison, stopping at the first failure (infill.grading.unit_tests); `safim-api` (310, API calls):
  SAFIM's `syntax_match`, nothing runs.
- Sample ids are the dataset's task id and the language (`block_completion_000000/java`), so `-k "safim and cpp"`
  selects one language. The api file's ids read `block_completion_...` (they collide with the block split); here
  they are `api_completion_...`, and a SAFIM generations file of the api split is matched by number
  (`MODEL:safim-api=PATH`).
- Prefix and suffix are `eval_prompt` around `{{completion}}` (CRLF kept); an AR model's PSM prompt starts with the
  row's instruction header, as SAFIM's `infilling` prompt does (FACTS.md).
- Settings: SAFIM's own open-model generation (temperature 0.2, top-p 0.95, 128 new tokens) and its per-split
  syntax-aware truncation (`safim_syntax`) under `paper`; the smoke models under `tiny`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace

from infill.benchmarks.humaneval import PAPER, TINY
from infill.benchmarks.kind import BenchmarkKind
from infill.benchmarks.registry import register
from infill.benchmarks.safim.program import infilling_parts, split_at_placeholder
from infill.benchmarks.sample import Benchmark, Sample
from infill.config.settings import KindSettings

LANGUAGES = ("cpp", "java", "python", "csharp")
SPLITS = {"block": 8781, "control": 8629, "api": 310}


class Safim(BenchmarkKind):
    name = "safim"
    metrics = ("pass@1",)
    executes_programs = True
    settings = {
        "paper": KindSettings(replace(PAPER.ar, temperature=0.2, top_p=0.95, max_new_tokens=128,
                                      postprocess="safim_syntax"),
                              replace(PAPER.diffusion, postprocess="safim_syntax")),
        "tiny": KindSettings(replace(TINY.ar, max_new_tokens=48, postprocess="safim_syntax"),
                             replace(TINY.diffusion, postprocess="safim_syntax")),
    }

    def to_sample(self, benchmark: Benchmark, index: int, row: dict) -> Sample:
        split = benchmark.task_type
        number = row["task_id"].rsplit("_", 1)[1]
        prefix, suffix = split_at_placeholder(row["eval_prompt"])
        head = infilling_parts(row["prompt"], row["lang"])[0]      # the PSM prompt's prefix: header + program
        if not head.endswith(prefix):
            raise KeyError("prompt")            # not the shipped row: the loader says so in one line
        header = head[:len(head) - len(prefix)]
        return Sample(benchmark=benchmark.name, sample_id=f"{split}_completion_{number}/{row['lang']}", index=index,
                      prefix=prefix, suffix=suffix, canonical=row["ground_truth"],
                      test=json.dumps(row["unit_tests"]), entry_point="", language=row["lang"], task_type=split,
                      extra={"eval_prompt": row["eval_prompt"], "psm_header": header})

    def prompt_prefix(self, sample: Sample) -> str:
        return sample.extra["psm_header"] + sample.prefix

    def replay_id(self, benchmark: Benchmark, task_id: str) -> str:
        """SAFIM's generations name a task without its language (and api tasks `block_completion_...`)."""
        from infill.benchmarks.loading import load_benchmark
        number = task_id.rsplit("/", 1)[0].rsplit("_", 1)[-1]
        wanted = f"{benchmark.task_type}_completion_{number}/"
        return next((s.sample_id for s in load_benchmark(benchmark.name).samples if s.sample_id.startswith(wanted)),
                    task_id)

    def describe_rules(self, rules: dict) -> list[str]:
        return [f"SAFIM: a completion equal to the ground truth passes unrun; block/control programs are compiled "
                f"and run against every unit test (stop at the first failure, ExecEval's comparison), api "
                f"completions by `syntax_match`; EMPTY and Python COMPILATION_ERROR as published. Rules "
                f"{rules.get('safim_rules')}; engine `{rules.get('multilang')}`; tree-sitter "
                f"{rules.get('tree_sitter')}."]

    def summary_details(self, rows: list[dict]) -> dict:
        """Per language: samples, passed and every verdict's count (SAFIM's detailed results)."""
        by_language: dict[str, dict] = defaultdict(lambda: {"n": 0, "passed": 0, "verdicts": Counter()})
        for row in rows:
            entry = by_language[row.get("language", "?")]
            entry["n"] += 1
            entry["passed"] += bool(row["correct"])
            entry["verdicts"][row["status"]] += 1
        return {"by_language": {lang: {**e, "verdicts": dict(sorted(e["verdicts"].items()))}
                                for lang, e in sorted(by_language.items())}}

    def grader(self, tools):
        from infill.grading.unit_tests import UnitTestGrader
        return UnitTestGrader(tools)


register(Safim(), [Benchmark(f"safim-{split}", "1", Safim.name, f"safim/{split}_completion.jsonl.gz", size,
                             task_type=split, id_prefix=f"{split}_completion_", groups=("safim",),
                             description=f"SAFIM {split} completion (gonglinyuan/safim, MIT; Codeforces)")
                   for split, size in SPLITS.items()])
