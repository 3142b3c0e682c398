"""Load a registered model: from a directory given by the user, the registry's own path (shipped tiny
models), the Hugging Face cache, or the hub. On CUDA when present, else CPU.

When none of them has the weights, the run stops with one line that names the model, where it looked and how
to provide the weights. The weights' identity (hub commit, or a content hash of a local directory) goes into
the generation cache key.
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from infill.errors import InfillUsageError
from infill.models.registry import ModelSpec

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt")


@dataclass(frozen=True)
class ModelIdentity:
    """What names a model's computation (the generation and score cache keys, the AR sampling its files decide),
    known without loading the weights."""
    spec: ModelSpec
    device: str
    dtype: str
    weights_identity: str
    location: str


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: object
    tokenizer: object
    device: str
    dtype: str
    weights_identity: str
    location: str

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.spec, self.device, self.dtype, self.weights_identity, self.location)


def pick_device() -> str:
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(spec: ModelSpec, device: str, override: str | None) -> str:
    """bf16 on GPU as published; float32 on CPU (bf16 matmuls are slower there, and the tiny models are fp32)."""
    if override:
        return override
    return spec.dtype if device == "cuda" else "float32"


def directory_identity(path: Path) -> str:
    """sha256 over the names and contents of the files that define the model."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES):
        digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def check_available(spec: ModelSpec, path_override: str | None = None) -> str:
    """Where the weights will come from, checked before the run starts (no download, no model load).
    Raises the same one-line error `load_model` would."""
    local = Path(path_override or spec.source).expanduser()
    if path_override or local.is_dir():
        if not (local / "config.json").is_file():
            raise InfillUsageError(f"model {spec.name}: {local} has no config.json; give the folder that holds "
                                   f"config.json and the weights (--infill-model-path {spec.name}=DIR)")
        return str(local)
    from huggingface_hub import constants, try_to_load_from_cache

    cached = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    if isinstance(cached, str):
        return "hf-cache"
    if hub_reachable(constants.ENDPOINT):
        return "hub"
    raise InfillUsageError(
        f"model {spec.name} ({spec.source}): no weights in the Hugging Face cache {constants.HF_HUB_CACHE} and "
        f"the hub is unreachable (or HF_HUB_OFFLINE is set): download them where the hub is reachable "
        f"(hf download {spec.source}) and copy the cache, or pass --infill-model-path "
        f"{spec.name}=DIR")


def hub_reachable(endpoint: str) -> bool:
    """One quick connection attempt instead of the hub client's minute of retries."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false"):
        return False
    host = urllib.parse.urlparse(endpoint).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


def _from_pretrained(location: str, device: str, dtype: str, revision: str, local_only: bool):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"revision": revision, "local_files_only": local_only}
    tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(location, dtype=getattr(torch, dtype), **kwargs)
    return model.to(device).eval(), tokenizer


def identify_model(spec: ModelSpec, path_override: str | None = None,
                   dtype_override: str | None = None) -> ModelIdentity | None:
    """The identity `load_model` would give, without loading the weights, so that a run whose generations and
    scores are all cached never loads a model: a local folder by its content hash, a model in the Hugging Face cache
    by the commit of its snapshot (the `_commit_hash` transformers reads from the same path). None when only the hub
    has it, or the folder is not a model's (loading then says why, in one line)."""
    device = pick_device()
    dtype = pick_dtype(spec, device, dtype_override)
    local = Path(path_override or spec.source).expanduser()
    if path_override or local.is_dir():
        if not (local / "config.json").is_file():
            return None
        return ModelIdentity(spec, device, dtype, directory_identity(local), str(local))
    from huggingface_hub import try_to_load_from_cache
    found = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    if not isinstance(found, str) or Path(found).parent.parent.name != "snapshots":
        return None
    return ModelIdentity(spec, device, dtype, f"hf:{spec.source}@{Path(found).parent.name}", "hf-cache")


def load_model(spec: ModelSpec, path_override: str | None = None, dtype_override: str | None = None,
               known: ModelIdentity | None = None) -> LoadedModel:
    """`known`: the local folder's identity computed already (its content hash is not taken twice)."""
    device = pick_device()
    dtype = pick_dtype(spec, device, dtype_override)
    local = Path(path_override or spec.source).expanduser()
    tried = []
    if path_override or local.is_dir():
        if not local.is_dir():
            raise InfillUsageError(f"model {spec.name}: {local} is not a directory; give the folder that holds "
                                   f"config.json and the weights")
        model, tokenizer = _from_pretrained(str(local), device, dtype, spec.revision, local_only=True)
        identity = known.weights_identity if known is not None and known.location == str(local) \
            else directory_identity(local)
        return LoadedModel(spec, model, tokenizer, device, dtype, identity, str(local))
    from huggingface_hub import constants

    for local_only in (True, False):
        if not local_only and not hub_reachable(constants.ENDPOINT):
            tried.append(f"the hub ({constants.ENDPOINT} unreachable or HF_HUB_OFFLINE set)")
            break
        try:
            model, tokenizer = _from_pretrained(spec.source, device, dtype, spec.revision, local_only)
        except (OSError, ValueError) as error:
            tried.append(f"{'the Hugging Face cache ' + constants.HF_HUB_CACHE if local_only else 'the hub'}"
                         f" ({type(error).__name__})")
            continue
        commit = getattr(model.config, "_commit_hash", None) or spec.revision
        return LoadedModel(spec, model, tokenizer, device, dtype, f"hf:{spec.source}@{commit}",
                           "hf-cache" if local_only else "hub")
    raise InfillUsageError(
        f"model {spec.name} ({spec.source}): no weights found in {' or '.join(tried) or 'the HF cache'}: "
        f"download them where the hub is reachable (hf download {spec.source}) and copy the "
        f"cache, or pass --infill-model-path {spec.name}=DIR")


def generation_config_of(loaded: ModelIdentity | LoadedModel) -> dict | None:
    """The loaded model's own generation_config.json (None when it has none): what `model.generate` falls back on
    for every sampling setting its call does not give (infill.generation.sampling_config)."""
    import json
    local = Path(loaded.location)
    if local.is_dir():
        path = local / "generation_config.json"
    else:
        from huggingface_hub import try_to_load_from_cache
        found = try_to_load_from_cache(loaded.spec.source, "generation_config.json", revision=loaded.spec.revision)
        path = Path(found) if isinstance(found, str) else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None
