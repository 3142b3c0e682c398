import sys

from infill.reporting.merge.cli import main

sys.exit(main())
