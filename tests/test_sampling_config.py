"""Resolving the sampling settings the way `model.generate` does: explicit values, then the model's
generation_config.json, then transformers' defaults, with the origin of each value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infill.generation.sampling_config import (
    DEFAULT,
    MODEL_FILE,
    OVERRIDE,
    PROFILE,
    TRANSFORMERS_DEFAULTS,
    UnsupportedGenerationSetting,
    read_generation_config,
    resolve_sampling,
)

ROOT = Path(__file__).resolve().parents[1]
RECORDED_CALL = {"do_sample": True, "temperature": 0.6}       # what the recorded AR runs passed to generate
# the generation_config.json of Qwen2.5-Coder-1.5B-Instruct as docs/evaluation-rules.md describes it
INSTRUCT = {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643],
            "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}
BASE = {"_from_model_config": True, "bos_token_id": 32013, "eos_token_id": 32014, "transformers_version": "4.33.1"}


def test_defaults_match_the_installed_transformers():
    from transformers import GenerationConfig
    defaults = GenerationConfig._get_default_generation_params()
    assert {name: defaults[name] for name in TRANSFORMERS_DEFAULTS} == TRANSFORMERS_DEFAULTS


def test_a_base_model_without_sampling_settings_samples_with_transformers_top_k_50():
    resolved = resolve_sampling(RECORDED_CALL, generation_config=BASE)
    assert (resolved.do_sample, resolved.temperature, resolved.top_k, resolved.top_p,
            resolved.repetition_penalty) == (True, 0.6, 50, 1.0, 1.0)
    assert resolved.origins == {"do_sample": PROFILE, "temperature": PROFILE, "top_k": DEFAULT, "top_p": DEFAULT,
                                "repetition_penalty": DEFAULT}
    assert resolved.stop_token_ids == (32014,)
    assert resolved.left_out["transformers_version"] == "metadata"


def test_the_instruct_model_file_sets_top_p_top_k_and_the_penalty_but_the_call_sets_temperature():
    resolved = resolve_sampling(RECORDED_CALL, generation_config=INSTRUCT)
    assert (resolved.temperature, resolved.top_k, resolved.top_p, resolved.repetition_penalty) == (0.6, 20, 0.8, 1.1)
    assert resolved.origins["temperature"] == PROFILE
    assert {resolved.origins[name] for name in ("top_k", "top_p", "repetition_penalty")} == {MODEL_FILE}
    assert resolved.stop_token_ids == (151645, 151643)
    assert resolved.engine_settings() == {"temperature": 0.6, "top_k": 20, "top_p": 0.8, "repetition_penalty": 1.1}


def test_an_override_wins_over_the_profile_and_the_model_file():
    resolved = resolve_sampling(RECORDED_CALL, {"top_k": 0, "temperature": 0.2}, INSTRUCT)
    assert (resolved.top_k, resolved.temperature) == (0, 0.2)
    assert resolved.origins["top_k"] == resolved.origins["temperature"] == OVERRIDE


def test_no_model_file_and_no_profile_is_greedy_as_generate_is():
    resolved = resolve_sampling({}, generation_config=None)
    assert not resolved.do_sample and set(resolved.origins.values()) == {DEFAULT}
    assert resolved.engine_settings() == {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}


def test_greedy_keeps_the_repetition_penalty():
    resolved = resolve_sampling({"do_sample": False}, generation_config={"repetition_penalty": 1.3, "top_k": 7})
    assert resolved.engine_settings() == {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.3}


@pytest.mark.parametrize("setting", [{"no_repeat_ngram_size": 3}, {"min_p": 0.05}, {"num_beams": 4},
                                     {"suppress_tokens": [5]}, {"min_new_tokens": 2}, {"typical_p": 0.9}])
def test_a_model_file_setting_that_changes_tokens_and_is_not_implemented_is_an_error(setting):
    with pytest.raises(UnsupportedGenerationSetting, match=next(iter(setting))):
        resolve_sampling(RECORDED_CALL, generation_config=setting)


def test_neutral_values_and_settings_without_effect_are_accepted_and_listed():
    resolved = resolve_sampling(RECORDED_CALL, generation_config={"num_beams": 1, "typical_p": 1.0, "min_p": None,
                                                                  "max_new_tokens": 2048, "use_cache": True})
    assert resolved.left_out == {"num_beams": "neutral value", "typical_p": "neutral value", "min_p": "neutral value",
                                 "max_new_tokens": "the run's own max_new_tokens",
                                 "use_cache": "a KV cache changes no token"}


def test_unknown_settings_are_errors_not_silently_ignored():
    with pytest.raises(UnsupportedGenerationSetting, match="not known here"):
        resolve_sampling(RECORDED_CALL, generation_config={"frequency_penalty": 0.5})
    with pytest.raises(UnsupportedGenerationSetting, match="override sets min_p"):
        resolve_sampling(RECORDED_CALL, {"min_p": 0.1})


@pytest.mark.parametrize("profile", [{"do_sample": True, "temperature": 0.0}, {"repetition_penalty": 0.0},
                                     {"do_sample": True, "top_p": 0.0}])
def test_values_generate_refuses_are_refused(profile):
    with pytest.raises(ValueError):
        resolve_sampling(profile)


def test_read_generation_config(tmp_path):
    assert read_generation_config(tmp_path) is None
    (tmp_path / "generation_config.json").write_text('{"top_k": 20}')
    assert read_generation_config(tmp_path) == {"top_k": 20}


def test_the_module_does_not_import_torch():
    code = "import sys, infill.generation.sampling_config; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                          cwd=ROOT).stdout.strip() == "False"
