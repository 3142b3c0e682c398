"""How SAFIM turns a row into a program and a PSM prompt.

- The graded program is ``eval_prompt.replace("{{completion}}", completion)`` (evaluate.py's COMPILATION_ERROR
  check, exec_utils.py `run_test`): the completion goes in verbatim, CRLF line ends and all.
- The post-processors split ``eval_prompt`` at the placeholder and unpack exactly two parts.
- The PSM ``infilling`` prompt does not use ``eval_prompt``: prompt_utils.py `get_infilling_parts` splits the
  row's ``prompt`` (an instruction header "Complete the code in <lang>..." and, for block/control, the problem
  statement, then the program) at the language's TODO comment, asserting two parts; nothing is stripped.
"""

from __future__ import annotations

from infill.benchmarks.safim.grammars import check_language
from infill.errors import InfillUsageError

PLACEHOLDER = "{{completion}}"

# prompt_utils.py COMPLETION_PLACEHOLDER: the hole as written in the row's `prompt`
TODO_COMMENT = {
    "python": "# TODO: Your code here",
    "java": "/* TODO: Your code here */",
    "cpp": "/* TODO: Your code here */",
    "csharp": "/* TODO: Your code here */",
}


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InfillUsageError(f"SAFIM {what} must be a string, got {type(value).__name__}")
    return value


def split_at_placeholder(eval_prompt: str) -> tuple[str, str]:
    """(prefix, suffix) of an ``eval_prompt`` around its single ``{{completion}}``."""
    parts = _require_text(eval_prompt, "eval_prompt").split(PLACEHOLDER)
    if len(parts) != 2:
        raise InfillUsageError(f"a SAFIM eval_prompt must hold {PLACEHOLDER} exactly once; this one holds it "
                               f"{len(parts) - 1} times")
    return parts[0], parts[1]


def assemble_program(eval_prompt: str, completion: str) -> str:
    """The program SAFIM grades: the completion substituted verbatim for the placeholder."""
    split_at_placeholder(eval_prompt)
    return eval_prompt.replace(PLACEHOLDER, _require_text(completion, "completion"))


def infilling_parts(prompt: str, lang: str) -> tuple[str, str]:
    """(prefix, suffix) of SAFIM's PSM ``infilling`` prompt: the row's ``prompt`` split at the TODO comment."""
    comment = TODO_COMMENT[check_language(lang)]
    parts = _require_text(prompt, "prompt").split(comment)
    if len(parts) != 2:
        raise InfillUsageError(f"a SAFIM {lang} prompt must hold {comment!r} exactly once; this one holds it "
                               f"{len(parts) - 1} times")
    return parts[0], parts[1]
