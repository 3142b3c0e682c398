"""The main job's time on a fresh clone and where it goes (issue 18), measured, never asserted.

Clones this checkout's HEAD into a temporary folder and runs the main job there (`pytest bench_tests`: what
`./infill-bench report` runs after its installation step, with this interpreter) on a cold cache, then once more on
the cache the first run filled. Prints each run's wall time, the cold run's breakdown by piece and the ratio of the
two runs. The pieces are the stages the run meters itself (generating and scoring, per model and benchmark: the
finished-stage lines of its progress output) and the rest: start-up, collection, the pytest walk over the cases,
the grading that walk waits for, and the report. Both runs must give identical `summary.json` results (a cached
rerun reads what the cold run computed); the script says so, or exits 1.

    .venv/bin/python scripts/bench_main_job.py               # the whole main job, about 8 minutes cold
    .venv/bin/python scripts/bench_main_job.py --limit 64    # the first 64 samples of each benchmark
    .venv/bin/python scripts/bench_main_job.py --keep /tmp/main-job   # and keep both reports
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FINISHED = re.compile(r"^\[infill\] (\S+) (\S+): (.+?) (\d+)/(\d+) in ((?:\d+:)?\d+:\d\d) \(")


def seconds(clock: str) -> int:
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


def run_main_job(clone: Path, extra: list[str]) -> tuple[float, str, dict]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-p", "no:cacheprovider", *extra],
                          cwd=clone, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"bench_main_job: the main job failed (exit {done.returncode}):\n{done.stdout[-3000:]}"
                 f"{done.stderr[-2000:]}")
    return wall, done.stdout, json.loads((clone / "reports" / "latest" / "summary.json").read_text())


def keep(clone: Path, folder: Path | None, name: str) -> None:
    if folder is not None:
        shutil.copytree(clone / "reports" / "latest", folder / name, dirs_exist_ok=True)


def breakdown(output: str) -> list[tuple[str, int]]:
    """(piece, seconds) of every finished stage the run's progress reported, in the order they finished."""
    pieces = []
    for line in output.splitlines():
        match = FINISHED.match(line.strip())
        if match:
            model, benchmark, stage, _, total, clock = match.groups()
            pieces.append((f"{stage} {model} {benchmark} ({total})", seconds(clock)))
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="--infill-limit for both runs (default: none)")
    parser.add_argument("--keep", type=Path, help="copy both runs' reports here (KEEP/cold, KEEP/cached), e.g. to "
                                                  "compare with another commit's")
    args = parser.parse_args()
    extra = ["--infill-limit", str(args.limit)] if args.limit else []
    with tempfile.TemporaryDirectory(prefix="bench-main-job-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        cold, output, cold_summary = run_main_job(clone, extra)
        keep(clone, args.keep, "cold")
        warm, _, warm_summary = run_main_job(clone, extra)
        keep(clone, args.keep, "cached")
    pieces = breakdown(output)
    print(f"main job on a fresh clone ({'whole' if not args.limit else f'--infill-limit {args.limit}'}), "
          f"cold cache: {cold:.0f} s")
    for piece, spent in sorted(pieces, key=lambda p: -p[1]):
        print(f"  {spent:5d} s  {100 * spent / cold:4.1f}%  {piece}")
    rest = cold - sum(spent for _, spent in pieces)
    print(f"  {rest:5.0f} s  {100 * rest / cold:4.1f}%  the rest: start-up, collection, pytest walk, grading, report")
    print(f"rerun on the filled cache: {warm:.0f} s ({cold / warm:.1f}x faster than cold)")
    identical = cold_summary["results"] == warm_summary["results"]
    print(f"summary.json results identical between the two runs: {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
