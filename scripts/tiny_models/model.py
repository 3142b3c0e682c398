"""Model configuration (Qwen2) and seeded initialisation."""

from __future__ import annotations

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from .common import EOS, MODEL_MAX_LENGTH, SPECIAL_TOKENS, VOCAB_SIZE


def make_config(args) -> Qwen2Config:
    eos_id = SPECIAL_TOKENS.index(EOS)
    return Qwen2Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=MODEL_MAX_LENGTH,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        tie_word_embeddings=True,
        use_sliding_window=False,
        rms_norm_eps=1e-6,
        initializer_range=0.02,
        attention_dropout=0.0,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )


def new_model(args, tok) -> Qwen2ForCausalLM:
    cfg = make_config(args)
    assert cfg.vocab_size == len(tok) and cfg.eos_token_id == tok.eos_token_id
    torch.manual_seed(args.seed)
    model = Qwen2ForCausalLM(cfg)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model
