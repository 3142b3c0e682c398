"""SAFIM's published summary line (show_detailed_results.py) and the figures published in that form.

The line is ``name, pass% cpp, java, python, csharp, all (6 decimals), then the failure counts EMPTY,
COMPILATION_ERROR, RUNTIME_ERROR, MEMORY_LIMIT_EXCEEDED, TIME_LIMIT_EXCEEDED, WRONG_ANSWER, MIXED``. A failed task
is counted once: its result string (EXACT_MATCH never counts), or the set of its tests' non-PASSED outcomes,
MIXED when that set has more than one outcome.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from infill.benchmarks.safim.grammars import LANGUAGES, check_language
from infill.benchmarks.safim.outcomes import (
    COMPILATION_ERROR,
    EMPTY,
    EXACT_MATCH,
    MEMORY_LIMIT_EXCEEDED,
    MIXED,
    PASSED,
    RUNTIME_ERROR,
    TIME_LIMIT_EXCEEDED,
    WRONG_ANSWER,
    SafimVerdict,
)
from infill.errors import InfillUsageError

RATE_COLUMNS = (*LANGUAGES, "all")
FAILURE_COLUMNS = (EMPTY, COMPILATION_ERROR, RUNTIME_ERROR, MEMORY_LIMIT_EXCEEDED, TIME_LIMIT_EXCEEDED,
                   WRONG_ANSWER, MIXED)


def failure_category(verdict: SafimVerdict) -> str | None:
    """The failure column a verdict is counted in; None for a passed task."""
    if verdict.passed:
        return None
    if isinstance(verdict.result, str):
        outcomes = set() if verdict.result == EXACT_MATCH else {verdict.result}
    else:
        outcomes = {o for o in verdict.result if o != PASSED}
    if len(outcomes) != 1:
        if outcomes:
            return MIXED
        raise InfillUsageError(f"a failed SAFIM verdict needs a failing outcome, got {verdict.result!r}")
    return outcomes.pop()


def detailed_results_row(name: str, verdicts: Iterable[tuple[str, SafimVerdict]]) -> list[str]:
    """show_detailed_results.py's CSV row from (lang, verdict) pairs. A language without tasks reads ``n/a``
    (SAFIM divides by zero there)."""
    passed, total, failures = Counter(), Counter(), Counter()
    for lang, verdict in verdicts:
        for key in (check_language(lang), "all"):
            passed[key] += int(verdict.passed)
            total[key] += 1
        category = failure_category(verdict)
        if category is not None:
            failures[category] += 1
    rates = [f"{passed[k] / total[k] * 100:.6f}" if total[k] else "n/a" for k in RATE_COLUMNS]
    return [name, *rates, *(str(failures[c]) for c in FAILURE_COLUMNS)]


@dataclass(frozen=True)
class PublishedRow:
    split: str
    setting: str          # model, prompt mode and post-processors
    line: str             # as printed in SAFIM's README
    source: str

    def rates(self) -> dict[str, float]:
        fields = self.line.split(",")
        return {column: float(value) for column, value in zip(RATE_COLUMNS, fields[1:6])}

    def failures(self) -> dict[str, int]:
        fields = self.line.split(",")
        return {column: int(value) for column, value in zip(FAILURE_COLUMNS, fields[6:])}


PUBLISHED_ROWS = (
    PublishedRow("control", "deepseek-ai/deepseek-coder-1.3b-base, PSM `infilling`, --post_processors "
                 "truncate_control", "deepseek-coder-1.3b-base-fim-tc,51.813153,56.777597,56.533333,59.176030,"
                 "54.096651,8,190,168,47,100,2884,564", "gonglinyuan/safim README.md"),
    PublishedRow("block", "gpt-3.5-turbo-0301, one-shot `fewshot`, --post_processors extract_code "
                 "truncate_fewshot truncate_line_until_block", "gpt-3.5-turbo-0301-few-ex-tb,28.381643,39.975797,"
                 "27.701863,22.495274,31.237900,308,1184,196,94,258,3291,707", "gonglinyuan/safim README.md"),
)
