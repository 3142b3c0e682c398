"""``python -m scripts.tiny_models`` (from the repository root): same as
``python scripts/train_tiny_models.py``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
