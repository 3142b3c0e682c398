"""Names shared by the modules: paths, output directories, special tokens, sizes, log."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT_REL = "scripts/train_tiny_models.py"
DEFAULT_OUT = "infill/models/tiny"
AR_DIR = "tiny-qwen2-fim"
DIFF_DIR = "tiny-qwen2-diffusion"

# Qwen2.5 special-token strings (plus Open-dLLM's mask token).
EOS = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_PAD = "<|fim_pad|>"
REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"
MASK = "<M>"
SPECIAL_TOKENS = [EOS, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, REPO_NAME, FILE_SEP, MASK]

VOCAB_SIZE = 8192
MODEL_MAX_LENGTH = 2048


def log(msg: str) -> None:
    print(msg, flush=True)
