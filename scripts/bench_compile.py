"""Programs per second of the multi-language engine against the straightforward way, measured in the same run.

    python scripts/bench_compile.py [--cpp 40] [--java 20] [--workers 2] [--seed bench]

The programs are SAFIM ground truths (C++ and Java, chosen by a hash of the task id). The straightforward way is
ExecEval's: per program one fresh compiler call (ExecEval's command line: no precompiled header, the javac
command), then one fresh process per unit test under the same rlimits (and, as in the engine, without address-space
randomisation), no sandbox; ``--workers`` programs at a time.
The engine starts with an empty compile cache (its precompiled header is built first and timed apart: it is made
once per compiler). Both are graded by the same rules; the script fails if any verdict differs. A second engine
pass (every compilation cached) is reported too. Timings on a shared machine are noisy: re-measure before quoting.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from infill.grading.multilang import ExecPool, PoolConfig, safim_tasks  # noqa: E402
from infill.grading.multilang.compare import crlf_to_lf  # noqa: E402
from infill.grading.multilang.languages import COMPILE_TIMEOUT_S, languages  # noqa: E402
from infill.grading.multilang.sandbox import COMPILE_ENV, PROGRAM_ENV  # noqa: E402
from infill.grading.multilang.verdicts import (  # noqa: E402
    COMPILATION_ERROR,
    OUTPUT_LIMIT,
    PASSED,
    RunFacts,
    run_verdict,
    wall_backstop,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infill" / "grading" / "multilang"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infill" / "grading"))
import runner_exec  # noqa: E402  (the engine's own rlimit code, so that both ways run under the same limits)


def _run_test(argv: list[str], cwd: str, limits: dict, limit_s: int, stdin: bytes) -> RunFacts:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(PROGRAM_ENV, HOME=cwd, TMPDIR=cwd), start_new_session=True,
                            preexec_fn=lambda: (runner_exec.no_aslr(), runner_exec.apply_limits(limits, limit_s, False)))
    try:
        out, err = proc.communicate(stdin, timeout=wall_backstop(limit_s))
        killed = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        killed = True
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    code = proc.returncode
    return RunFacts(code if code >= 0 else None, -code if code < 0 else None, cpu, time.monotonic() - start, killed,
                    out[:OUTPUT_LIMIT], err, len(out) > OUTPUT_LIMIT)


def straightforward(language: str, source: str, tests: list[dict]) -> str:
    """ExecEval's way: one compiler call, then one process per test, stop at the first failure."""
    lang = languages()[language]
    source = crlf_to_lf(source)
    name = lang.source_name(source)
    if name is None:
        return COMPILATION_ERROR
    with tempfile.TemporaryDirectory() as work:
        Path(work, name).write_text(source, encoding="utf-8")
        try:
            made = subprocess.run(lang.compile_argv(name, work), cwd=work, capture_output=True, env=COMPILE_ENV,
                                  timeout=COMPILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return COMPILATION_ERROR
        if made.returncode != 0:
            return COMPILATION_ERROR
        for test in tests:
            facts = _run_test(lang.run_argv(name, work), work, lang.limits, lang.time_limit_s,
                              crlf_to_lf(test["input"]).encode())
            verdict, _ = run_verdict(facts, test["output"], lang.time_limit_s)
            if verdict != PASSED:
                return verdict
    return PASSED


def _straightforward_job(task) -> str:
    return straightforward(task.language, task.job.source, list(task.job.tests))


def time_straightforward(tasks, workers: int) -> tuple[float, list[str]]:
    start = time.monotonic()
    with concurrent.futures.ProcessPoolExecutor(workers) as executor:
        verdicts = list(executor.map(_straightforward_job, tasks))
    return time.monotonic() - start, verdicts


def time_engine(pool: ExecPool, tasks) -> tuple[float, list[str]]:
    start = time.monotonic()
    futures = [pool.submit(t.job) for t in tasks]
    verdicts = [f.result().verdict for f in futures]
    return time.monotonic() - start, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpp", type=int, default=40)
    parser.add_argument("--java", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", default="bench")
    args = parser.parse_args()
    everything = safim_tasks.load(("block", "control"), ("cpp", "java"))
    chosen = {lang: [t for t in safim_tasks.stratified(everything, n, args.seed) if t.language == lang][:n]
              for lang, n in (("cpp", args.cpp), ("java", args.java))}
    with tempfile.TemporaryDirectory() as cache, ExecPool(PoolConfig(workers=args.workers, cache_dir=cache)) as pool:
        start = time.monotonic()
        pool.pch_dir()
        print(f"precompiled header built once in {time.monotonic() - start:.1f} s")
        mismatches = 0
        for lang, tasks in chosen.items():
            base_s, base_v = time_straightforward(tasks, args.workers)
            cold_s, cold_v = time_engine(pool, tasks)
            warm_s, warm_v = time_engine(pool, tasks)
            bad = [(t.task_id, a, b, c) for t, a, b, c in zip(tasks, base_v, cold_v, warm_v) if not a == b == c]
            mismatches += len(bad)
            for row in bad:
                print("  verdicts differ:", row)
            n = len(tasks)
            print(f"{lang}: {n} programs; straightforward {n / base_s:.2f}/s; engine {n / cold_s:.2f}/s "
                  f"({base_s / cold_s:.1f}x); engine, compile cache warm {n / warm_s:.2f}/s ({base_s / warm_s:.1f}x); "
                  f"verdicts {'identical' if not bad else f'{len(bad)} DIFFER'}")
    print(f"(workers {args.workers}, {os.cpu_count()} CPUs; provisional: the machine is shared)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
