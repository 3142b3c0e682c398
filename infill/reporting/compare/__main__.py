"""`infill-bench compare RUN_A RUN_B [RUN_C ...] [-o diff.md] [--fail-on-regression]`: see infill.reporting.compare."""

import sys

from infill.reporting.compare.cli import main

if __name__ == "__main__":
    sys.exit(main())
