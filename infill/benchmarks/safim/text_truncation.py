"""SAFIM's text-level post-processors for the control and api splits (no parser involved).

Transcribed in behaviour from prompt_utils.py (gonglinyuan/safim at commit 18a8099b): `truncate_to_first_line`
(lines 9-17, called without ``add_line_break``), `truncate_control` (lines 641-653) and `truncate_api_call`
(lines 656-665). A later version (83d9da1c) adds a default-off ``remove_colon`` option to `truncate_control`,
reachable only as the separate post-processor ``truncate_control_remove_colon`` (for its ``control_fixed`` split,
which is not in the shipped data); it is not reproduced here.
"""

from __future__ import annotations

from infill.benchmarks.safim.grammars import check_language


def truncate_to_first_line(completion: str) -> str:
    """The first line that is not blank (``line.strip()`` non-empty) of ``completion.splitlines()``, without
    its line end; ``""`` if every line is blank. Leading blank lines are skipped, the kept line keeps its
    indentation and trailing spaces."""
    for line in completion.splitlines():
        if line.strip():
            return line
    return ""


def _first_close_paren_reaching(completion: str, depth: int) -> int | None:
    """The index of the first ``)`` after which the running depth of ``(`` minus ``)`` is ``depth`` or below
    (it falls by one at a time: the first at ``depth``), None if there is none."""
    running = 0
    for i, ch in enumerate(completion):
        if ch == "(":
            running += 1
        elif ch == ")":
            running -= 1
            if running <= depth:
                return i
    return None


def cut_at_unmatched_close_paren(completion: str) -> str:
    """Everything before the first ``)`` that closes a parenthesis opened before the completion (the running
    depth of ``(`` minus ``)`` reaches -1); the whole completion if there is none. Parentheses inside string
    literals and comments count too: SAFIM scans characters, not tokens."""
    end = _first_close_paren_reaching(completion, -1)
    return completion if end is None else completion[:end]


def truncate_control(completion: str, *, lang: str, eval_prompt: str = "") -> str:
    """SAFIM `truncate_control`: Python keeps the first non-blank line (the hole is the rest of an ``if``/
    ``while``/``for`` header, colon included); C++, Java and C# cut before the ``)`` that closes the statement's
    own parenthesis (the hole is inside ``if (...)``, ``while (...)`` or ``for (...)``)."""
    if check_language(lang) == "python":
        return truncate_to_first_line(completion)
    return cut_at_unmatched_close_paren(completion)


def truncate_api_call(completion: str, *, lang: str = "", eval_prompt: str = "") -> str:
    """SAFIM `truncate_api_call`: keep everything up to and including the first ``)`` after which the running
    depth of ``(`` minus ``)`` is zero or below, i.e. the end of the first complete call; the whole completion if
    no such ``)`` exists. A completion starting with a stray ``)`` keeps just that ``)``. The language does not
    matter (SAFIM's function takes only the completion); a given one must still be one of SAFIM's."""
    if lang:
        check_language(lang)
    end = _first_close_paren_reaching(completion, 0)
    return completion if end is None else completion[:end + 1]
