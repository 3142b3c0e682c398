"""SAFIM canonical self-check: every block and control task, ground truth in place, through the engine.

    python scripts/safim_canonical.py [--sample N] [--languages cpp,java] [--splits block]
        [--workers 2] [--cache-dir DIR] [--isolation auto] [--python-runtime python3] [--out FILE.json]

Appends each task's row to FILE.rows.jsonl as it completes (tasks in a hashed order, languages interleaved: a
stopped run still covers every language), then writes a JSON report (counts per language and split, wall time, isolation, toolchains, rule version, and every task
that did not pass with its verdict and detail) and prints the per-language PASSED/total. Exit status 0 always
(a failure is data here; the test suite judges known failures).
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from infill.grading.multilang import (  # noqa: E402
    ExecPool,
    PoolConfig,
    SandboxFailure,
    ToolchainUnavailable,
    safim_tasks,  # noqa: E402
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=0, help="per split and language (0: every task)")
    parser.add_argument("--languages", default=",".join(safim_tasks.LANGUAGES))
    parser.add_argument("--splits", default=",".join(safim_tasks.SPLITS))
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--isolation", default="auto")
    parser.add_argument("--python-runtime", default="python3")
    parser.add_argument("--out", type=Path, default=Path("reports/safim_canonical.json"))
    return parser.parse_args()


def grade_all(pool: ExecPool, tasks: list, rows_file: Path | None = None, progress_every: float = 60.0) -> list[dict]:
    """Every task's row (also appended to ``rows_file`` as it completes: a stopped run keeps what it did)."""
    futures, rows = [], []
    sink = open(rows_file, "a", encoding="utf-8") if rows_file else None
    for task in tasks:
        try:
            futures.append((task, pool.submit(task.job)))
        except ToolchainUnavailable as exc:
            rows.append({"task_id": task.task_id, "language": task.language, "split": task.split,
                         "verdict": "TOOLCHAIN_UNAVAILABLE", "detail": exc.reason})
    start = last = time.monotonic()
    for done, (task, future) in enumerate(futures, 1):
        try:
            outcome = future.result()
            row = {"verdict": outcome.verdict, "detail": outcome.detail, "seconds": round(outcome.seconds, 3),
                   "tests_run": outcome.tests_run}
        except SandboxFailure as exc:
            row = {"verdict": "SANDBOX_FAILURE", "detail": str(exc)[:300]}
        rows.append({"task_id": task.task_id, "language": task.language, "split": task.split, **row})
        if sink:
            sink.write(json.dumps(rows[-1]) + "\n")
            sink.flush()
        if time.monotonic() - last > progress_every:
            last = time.monotonic()
            rate = done / (last - start)
            print(f"  {done}/{len(futures)} ({rate:.2f}/s, about {(len(futures) - done) / rate / 60:.0f} min left)",
                  file=sys.stderr, flush=True)
    if sink:
        sink.close()
    return rows


def summary(rows: list[dict]) -> dict:
    counts: dict = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for row in rows:
        counts[row["language"]][row["split"]][row["verdict"]] += 1
    return {lang: {split: dict(c) for split, c in by_split.items()} for lang, by_split in counts.items()}


def main() -> int:
    args = arguments()
    tasks = safim_tasks.load(args.splits.split(","), args.languages.split(","))
    if args.sample:
        tasks = safim_tasks.stratified(tasks, args.sample)
    tasks.sort(key=lambda t: hashlib.sha256(t.task_id.encode()).hexdigest())  # languages interleaved
    config = PoolConfig(workers=args.workers, isolation=args.isolation, cache_dir=args.cache_dir,
                        python_runtime=args.python_runtime)
    start = time.monotonic()
    with ExecPool(config) as pool:
        print(f"{len(tasks)} tasks; {pool.isolation}", file=sys.stderr, flush=True)
        rows = grade_all(pool, tasks, args.out.with_suffix(".rows.jsonl"))
        report = {"command": " ".join(sys.argv), "wall_seconds": round(time.monotonic() - start, 1),
                  "isolation": pool.isolation, "rule_version": pool.rule_version(),
                  "toolchains": {k: v.version or v.reason for k, v in pool.toolchains().items()},
                  "compile_cache": {"hits": pool.cache.hits, "misses": pool.cache.misses},
                  "counts": summary(rows), "not_passed": [r for r in rows if r["verdict"] != "PASSED"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    for language, by_split in report["counts"].items():
        passed = sum(c.get("PASSED", 0) for c in by_split.values())
        total = sum(sum(c.values()) for c in by_split.values())
        print(f"{language}: {passed}/{total} PASSED ({100 * passed / total:.2f}%)")
    print(f"wall time {report['wall_seconds']} s; report {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
