"""Grade SAFIM completions with the published verdict order (infill.benchmarks.safim.outcomes): the ground truth
passes unrun, an api completion by `syntax_match`, anything else by compiling and running the program against the
sample's unit tests in the multi-language sandbox (infill.grading.multilang); EMPTY and Python COMPILATION_ERROR as
SAFIM decides them.

Programs of a group are submitted together (`prefetch`) and graded as each finishes. A language whose toolchain is
missing is excluded from the run (`excluded`), never graded as a failure. Verdicts the program alone decides are
kept on disk (passed, wrong answer, runtime and compilation errors); time and memory limits depend on the machine
and are graded again on the next run.
"""

from __future__ import annotations

import json
from concurrent.futures import Future

from infill.benchmarks.safim.grammars import grammar_versions
from infill.benchmarks.safim.outcomes import safim_verdict
from infill.benchmarks.safim.program import assemble_program
from infill.benchmarks.safim.registry import EVALUATION_RULES
from infill.benchmarks.sample import Sample
from infill.grading.tools import GradingTools
from infill.grading.verdict import SANDBOX_ERROR, Verdict

KEPT = ("PASSED", "WRONG_ANSWER", "RUNTIME_ERROR", "COMPILATION_ERROR")


class UnitTestGrader:
    def __init__(self, tools: GradingTools):
        self.tools = tools
        self.pending: dict[str, Future] = {}

    @property
    def pool(self):
        return self.tools.exec_pool

    def rules(self) -> dict:
        return {"safim_rules": {r.name: r.version for r in EVALUATION_RULES.values()},
                "multilang": self.pool.rule_version(), "tree_sitter": grammar_versions()}

    def excluded(self, sample: Sample) -> str | None:
        """Why this sample cannot be graded here (its language has no toolchain), or None."""
        if not json.loads(sample.test):
            return None                     # api: syntax match, nothing runs
        toolchain = self.pool.toolchain(sample.language)
        return None if toolchain.available else f"{sample.language}: {toolchain.reason}"

    def prefetch(self, pairs: list[tuple[Sample, str]]) -> tuple[int, int] | None:
        """Start every program that runs; returns (outcomes the cache held, programs that run), None without a
        cache folder."""
        needed, hits = set(), 0
        for sample, completion in pairs:
            if self._runs(sample, completion):
                key = self._submit(sample, assemble_program(sample.extra["eval_prompt"], completion))
                hits += key not in needed and key not in self.pending
                needed.add(key)
        return None if self.tools.verdict_dir is None else (hits, len(needed))

    def _runs(self, sample: Sample, completion: str) -> bool:
        return bool(json.loads(sample.test)) and completion != sample.canonical

    def _submit(self, sample: Sample, program: str) -> str:
        from infill.grading.multilang import Job
        key = self.tools.outcomes.key(sample.language, program, sample.test)
        if key not in self.pending and self.tools.outcomes.get(key) is None:
            self.pending[key] = self.pool.submit(Job(sample.language, program, tuple(json.loads(sample.test))))
        return key

    def outcome(self, sample: Sample, program: str):
        """The program's ExecEval verdict and detail: from the outcomes kept on disk, or run now."""
        key = self._submit(sample, program)
        known = self.tools.outcomes.get(key)
        if known is not None:
            return known
        outcome = self.pending.pop(key).result()
        if outcome.verdict in KEPT:
            self.tools.outcomes.put(key, outcome)
        return outcome

    def grade(self, sample: Sample, completion: str) -> Verdict:
        from infill.grading.multilang import SandboxFailure
        ran: list = []

        def run_tests(program: str) -> list[str]:
            ran.append(self.outcome(sample, program))
            return [ran[-1].verdict]
        try:
            verdict = safim_verdict(completion, lang=sample.language, eval_prompt=sample.extra["eval_prompt"],
                                    ground_truth=sample.canonical, has_unit_tests=bool(json.loads(sample.test)),
                                    run_tests=run_tests)
        except SandboxFailure as error:     # the sandbox's fault: an error, never the model's failure
            return Verdict(False, SANDBOX_ERROR, str(error)[:500], {"language": sample.language})
        result = verdict.result if isinstance(verdict.result, str) else verdict.result[-1]
        detail = "" if verdict.passed else (ran[0].detail if ran and ran[0].detail else result)
        seconds = ran[0].seconds if ran else 0.0
        return Verdict(verdict.passed, "PASSED" if verdict.passed else result, detail,
                       {"language": sample.language, **({"isolation": self.pool.isolation} if ran else {})}, seconds)

    def close(self) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()
