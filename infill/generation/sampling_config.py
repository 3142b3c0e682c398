"""The sampling settings `model.generate` would use, and where each one comes from (no torch).

transformers resolves a generation setting in this order (5.24: `GenerationMixin._prepare_generation_config`;
4.x the same through the model's loaded `generation_config`): the arguments of the `generate` call, then the
model's `generation_config.json`, then `GenerationConfig`'s global defaults. The recorded AR runs passed only
`do_sample=True, temperature=0.6, max_new_tokens=512`, so e.g. a base model without its own top_k sampled with
top_k 50, and Qwen2.5-Coder-1.5B-Instruct with its own top_p 0.8, top_k 20 and repetition_penalty 1.1.

Here the explicit values are a profile's and the user's overrides (an override wins over the profile). Supported,
applied by the engine in transformers' order (`infill.generation.sampling`): do_sample, temperature, top_k, top_p,
repetition_penalty. Every other setting that changes which tokens `generate` produces (other logits processors
and warpers, beam or assisted decoding, stop strings...) is refused with an error unless it has its neutral value;
settings that cannot change the sampled tokens are listed with the reason they are left out; an unknown setting
is an error (it might change tokens in some transformers version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

# The version of the engine's sampling rules (infill.generation.sampling), here so that describing a run imports no
# torch. v2: transformers' top-p rule and processor order, repetition penalty (v1: own top-p rule, no penalty)
SAMPLING_VERSION = "hf-processors-v2"

OVERRIDE, PROFILE, MODEL_FILE, DEFAULT = "override", "profile", "generation_config.json", "transformers default"

# transformers 5.24 GenerationConfig._get_default_generation_params (the same values as 4.x GenerationConfig())
TRANSFORMERS_DEFAULTS = {"do_sample": False, "temperature": 1.0, "top_k": 50, "top_p": 1.0,
                         "repetition_penalty": 1.0}
SUPPORTED = tuple(TRANSFORMERS_DEFAULTS)

# Settings that change the produced tokens when not neutral, which the engine does not implement: the neutral
# values (None always counts as unset).
UNSUPPORTED_NEUTRAL = {
    "num_beams": (1,), "num_beam_groups": (1,), "diversity_penalty": (0.0,), "penalty_alpha": (), "dola_layers": (),
    "guidance_scale": (1.0,), "sequence_bias": (), "encoder_repetition_penalty": (1.0,),
    "no_repeat_ngram_size": (0,), "encoder_no_repeat_ngram_size": (0,), "bad_words_ids": (), "min_length": (0,),
    "min_new_tokens": (0,), "forced_bos_token_id": (), "forced_eos_token_id": (), "remove_invalid_values": (False,),
    "exponential_decay_length_penalty": (), "suppress_tokens": ((), []), "begin_suppress_tokens": ((), []),
    "top_h": (), "min_p": (0.0,), "typical_p": (1.0,), "epsilon_cutoff": (0.0,), "eta_cutoff": (0.0,),
    "watermarking_config": (), "num_return_sequences": (1,), "token_healing": (False,), "stop_strings": (),
    "max_time": (), "prompt_lookup_num_tokens": (), "custom_generate": (),
}

# Settings that cannot change the sampled tokens of our runs, and why.
NO_EFFECT = {
    "bos_token_id": "no BOS is added to FIM prompts", "pad_token_id": "padding is masked out",
    "eos_token_id": "stops come from the prompt format's stop tokens (reported as stop_token_ids)",
    "decoder_start_token_id": "decoder-only models", "max_length": "the run's max_new_tokens wins",
    "max_new_tokens": "the run's own max_new_tokens", "use_cache": "a KV cache changes no token",
    "cache_implementation": "a KV cache changes no token", "cache_config": "a KV cache changes no token",
    "renormalize_logits": "renormalising after the processors changes no probability",
    "early_stopping": "beam search only", "length_penalty": "beam search only",
    "output_attentions": "output only", "output_hidden_states": "output only", "output_scores": "output only",
    "output_logits": "output only", "return_dict_in_generate": "output only", "low_memory": "speed only",
    "compile_config": "speed only", "disable_compile": "speed only", "transformers_version": "metadata",
    "_from_model_config": "metadata", "num_assistant_tokens": "assisted decoding only",
    "num_assistant_tokens_schedule": "assisted decoding only", "assistant_confidence_threshold":
    "assisted decoding only", "assistant_lookbehind": "assisted decoding only", "target_lookbehind":
    "assisted decoding only", "is_assistant": "assisted decoding only",
}


class UnsupportedGenerationSetting(ValueError):
    """A setting that would change the generated tokens and that the engine does not implement."""


@dataclass(frozen=True)
class ResolvedSampling:
    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    repetition_penalty: float
    origins: Mapping[str, str]                   # setting -> OVERRIDE, PROFILE, MODEL_FILE or DEFAULT
    left_out: Mapping[str, str] = field(default_factory=dict)   # generation_config.json key -> why it is left out
    stop_token_ids: tuple[int, ...] = ()         # the model file's eos_token_id (generate also stops there)

    def engine_settings(self) -> dict[str, Any]:
        """Keyword arguments for `SamplingSettings` (seed apart): greedy is temperature 0, where `generate`
        applies no warper; the repetition penalty applies either way."""
        if not self.do_sample:
            return {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": self.repetition_penalty}
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
                "repetition_penalty": self.repetition_penalty}


def read_generation_config(model_dir: str | Path) -> dict[str, Any] | None:
    """The model directory's generation_config.json, or None when it has none."""
    path = Path(model_dir) / "generation_config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def resolve_sampling(profile: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                     generation_config: Mapping[str, Any] | None = None) -> ResolvedSampling:
    """The settings `model.generate(**profile-and-overrides)` would sample with on a model whose
    generation_config.json holds `generation_config` (None: the model has no such file)."""
    overrides, model_file = dict(overrides or {}), dict(generation_config or {})
    for source, values in (("profile", profile), ("override", overrides)):
        unknown = sorted(set(values) - set(SUPPORTED))
        if unknown:
            raise UnsupportedGenerationSetting(f"{source} sets {', '.join(unknown)}: only {', '.join(SUPPORTED)} "
                                               f"can be set")
    left_out = _check_model_file(model_file)
    values, origins = {}, {}
    for name in SUPPORTED:
        for origin, source in ((OVERRIDE, overrides), (PROFILE, profile), (MODEL_FILE, model_file),
                               (DEFAULT, TRANSFORMERS_DEFAULTS)):
            if source.get(name) is not None:
                values[name], origins[name] = source[name], origin
                break
    resolved = ResolvedSampling(bool(values["do_sample"]), float(values["temperature"]), int(values["top_k"]),
                                float(values["top_p"]), float(values["repetition_penalty"]), origins, left_out,
                                _stop_ids(model_file.get("eos_token_id")))
    _validate(resolved)
    return resolved


