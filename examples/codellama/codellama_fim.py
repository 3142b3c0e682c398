"""CodeLlama as a live model: one prompt format and one registry entry. Load it with `pytest -p codellama_fim ...`
(this folder on PYTHONPATH), from your conftest.py, or through an `infill_bench.benchmarks`-style entry point of
your package."""

from infill.models.prompt_formats import PREFIX, SUFFIX, PromptFormat, register_prompt_format
from infill.models.registry import ModelSpec, register_model

# `<s><PRE> {prefix} <SUF>{suffix} <MID>`: the spaces belong to the text pieces around prefix and suffix
register_prompt_format(PromptFormat("codellama-fim", "1", ("<PRE>", f" {PREFIX} ", "<SUF>", f"{SUFFIX} ", "<MID>"),
                                    stop_tokens=("<EOT>",), bos=True, description="CodeLlama infilling (PSM)"))
register_model(ModelSpec("codellama-7b", "codellama/CodeLlama-7b-hf", "ar-fim", "codellama-fim"))
