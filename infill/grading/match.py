"""Grade a completion by exact match against the canonical middle: every registered EM rule and the edit
similarity are computed for each sample; the run's deciding rule sets pass/xfail (infill.grading.exact_match)."""

from __future__ import annotations

import time

from infill.benchmarks.sample import Sample
from infill.grading.exact_match import (
    EDIT_SIMILARITY_VERSION,
    EM_RULES,
    Rule,
    edit_similarity,
)
from infill.grading.verdict import MISMATCH, PASSED, Verdict


class ExactMatchGrader:
    def __init__(self, deciding_rule: Rule):
        self.rule = deciding_rule

    def rules(self) -> dict:
        return {"em_rule_deciding_tests": self.rule.name,
                "em_rules": {r.name: r.version for r in EM_RULES.values()}, "edit_similarity": EDIT_SIMILARITY_VERSION}

    def excluded(self, sample: Sample) -> str | None:
        """Every sample can be matched."""
        return None

    def prefetch(self, pairs: list[tuple[Sample, str]]) -> None:
        """Nothing to start ahead: matching is instant."""

    def grade(self, sample: Sample, completion: str) -> Verdict:
        started = time.perf_counter()
        metrics = {f"em_{name}": rule.function(completion, sample.canonical) for name, rule in EM_RULES.items()}
        metrics["edit_similarity"] = round(edit_similarity(completion, sample.canonical), 6)
        correct = metrics[f"em_{self.rule.name}"]
        detail = "" if correct else f"{self.rule.name} exact match failed"
        return Verdict(correct, PASSED if correct else MISMATCH, detail, metrics, time.perf_counter() - started)

    def close(self) -> None:
        """Holds nothing."""
