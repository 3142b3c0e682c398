"""The command line: argument parsing (one-line usage errors) and main, which writes the diff and sets the exit
status."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infill.errors import InfillUsageError
from infill.reporting.compare.diff import ALPHA, compare
from infill.reporting.compare.render import _count, render
from infill.reporting.compare.runs import load_run

MAX_FLIPS = 20
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):          # one line, like every other infill-bench usage error
        raise InfillUsageError(f"{message}: see infill-bench compare --help")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="infill-bench compare",
                     description="Compare infill-bench runs: the first is the baseline. Writes a Markdown diff.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="a report directory or a summary.json")
    parser.add_argument("-o", "--output", help="write the Markdown here (default: stdout)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when a row dropped significantly against the baseline")
    parser.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    parser.add_argument("--max-flips", type=int, default=MAX_FLIPS,
                        help=f"sample ids listed per flip group (default {MAX_FLIPS}; counts are always given)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        raise InfillUsageError("give at least two runs (the baseline first): see infill-bench compare --help")
    if not 0 < args.alpha < 1:
        raise InfillUsageError(f"--alpha {args.alpha}: choose a level between 0 and 1, e.g. 0.05")
    if args.max_flips < 0:
        raise InfillUsageError(f"--max-flips {args.max_flips}: choose 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if len(args.runs) > len(LABELS):
            raise InfillUsageError(f"at most {len(LABELS)} runs at once")
        runs = [load_run(argument, LABELS[i]) for i, argument in enumerate(args.runs)]
        comparisons = [compare(runs[0], run, args.alpha) for run in runs[1:]]
        text = render(runs, comparisons, args.alpha, args.max_flips)
        if args.output:
            output = Path(args.output)
            temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
            try:
                temporary.write_text(text, encoding="utf-8")
                os.replace(temporary, output)     # never leave half a diff behind
            except OSError as exc:
                raise InfillUsageError(f"cannot write {output} ({exc.strerror}): pass -o with a writable "
                                       f"path") from None
    except InfillUsageError as error:
        sys.stderr.write(f"infill-bench compare: error: {error}\n")
        return 2
    drops = sum(len(c.drops) for c in comparisons)
    if args.output:
        gains = sum(len(c.gains) for c in comparisons)
        print(f"wrote {args.output}: {_count(drops, 'significant drop')}, {_count(gains, 'significant gain')} "
              f"against baseline {runs[0].label}")
    else:
        sys.stdout.write(text)
    return 1 if args.fail_on_regression and drops else 0
