"""The code's shape, checked: no import cycle inside infill/, parsing options (and a usage error) imports no torch,
and modules and functions stay short enough to read at once (or say why not in their docstring)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "infill"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60
EXCUSE = "Why this is long:"             # a module or function longer than the limits says why in its docstring


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The infill modules a module imports anywhere in it (lazy imports inside functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                         for a in node.names)
    return {name for name in found if name in known}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None
    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_of_infill_has_no_cycle():
    found = modules()
    graph = {name: imports_of(path, set(found)) - {name} for name, path in found.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_reading_the_configuration_and_a_usage_error_import_no_torch():
    done = run_python("""
        import sys
        import infill.config.run_config as config
        from infill.errors import InfillUsageError
        assert "torch" not in sys.modules, "importing the configuration imported torch"
        config.parse_run_config({"infill_models": "tiny-qwen2-fim", "infill_limit": "5"})
        try:
            config.parse_run_config({"infill_models": "nope"})
        except InfillUsageError as error:
            print(error)
        assert "torch" not in sys.modules, "a usage error imported torch"
    """)
    assert done.returncode == 0, done.stderr
    assert "unknown model 'nope'" in done.stdout


def test_a_usage_error_from_pytest_imports_no_torch(tmp_path):
    probe = tmp_path / "torch_probe.py"
    probe.write_text("import sys\n\ndef pytest_unconfigure(config):\n"
                     f"    open({str(tmp_path / 'seen')!r}, 'w').write(str('torch' in sys.modules))\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "-p", "torch_probe", "--infill-models", "nope"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "seen").read_text() == "False"


def long_definitions() -> list[str]:
    too_long = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES and EXCUSE not in (ast.get_docstring(tree) or ""):
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and EXCUSE not in (ast.get_docstring(node) or ""):
                    too_long.append(f"{name}.{node.name}: {length} lines")
    return too_long


def test_modules_and_functions_are_short_or_say_why():
    assert long_definitions() == []
