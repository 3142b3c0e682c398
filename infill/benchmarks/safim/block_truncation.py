"""SAFIM's `truncate_line_until_block`: drop a completion's last lines until it fills the hole with whole blocks.

Transcribed in behaviour from prompt_utils.py (gonglinyuan/safim at commit 18a8099b: `match_prefix_and_suffix`
lines 583-596, `truncate_line_until_block` lines 599-638; unchanged at 83d9da1c):

1. Split the completion with ``str.splitlines(keepends=True)`` (so CRLF, CR and the other Unicode line breaks
   end lines, and each line keeps its own ending).
2. While lines are left: build ``prefix + lines + suffix`` (prefix/suffix = ``eval_prompt`` split at
   ``{{completion}}``, all UTF-8 bytes). If its tree has an ERROR node (other than a lone ``;``), drop the last
   line and retry.
3. Compare its node-type trace with the trace of the program whose hole holds nothing (Python: ``pass``). If the
   empty program's trace is longer, drop the last line. Otherwise match the two traces from the front and from
   the back; the completion is accepted when every step of the empty program's trace is matched, less the 4 steps
   of the ``pass`` statement for Python (enter/leave ``pass_statement`` and its ``pass`` token). Else drop the
   last line.
4. The accepted lines, joined; the empty string if none was accepted.

In words: the completion is cut at the last line boundary where it is a sequence of complete statements that
leaves the program around the hole parsed exactly as before, so text a model wrote past the hole (closing
braces, the suffix's own statements, a new function) is dropped.

One case SAFIM does not define: it asserts that the empty program parses without errors (checked only once a
candidate parsed cleanly), and its generate.py then stops the whole run without writing any output. Here that
case raises `EmptyHoleDoesNotParse`, a one-line usage error naming the task's language and the grammar versions.
On the block split, the split this post-processor is published for, no task can reach it with the pinned
grammars: the 14 C++ tasks whose empty program has an ERROR node have it outside the hole, so no candidate
parses either (tests/test_safim_postprocess.py measures this). Control and api holes are inside expressions, so
there an empty hole usually does not parse: do not use this post-processor on them.
"""

from __future__ import annotations

from infill.benchmarks.safim.grammars import check_language, grammar_versions, parse
from infill.benchmarks.safim.program import split_at_placeholder
from infill.benchmarks.safim.syntax_tree import TraceStep, error_count_and_trace
from infill.errors import InfillUsageError

PYTHON_PASS_STEPS = 4      # enter pass_statement, enter "pass", leave "pass", leave pass_statement


class EmptyHoleDoesNotParse(InfillUsageError):
    """The program with nothing (Python: ``pass``) in the hole has an ERROR node: SAFIM's assertion fails."""


def match_prefix_and_suffix(trace_0: list, trace_1: list) -> tuple[int, int]:
    """Length of the common prefix of the two lists, and minus the length of their common suffix (both counted
    independently, so they may overlap), as SAFIM's `match_prefix_and_suffix` returns them."""
    p = 0
    while p < len(trace_0) and p < len(trace_1) and trace_0[p] == trace_1[p]:
        p += 1
    q = 0
    while -q < len(trace_0) and -q < len(trace_1) and trace_0[q - 1] == trace_1[q - 1]:
        q -= 1
    return p, q


def _empty_hole_trace(prefix: bytes, suffix: bytes, lang: str) -> list[TraceStep]:
    code = prefix + (b"pass" if lang == "python" else b"") + suffix
    errors, trace = error_count_and_trace(parse(code, lang))
    if errors:
        versions = ", ".join(f"{k} {v}" for k, v in grammar_versions().items())
        raise EmptyHoleDoesNotParse(
            f"truncate_line_until_block: this {lang} program does not parse with an empty hole ({errors} "
            f"tree-sitter ERROR node(s); SAFIM's own code stops on an assertion here). It is meant for the block "
            f"split; with {versions}")
    return trace


def trace_fills_hole(empty_trace: list[TraceStep], trace: list[TraceStep], lang: str) -> bool:
    """SAFIM's acceptance test (step 3): every step of the empty program's trace is matched from the front or
    the back of the candidate's trace, less the ``pass`` statement's steps for Python."""
    if len(empty_trace) > len(trace):
        return False
    matched_front, matched_back = match_prefix_and_suffix(empty_trace, trace)
    unmatched = len(empty_trace) - (matched_front - matched_back)
    if lang == "python":
        unmatched -= PYTHON_PASS_STEPS
    return unmatched == 0


def truncate_line_until_block(completion: str, *, lang: str, eval_prompt: str) -> str:
    """The longest run of the completion's first lines that SAFIM accepts as whole blocks (see module doc)."""
    check_language(lang)
    prefix, suffix = (part.encode("utf-8") for part in split_at_placeholder(eval_prompt))
    lines = completion.splitlines(keepends=True)
    empty_trace: list[TraceStep] | None = None
    while lines:
        errors, trace = error_count_and_trace(parse(prefix + "".join(lines).encode("utf-8") + suffix, lang))
        if errors == 0:
            if empty_trace is None:      # SAFIM parses the empty program only once a candidate parsed cleanly
                empty_trace = _empty_hole_trace(prefix, suffix, lang)
            if trace_fills_hole(empty_trace, trace, lang):
                break
        lines.pop()
    return "".join(lines)
