"""Byte-level BPE tokenizer with the Qwen2 pipeline: training, reloading, encoding."""

from __future__ import annotations

import tempfile
import unicodedata

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from .common import (
    EOS,
    FILE_SEP,
    FIM_MIDDLE,
    FIM_PAD,
    FIM_PREFIX,
    FIM_SUFFIX,
    MASK,
    MODEL_MAX_LENGTH,
    REPO_NAME,
    SPECIAL_TOKENS,
    VOCAB_SIZE,
)

# The pre-tokenizer split used by Qwen2 / Qwen2.5 tokenizers.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def train_tokenizer(texts: list[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    # NFC like the real Qwen2 tokenizer (transformers 5 rebuilds model_type=qwen2
    # tokenizers as Qwen2Tokenizer, which always uses NFC + this split regex).
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    if tok.get_vocab_size() != vocab_size:
        raise RuntimeError(f"tokenizer vocab is {tok.get_vocab_size()}, wanted {vocab_size}")
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=EOS,
        mask_token=MASK,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, REPO_NAME, FILE_SEP],
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        padding_side="right",
    )
    return fast


def reload_tokenizer(fast, config):
    """Save and reload through AutoTokenizer, exactly as users of the model
    directories will load it (with transformers 5 and model_type qwen2 that is
    a ``Qwen2Tokenizer`` built from our tokenizer.json)."""
    with tempfile.TemporaryDirectory() as d:
        fast.save_pretrained(d)
        config.save_pretrained(d)
        tok = AutoTokenizer.from_pretrained(d)
    return tok


def encode(tok, text: str) -> list[int]:
    """Token ids of plain text. Literal special-token strings in the text (the
    stdlib has ``(?P<M>...)``) are encoded as ordinary text, never as specials."""
    return tok.encode(text, add_special_tokens=False, split_special_tokens=True) if text else []


def encode_batch(tok, texts: list[str]) -> list[list[int]]:
    return tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def check_roundtrip(tok, texts: list[str]) -> int:
    """decode(encode(x)) must give x back (NFC-normalised: the Qwen2 tokenizer
    applies NFC, as the real one does). Returns how many texts were not in NFC."""
    bad, non_nfc = [], 0
    extra = "def f(x):\n\tif x:  # caf\u00e9 \u2603\r\n        return '<tag>' + \"\\n\"  \n\n\n# <M> <|fim_prefix|>\n"
    texts = list(texts) + [extra]
    for i in range(0, len(texts), 64):
        batch = texts[i : i + 64]
        for split in (True, False):
            enc = tok(batch, add_special_tokens=False, split_special_tokens=split)["input_ids"]
            for text, ids in zip(batch, enc):
                want = unicodedata.normalize("NFC", text)
                if tok.decode(ids, clean_up_tokenization_spaces=False) != want:
                    bad.append(text[:60])
        non_nfc += sum(unicodedata.normalize("NFC", t) != t for t in batch)
    if bad:
        raise AssertionError(f"tokenizer round trip failed on {len(bad)} texts, e.g. {bad[:3]}")
    return non_nfc
