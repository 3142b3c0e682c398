"""The model registry: one entry per model. Adding a model is one `ModelSpec(...)` entry (`register_model`), plus at
most one prompt format (infill.models.prompt_formats.register_prompt_format) when its FIM format is new.

`source` is a Hugging Face id or a directory (the shipped tiny models live inside this package). `backend` names
the generation backend that runs it (infill.generation.backends: "ar-fim" or "diffusion"). Loading and the backends
live in infill.generation; this file is data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TINY_DIR = Path(__file__).parent / "tiny"
BACKEND_NAMES = ("ar-fim", "diffusion")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str                  # HF id, or a path for shipped models
    backend: str                 # one of BACKEND_NAMES: the model's architecture as far as generation is concerned
    prompt_format: str           # a name in infill.models.prompt_formats.PROMPT_FORMATS, or "diffusion-canvas"
    dtype: str = "bfloat16"      # default on GPU; CPU runs use float32
    revision: str = "main"
    smoke: bool = False          # a shipped tiny model: scores are near zero by design
    notes: str = ""


MODELS: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("open-dcoder-0.5b", "fredzzp/open-dcoder-0.5B", "diffusion", "diffusion-canvas",
              notes="Qwen2.5-Coder-0.5B + masked-diffusion pretraining; bidirectional attention, shifted head"),
    ModelSpec("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B", "ar-fim", "qwen-fim"),
    ModelSpec("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B", "ar-fim", "qwen-fim"),
    ModelSpec("qwen2.5-coder-1.5b-instruct", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "ar-fim", "qwen-fim",
              notes="the recorded 'Qwen 2.5 Coder 1.5B' row; its generation_config.json sets top_p 0.8, top_k 20, "
                    "repetition_penalty 1.1 and stops at <|im_end|> too"),
    ModelSpec("deepseek-coder-1.3b-base", "deepseek-ai/deepseek-coder-1.3b-base", "ar-fim", "deepseek-fim"),
    ModelSpec("starcoder2-3b", "bigcode/starcoder2-3b", "ar-fim", "starcoder2-fim"),
    ModelSpec("tiny-qwen2-fim", str(TINY_DIR / "tiny-qwen2-fim"), "ar-fim", "qwen-fim", dtype="float32",
              smoke=True, notes="shipped smoke model, trained on the Python stdlib"),
    ModelSpec("tiny-qwen2-diffusion", str(TINY_DIR / "tiny-qwen2-diffusion"), "diffusion", "diffusion-canvas",
              dtype="float32", smoke=True, notes="shipped smoke model: tiny-qwen2-fim + masked-diffusion training"),
]}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.backend not in BACKEND_NAMES:
        raise ValueError(f"model {spec.name}: unknown backend {spec.backend!r}; choose from {', '.join(BACKEND_NAMES)}")
    if MODELS.get(spec.name, spec) != spec:
        raise ValueError(f"model {spec.name!r} is registered twice")
    MODELS[spec.name] = spec
    return spec
