"""What SAFIM reads from a tree-sitter tree: its ERROR nodes and its enter/leave node-type trace.

SAFIM walks every node with a tree cursor (ASTVisitor.walk, ast_utils.py lines 66-91 at commit d37eaa66):
enter a node, go to its first child, else leave it and go to the next sibling, else climb to the parent (leaving
it) until a sibling exists. Two visitors are built on that walk:

- ErrorCheckVisitor (ast_utils.py lines 96-103) counts the nodes of type ``ERROR`` whose text is not ``;``.
  MISSING nodes (tokens tree-sitter inserted to recover, e.g. a missing ``)``) have their ordinary type, so they
  do not count: a program can have ``root.has_error`` and still pass SAFIM's check.
- ``with_ndtypes=True`` records ``(start_byte, True, type)`` on enter and ``(end_byte, False, type)`` on leave
  (lines 49 and 63); truncate_line_until_block compares these traces without the byte offsets.
"""

from __future__ import annotations

from infill.benchmarks.safim.grammars import parse

TraceStep = tuple[bool, str]      # (entering?, node type)


def _walk(tree, on_enter, on_leave) -> None:
    """SAFIM's cursor walk: pre-order enter, post-order leave, over every node (named or anonymous)."""
    cursor = tree.walk()
    has_next = True
    while has_next:
        node = cursor.node
        on_enter(node)
        has_next = cursor.goto_first_child()
        if not has_next:
            on_leave(node)
            has_next = cursor.goto_next_sibling()
        while not has_next and cursor.goto_parent():
            on_leave(cursor.node)
            has_next = cursor.goto_next_sibling()


def error_count(tree) -> int:
    """Number of ERROR nodes whose text is not ``;`` (SAFIM's ErrorCheckVisitor.error_cnt)."""
    if not tree.root_node.has_error:       # no ERROR and no MISSING node anywhere: nothing to count
        return 0
    count = 0

    def enter(node) -> None:
        nonlocal count
        if node.type == "ERROR" and node.text != b";":
            count += 1

    _walk(tree, enter, lambda node: None)
    return count


def error_count_and_trace(tree) -> tuple[int, list[TraceStep]]:
    """The error count and the node-type trace ``[(True, type) on enter, (False, type) on leave, ...]``."""
    count = 0
    trace: list[TraceStep] = []

    def enter(node) -> None:
        nonlocal count
        trace.append((True, node.type))
        if node.type == "ERROR" and node.text != b";":
            count += 1

    _walk(tree, enter, lambda node: trace.append((False, node.type)))
    return count, trace


def parses_cleanly(code: str, lang: str) -> bool:
    """SAFIM's syntax check (evaluate.py `check_syntax`, for Python): the tree-sitter tree of the UTF-8 encoded
    code has no ERROR node other than a lone ``;``."""
    return error_count(parse(code.encode("utf-8"), lang)) == 0
