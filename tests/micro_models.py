"""Random-weight micro models for fast unit tests: a byte-level BPE tokenizer with the real FIM special
strings, trained in milliseconds on a few lines of code, and a 2-layer Qwen2 on top of it."""

from __future__ import annotations

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
            "<|repo_name|>", "<|file_sep|>", "<M>"]
CORPUS = ["def add(a, b):\n    return a + b\n", "for i in range(10):\n    print(i)\n",
          "class A:\n    def __init__(self):\n        self.x = 1\n", "if x > 0:\n    y = x\nelse:\n    y = -x\n"] * 20


def micro_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>", mask_token="<M>")


def micro_qwen2(vocab_size: int, seed: int = 0, causal: bool = True):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False)  # tied random weights just repeat the last token
    model = Qwen2ForCausalLM(config).eval()
    if not causal:
        model.config.is_causal = False
    return model
