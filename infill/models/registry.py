"""The model registry: one entry per model. Adding a model is one `ModelSpec(...)` line.

`source` is a Hugging Face id or a directory inside this package (the shipped tiny models). Loading (local
directory, Hugging Face cache, hub) and the backends live in the generation modules; this file is data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infill.errors import InfillUsageError

TINY_DIR = Path(__file__).parent / "tiny"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str                  # HF id, or a path for shipped models
    family: str                  # "ar-fim" or "diffusion"
    prompt_format: str           # a name in infill.prompts.PROMPT_FORMATS, or "diffusion-canvas"
    dtype: str = "bfloat16"      # default on GPU; CPU runs use float32
    revision: str = "main"
    smoke: bool = False          # a shipped tiny model: scores are near zero by design
    notes: str = ""


MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("open-dcoder-0.5b", "fredzzp/open-dcoder-0.5B", "diffusion", "diffusion-canvas",
              notes="Qwen2.5-Coder-0.5B + masked-diffusion pretraining; bidirectional attention, shifted head"),
    ModelSpec("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B", "ar-fim", "qwen-fim"),
    ModelSpec("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B", "ar-fim", "qwen-fim"),
    ModelSpec("deepseek-coder-1.3b-base", "deepseek-ai/deepseek-coder-1.3b-base", "ar-fim", "deepseek-fim"),
    ModelSpec("starcoder2-3b", "bigcode/starcoder2-3b", "ar-fim", "starcoder2-fim"),
    ModelSpec("tiny-qwen2-fim", str(TINY_DIR / "tiny-qwen2-fim"), "ar-fim", "qwen-fim", dtype="float32",
              smoke=True, notes="shipped smoke model, trained on the Python stdlib"),
    ModelSpec("tiny-qwen2-diffusion", str(TINY_DIR / "tiny-qwen2-diffusion"), "diffusion", "diffusion-canvas",
              dtype="float32", smoke=True, notes="shipped smoke model: tiny-qwen2-fim + masked-diffusion training"),
]}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise InfillUsageError(f"unknown model {name!r}: choose from {', '.join(MODELS)}") from None
