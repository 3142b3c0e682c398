"""SAFIM's rules by name and version, so a run can record which ones decided its numbers.

A version changes whenever a rule's behaviour changes. Rules marked ``tree_sitter`` also depend on the installed
grammars: record `grammar_versions()` with their results.

Post-processors take ``(completion, *, lang, eval_prompt) -> str``, the fields of a SAFIM row they may need;
SAFIM applies them in the order given on its command line (prompt_utils.py `apply_postprocessors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from infill.benchmarks.safim.block_truncation import truncate_line_until_block
from infill.benchmarks.safim.grammars import grammar_versions
from infill.benchmarks.safim.matching import ground_truth_shortcut, syntax_match
from infill.benchmarks.safim.outcomes import is_empty_failure, is_python_compilation_error
from infill.benchmarks.safim.text_truncation import truncate_api_call, truncate_control
from infill.errors import InfillUsageError, choose_from


@dataclass(frozen=True)
class SafimRule:
    name: str
    version: str
    function: Callable
    tree_sitter: bool
    description: str


@dataclass(frozen=True)
class PostProcessor:
    name: str
    version: str
    split: str            # the split SAFIM's README pairs it with
    function: Callable[..., str]
    tree_sitter: bool
    description: str

    def __call__(self, completion: str, *, lang: str, eval_prompt: str) -> str:
        if not isinstance(completion, str):
            raise InfillUsageError(f"post-processor {self.name}: the completion must be a string, "
                                   f"got {type(completion).__name__}")
        return self.function(completion, lang=lang, eval_prompt=eval_prompt)


EVALUATION_RULES: dict[str, SafimRule] = {r.name: r for r in [
    SafimRule("ground_truth_shortcut", "safim-gt-shortcut-v1", ground_truth_shortcut, False,
              "block/control: completion == ground_truth (exact, no strip) is PASSED without running"),
    SafimRule("syntax_match", "safim-syntax-match-v1", syntax_match, False,
              "api: whitespace-free strings equal; Python calls: equal positional and keyword argument ASTs "
              "(stdlib ast; the callee is not compared)"),
    SafimRule("empty", "safim-empty-v1", is_empty_failure, False,
              "a failed completion that is blank (not completion.strip()) is EMPTY"),
    SafimRule("python_compilation_error", "safim-py-compilation-error-v1", is_python_compilation_error, True,
              "a failed Python completion whose program has a tree-sitter ERROR node (other than ';') is "
              "COMPILATION_ERROR, overriding EMPTY"),
]}

POST_PROCESSORS: dict[str, PostProcessor] = {p.name: p for p in [
    PostProcessor("truncate_line_until_block", "safim-truncate-block-v1", "block", truncate_line_until_block,
                  True, "drop last lines until the completion is whole statements that leave the program around "
                  "the hole parsed as with an empty hole"),
    PostProcessor("truncate_control", "safim-truncate-control-v1", "control", truncate_control, False,
                  "Python: first non-blank line; C++/Java/C#: cut before the first unmatched ')'"),
    PostProcessor("truncate_api_call", "safim-truncate-api-v1", "api", truncate_api_call, False,
                  "keep up to the ')' that closes the first complete call"),
]}


def get_post_processor(name: str) -> PostProcessor:
    try:
        return POST_PROCESSORS[name]
    except KeyError:
        raise InfillUsageError(choose_from("SAFIM post-processor", name, POST_PROCESSORS)) from None


def apply_post_processors(names: Iterable[str], completion: str, *, lang: str, eval_prompt: str) -> str:
    """Apply the named post-processors in order, as SAFIM's generate.py does with --post_processors."""
    for processor in [get_post_processor(name) for name in names]:
        completion = processor(completion, lang=lang, eval_prompt=eval_prompt)
    return completion


def rules_record(post_processors: Iterable[str] = ()) -> dict:
    """What to write next to a SAFIM result: the versions of the evaluation rules, of the post-processors that
    ran (in order), and of the tree-sitter packages."""
    return {
        "evaluation_rules": {r.name: r.version for r in EVALUATION_RULES.values()},
        "post_processors": [{"name": p.name, "version": p.version}
                            for p in [get_post_processor(name) for name in post_processors]],
        "tree_sitter": grammar_versions(),
    }
