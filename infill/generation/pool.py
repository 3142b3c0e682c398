"""The models held in memory during a run, shared by every source and scorer that needs them.

A diffusion model runs under several length policies and an AR model may also score the ensemble's candidates:
all of them borrow one loaded copy from the pool. Two modes:
- `together` (default): a model stays loaded once used. The ensemble then holds both of its models (and a
  separate scorer model, if any) at once: the footprint is the sum of their weights (see `footprint`).
- `sequential` (`--infill-sequential-models`, for small GPUs): the pool holds one model at a time; asking for
  another frees the current one first. Generation is per (model, benchmark) and scoring runs after both
  members have generated, so each model is loaded once per benchmark and the peak is the largest single model.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from infill.models.registry import ModelSpec


def weight_bytes(model) -> int:
    """Bytes of parameters and buffers: what a loaded model costs before activations and caches."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class ModelPool:
    mode: str = "together"
    path_overrides: dict[str, str] = field(default_factory=dict)
    dtype_override: str | None = None
    loaded: dict[str, object] = field(default_factory=dict)          # name -> LoadedModel
    sizes: dict[str, int] = field(default_factory=dict)              # name -> weight bytes (once loaded)
    peak_bytes: int = 0
    loads: int = 0

    identities: dict[str, object] = field(default_factory=dict)      # name -> ModelIdentity (not loaded)

    def identity(self, spec: ModelSpec):
        """The model's identity (infill.generation.loading.ModelIdentity), without loading it where its files
        tell (a local folder, the Hugging Face cache); loaded otherwise."""
        from infill.generation.loading import identify_model
        if spec.name in self.loaded:
            return self.loaded[spec.name].identity
        if spec.name not in self.identities:
            known = identify_model(spec, self.path_overrides.get(spec.name), self.dtype_override)
            self.identities[spec.name] = known if known is not None else self.get(spec).identity
        return self.identities[spec.name]

    def get(self, spec: ModelSpec):
        from infill.generation.loading import load_model
        if spec.name not in self.loaded:
            if self.mode == "sequential":
                self.release_all()
            self.loaded[spec.name] = load_model(spec, self.path_overrides.get(spec.name), self.dtype_override,
                                                self.identities.get(spec.name))
            self.sizes[spec.name] = weight_bytes(self.loaded[spec.name].model)
            self.loads += 1
            self.peak_bytes = max(self.peak_bytes, sum(self.sizes[n] for n in self.loaded))
        return self.loaded[spec.name]

    def release_all(self) -> None:
        if not self.loaded:
            return
        self.loaded.clear()
        gc.collect()
        try:
            import torch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def footprint(self) -> dict:
        """For the report: each model's weights and the most held at once in this run."""
        return {"mode": self.mode, "weights_bytes": dict(sorted(self.sizes.items())),
                "peak_held_bytes": self.peak_bytes, "loads": self.loads}
