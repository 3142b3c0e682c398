#!/usr/bin/env python
"""Train the tiny smoke models shipped in ``infill/models/tiny``.

Thin entry point: the code lives in the ``scripts/tiny_models/`` package (see
``scripts/tiny_models/cli.py`` for the full description, or ``--help``).

Usage::

    python scripts/train_tiny_models.py                 # full run (~20 min, 1 CPU thread)
    python scripts/train_tiny_models.py --quick --out /tmp/tiny   # smoke run
"""

import sys
from pathlib import Path

# Running this file puts scripts/ on sys.path already; importing it as a module
# (e.g. ``scripts.train_tiny_models``) does not, so add it here.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from tiny_models.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