def _check_model_file(model_file: Mapping[str, Any]) -> dict[str, str]:
    left_out = {}
    for name, value in model_file.items():
        if name in SUPPORTED:
            continue
        if name in NO_EFFECT:
            left_out[name] = NO_EFFECT[name]
        elif name in UNSUPPORTED_NEUTRAL:
            if value is not None and value not in UNSUPPORTED_NEUTRAL[name]:
                raise UnsupportedGenerationSetting(
                    f"generation_config.json sets {name}={value!r}, which changes the generated tokens in "
                    f"model.generate and is not implemented here: the run would not be what generate does")
            left_out[name] = "neutral value"
        else:
            raise UnsupportedGenerationSetting(
                f"generation_config.json sets {name}={value!r}, a setting not known here: it may change the "
                f"generated tokens (add it to sampling_config.NO_EFFECT if it does not)")
    return left_out


def _stop_ids(eos: Any) -> tuple[int, ...]:
    if eos is None:
        return ()
    return tuple(int(i) for i in (eos if isinstance(eos, list) else [eos]))


def _validate(resolved: ResolvedSampling) -> None:
    """transformers' own checks, for the values it would apply."""
    if resolved.repetition_penalty <= 0:
        raise ValueError(f"repetition_penalty must be > 0, got {resolved.repetition_penalty}")
    if not resolved.do_sample:
        return
    if resolved.temperature <= 0:
        raise ValueError(f"sampling needs a temperature > 0 (got {resolved.temperature}); set do_sample false "
                         f"for greedy decoding")
    if resolved.top_k < 0 or not 0 < resolved.top_p <= 1:
        raise ValueError(f"top_k must be >= 0 and top_p in (0, 1], got {resolved.top_k} and {resolved.top_p}")
