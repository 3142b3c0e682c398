"""`python -m infill.compare RUN_A RUN_B [RUN_C ...] [-o diff.md] [--fail-on-regression]`: see infill.compare."""

import sys

from infill.compare.cli import main

if __name__ == "__main__":
    sys.exit(main())
