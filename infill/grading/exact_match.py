"""Exact-match rules for SantaCoder-FIM. Two rules are in published use and give different numbers, so both are
computed for every sample and the report names which one decided the test outcome.

Each rule is a named, versioned function registered in `EM_RULES`; a change to a rule's behaviour bumps its
version, which is written next to every result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rapidfuzz.distance import Levenshtein as _Levenshtein


def first_line_of_completion(completion: str) -> str:
    """The line the first-line rule compares: skip one leading empty (or single-space) line, as the
    Qwen2.5-Coder fim-bench and Open-dLLM evaluators do, then keep up to the first newline."""
    if completion.startswith("\n") or completion.startswith(" \n"):
        return completion.split("\n", 2)[1]
    return completion.split("\n", 1)[0]


def first_line_exact_match(completion: str, canonical: str) -> bool:
    """Qwen2.5-Coder fim-bench / Open-dLLM rule: the completion's first line, stripped, equals the canonical
    middle, stripped. Text a model writes after that line is ignored."""
    return first_line_of_completion(completion).strip() == canonical.strip()


def full_exact_match(completion: str, canonical: str) -> bool:
    """bigcode-evaluation-harness rule: the whole completion, stripped, equals the canonical middle, stripped.
    Anything a model writes after the line counts against it."""
    return completion.strip() == canonical.strip()


def levenshtein(a: str, b: str) -> int:
    """Levenshtein distance (unit costs, on code points), computed by rapidfuzz in C: a bit-parallel algorithm,
    so a 50 MB line against a short canonical middle takes well under a second."""
    return _Levenshtein.distance(a, b)


def levenshtein_reference(a: str, b: str) -> int:
    """The textbook O(len(a) * len(b)) dynamic programme in pure Python: what `levenshtein` must equal (tests)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(completion: str, canonical: str) -> float:
    """1 - Levenshtein distance / length of the longer string, on the first-line-rule line and the canonical
    middle, both stripped; 1.0 when both are empty. A graded alternative to exact match."""
    a, b = first_line_of_completion(completion).strip(), canonical.strip()
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


@dataclass(frozen=True)
class Rule:
    name: str
    version: str
    function: Callable
    description: str


EM_RULES: dict[str, Rule] = {r.name: r for r in [
    Rule("first_line", "em-first-line-v1", first_line_exact_match,
         "first line of the completion (after one leading blank line), stripped == canonical stripped "
         "(Qwen2.5-Coder fim-bench, Open-dLLM)"),
    Rule("full", "em-full-v1", full_exact_match,
         "whole completion stripped == canonical stripped (bigcode-evaluation-harness)"),
]}
EDIT_SIMILARITY_VERSION = "edit-sim-v1"
