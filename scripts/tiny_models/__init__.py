"""Package behind ``scripts/train_tiny_models.py``: trains the tiny smoke models
shipped in ``infill/models/tiny`` (see ``cli`` for the full description).

Importing the package sets the thread counts and library logging before any
submodule imports torch, tokenizers or transformers."""

from __future__ import annotations

import os

# Keep the second core free: tokenizers (rayon) and torch both honour these.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set by an importer
    pass

import transformers

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
