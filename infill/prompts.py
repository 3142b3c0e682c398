"""FIM prompt formats: how a (prefix, suffix) pair becomes the model's input, and where its output stops.

Each format is named and versioned; the version goes into the generation cache key, so changing a format never
reuses old completions. Prefix and suffix are tokenized separately and joined with the sentinel ids, as the
models were trained (a newline and the next line's indentation merge into one token, so tokenizing the
joined string would change the boundary tokens). Text is encoded with `split_special_tokens=True`: code may contain a
special token's string literally (the stdlib has `(?P<M>...)`), and it must stay text, never become a sentinel
or the mask.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptFormat:
    name: str
    version: str
    prefix_token: str
    suffix_token: str
    middle_token: str
    stop_tokens: tuple[str, ...]     # besides the tokenizer's eos
    description: str = ""

    def render(self, prefix: str, suffix: str) -> str:
        """The prompt as text (prefix-suffix-middle order)."""
        return f"{self.prefix_token}{prefix}{self.suffix_token}{suffix}{self.middle_token}"

    def encode(self, tokenizer, prefix: str, suffix: str) -> list[int]:
        sentinel = sentinel_ids(tokenizer, (self.prefix_token, self.suffix_token, self.middle_token))
        return ([sentinel[0]] + tokenizer.encode(prefix, add_special_tokens=False, split_special_tokens=True) + [sentinel[1]]
                + tokenizer.encode(suffix, add_special_tokens=False, split_special_tokens=True) + [sentinel[2]])

    def stop_ids(self, tokenizer) -> list[int]:
        ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        vocab = tokenizer.get_vocab()
        return sorted(set(ids + [vocab[t] for t in self.stop_tokens if t in vocab]))


def sentinel_ids(tokenizer, tokens: tuple[str, ...]) -> list[int]:
    """The ids of `tokens`, looked up one by one: `get_vocab()` builds the whole vocabulary (about 0.2 s for
    Qwen2.5's 151k tokens), which every prompt would pay. A missing token maps to None or the unknown token."""
    ids = [tokenizer.convert_tokens_to_ids(t) for t in tokens]
    missing = [t for t, i in zip(tokens, ids)
               if i is None or (i == tokenizer.unk_token_id and t != tokenizer.unk_token)]
    if missing:
        raise ValueError(f"the tokenizer has no {', '.join(missing)}: it does not belong to this prompt format")
    return ids


@dataclass(frozen=True)
class DiffusionCanvas:
    """Open-dCoder's infilling input: prefix ids + mask_id x length + suffix ids; no FIM tokens, no BOS/EOS;
    left-truncated to `max_tokens`. The completion is decoded from the masked slice only."""
    name: str = "diffusion-canvas"
    version: str = "1"
    max_tokens: int = 2048

    def encode(self, tokenizer, prefix: str, suffix: str, length: int,
               window: tuple[int, int] | None = None) -> tuple[list[int], int]:
        """(ids, start of the masked slice). `window` = (prefix tokens, suffix tokens) kept nearest the hole: a
        cheaper canvas for CPU smoke runs (attention over the whole canvas at every step dominates there); None
        is the reference behaviour."""
        mask_id = tokenizer.mask_token_id
        if mask_id is None:
            raise ValueError("the tokenizer has no mask token: a masked-diffusion model needs one "
                             "(Open-dCoder's is <M>)")
        prefix_ids = tokenizer.encode(prefix, add_special_tokens=False, split_special_tokens=True)
        suffix_ids = tokenizer.encode(suffix, add_special_tokens=False, split_special_tokens=True)
        if window is not None:
            prefix_ids, suffix_ids = prefix_ids[len(prefix_ids) - min(window[0], len(prefix_ids)):], \
                suffix_ids[:window[1]]
        ids = prefix_ids + [mask_id] * length + suffix_ids
        dropped = max(0, len(ids) - self.max_tokens)
        return ids[dropped:], len(prefix_ids) - dropped


QWEN = PromptFormat("qwen-fim", "1", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
                    ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>"),
                    "Qwen2.5-Coder; skip_special_tokens does not drop fim_pad/file_sep/repo_name, so they stop")
DEEPSEEK = PromptFormat("deepseek-fim", "1", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>", (),
                        "DeepSeek-Coder (full-width bars, U+2581)")
STARCODER2 = PromptFormat("starcoder2-fim", "1", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", ("<file_sep>",),
                          "StarCoder2")

PROMPT_FORMATS = {f.name: f for f in (QWEN, DEEPSEEK, STARCODER2)}
DIFFUSION_CANVAS = DiffusionCanvas()
