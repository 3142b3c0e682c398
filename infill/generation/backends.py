"""Generation backends: how a registry model turns samples into completions. One module per backend, chosen by the
model's registry entry (`ModelSpec.backend`); the live source (infill.sources.live) drives any of them the same way.

A backend describes itself without loading anything (`describe`: the versions that go into the generation cache key
and the report) and generates with a loaded model (`generate`: batches of samples and their raw completions, in an
order of its choosing, each batch yielded when done so that the caller can keep it before the next starts).
Backend modules import torch only inside `generate`.
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterator, Protocol

from infill.benchmarks.sample import Sample
from infill.generation.length import LengthPolicy
from infill.models.registry import ModelSpec

BACKENDS = {"ar-fim": "infill.generation.ar_backend:ARFimBackend",
            "diffusion": "infill.generation.diffusion_backend:DiffusionBackend"}


class GenerationBackend(Protocol):
    def describe(self) -> dict:
        """Versions of what decides the output besides model, settings and data: backend, prompt format, ..."""

    def resolve(self, loaded, settings, command_line: dict) -> tuple[object, dict]:
        """(`settings` with whatever the loaded model decides filled in, {setting: {value, origin}} for the report);
        `command_line` names the values the user set."""

    def generate(self, loaded, samples: list[Sample], settings,
                 partial: Callable[[float], None] | None = None) -> Iterator[tuple[list[Sample], list[str]]]:
        """Raw completions for `samples` with the loaded model (infill.generation.loading.LoadedModel). A backend
        whose batches take long calls `partial(n)` with how many samples of the batch under way are finished so
        far (progress only: the batch is yielded when done)."""


def make_backend(spec: ModelSpec, length_policy: LengthPolicy | None = None) -> GenerationBackend:
    module, _, name = BACKENDS[spec.backend].partition(":")
    return getattr(importlib.import_module(module), name)(spec, length_policy)
