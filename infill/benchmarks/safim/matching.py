"""SAFIM's two comparison rules between a completion and the ground truth (evaluate.py, gonglinyuan/safim).

- The ground-truth shortcut (evaluate.py line 74 at commit 6081d2e3): on a split with unit tests a
  completion that is ``==`` the ground truth is PASSED without running anything. Exact string equality: no strip,
  no line-end normalisation (a CRLF ground truth needs a CRLF completion).
- `syntax_match` (evaluate.py lines 23-48), the whole grade of the api split (no unit tests): remove every
  whitespace run from both strings (``re.sub(r"\\s+", "", s).strip()``). For Python, parse both with the standard
  library's ``ast.parse(..., mode="eval")`` (not tree-sitter); if both are call expressions, they match when
  their positional-argument ASTs (``ast.dump`` of each, in order) and their keyword-argument ASTs (a dict
  ``keyword -> ast.dump(value)``, so keyword order does not matter) are equal. The called function itself is
  NOT compared: ``np.ones(n)`` matches ``np.zeros(n)``. Otherwise (not Python, a parse failure, or not both
  calls) the whitespace-free strings are compared.

Differences from SAFIM's code, none of which changes a verdict: SAFIM catches parse failures with a bare
``except:``; here ``Exception`` is caught (SyntaxError, ValueError for NUL bytes, RecursionError and
MemoryError on deep nesting), so Ctrl-C still stops a run. ``ast.parse`` is the running interpreter's, as in
SAFIM, whose README used Python 3.8.12: code that only a newer grammar accepts can parse here and not there.
"""

from __future__ import annotations

import ast
import re

from infill.benchmarks.safim.grammars import check_language
from infill.errors import InfillUsageError

_WHITESPACE = re.compile(r"\s+")


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InfillUsageError(f"SAFIM {what} must be a string, got {type(value).__name__}")
    return value


def ground_truth_shortcut(completion: str, ground_truth: str) -> bool:
    """True when the completion is exactly the ground truth (then SAFIM reports PASSED without running)."""
    return _require_text(completion, "completion") == _require_text(ground_truth, "ground truth")


def remove_whitespace(code: str) -> str:
    """``re.sub(r"\\s+", "", code).strip()``, SAFIM's normalisation before comparing."""
    return _WHITESPACE.sub("", code).strip()


def call_arguments(call: ast.Call) -> tuple[list[str], dict]:
    """SAFIM `get_function_call_params`: ([ast.dump(arg) ...], {keyword: ast.dump(value)}); ``**kwargs``
    appears under the key ``None``, and a repeated key keeps its last value."""
    return [ast.dump(arg) for arg in call.args], {kw.arg: ast.dump(kw.value) for kw in call.keywords}


def _as_call(code: str) -> ast.Call | None:
    body = ast.parse(code, mode="eval").body
    return body if isinstance(body, ast.Call) else None


def syntax_match(completion: str, ground_truth: str, lang: str) -> bool:
    """SAFIM's api-split rule (see the module doc)."""
    code_1 = remove_whitespace(_require_text(completion, "completion"))
    code_2 = remove_whitespace(_require_text(ground_truth, "ground truth"))
    if check_language(lang) == "python":
        try:
            call_1, call_2 = _as_call(code_1), _as_call(code_2)
            if call_1 is not None and call_2 is not None:
                return call_arguments(call_1) == call_arguments(call_2)
        except Exception:        # SAFIM: bare except, then the string comparison below
            pass
    return code_1 == code_2
