"""The `infill-bench` console script for what runs outside pytest: `infill-bench merge ...` (shard reports into one,
infill.reporting.merge) and `infill-bench compare ...` (a Markdown diff of runs, infill.reporting.compare). The
benchmark itself runs under pytest (`pytest bench_tests`); the repository's `./infill-bench` front door also sets up
a fresh machine."""

from __future__ import annotations

import sys

COMMANDS = {"merge": "infill.reporting.merge.cli", "compare": "infill.reporting.compare.cli"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"usage: infill-bench {{{'|'.join(COMMANDS)}}} ...  (the benchmark itself: pytest "
                         f"bench_tests)\n")
        return 2
    import importlib
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
