"""`infill-bench merge SHARD_DIR... -o OUT_DIR [--gates FILE]` (also `python -m infill.reporting.merge`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from infill.errors import InfillUsageError
from infill.reporting.merge.combine import merge_shards


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="infill-bench merge", description="Merge the report folders of the "
                                     "shards of one run (--shard I/N) into one report.")
    parser.add_argument("shard_dirs", nargs="+", type=Path, metavar="SHARD_DIR",
                        help="the --infill-report-dir of each shard run")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT_DIR",
                        help="where the merged report.md, summary.json and samples.jsonl go")
    parser.add_argument("--gates", type=Path, metavar="FILE", help="check these gates (TOML, as --infill-gates) "
                        "on the merged figures; a failing gate exits 1")
    args = parser.parse_args(argv)
    try:
        results, context = merge_shards(args.shard_dirs, args.output,
                                        shlex.join(["infill-bench", "merge", *argv]), args.gates)
    except InfillUsageError as error:
        sys.stderr.write(f"infill-bench merge: error: {error}\n")
        return 2
    for r in results:
        print(f"{r['benchmark']:<28} {r['model']:<30} {r['metric']:<14} {r['passed']:>5}/{r['n']:<5} = "
              f"{100 * r['value']:6.2f}%")
    status = 0
    if context.get("gates") is not None:
        from infill.reporting.gates import terminal_lines
        print("\n".join(terminal_lines(context["gates"], context["gates_file"])))
        status = 1 if any(not o.passed for o in context["gates"]) else 0
    if not context["complete"]:
        print(f"INCOMPLETE: {context['incomplete_reason']}")
        status = 1
    print(f"merged {len(context['run']['shards'])} shards: {args.output / 'report.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
