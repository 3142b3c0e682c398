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

PREFIX, SUFFIX = "{prefix}", "{suffix}"


@dataclass(frozen=True)
class PromptFormat:
    """A FIM prompt as a sequence of pieces: a piece holding `{prefix}` or `{suffix}` is text (the field with any
    literal text written around it, e.g. CodeLlama's `" {prefix} "`), encoded on its own; every other piece is a
    special token looked up in the tokenizer's vocabulary. `bos` puts the tokenizer's bos token first."""
    name: str
    version: str
    layout: tuple[str, ...]
    stop_tokens: tuple[str, ...] = ()     # besides the tokenizer's eos
    bos: bool = False
    description: str = ""

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(piece for piece in self.layout if not _is_text(piece))

    def render(self, prefix: str, suffix: str) -> str:
        """The prompt as text, without the bos token (its string depends on the tokenizer)."""
        return "".join(_fill(piece, prefix, suffix) for piece in self.layout)

    def encode(self, tokenizer, prefix: str, suffix: str) -> list[int]:
        ids = dict(zip(self.sentinels, sentinel_ids(tokenizer, self.sentinels)))
        if self.bos and tokenizer.bos_token_id is None:
            raise ValueError(f"prompt format {self.name} starts with a bos token; the tokenizer has none")
        encoded = [tokenizer.bos_token_id] if self.bos else []
        for piece in self.layout:
            if _is_text(piece):
                encoded += tokenizer.encode(_fill(piece, prefix, suffix), add_special_tokens=False,
                                            split_special_tokens=True)
            else:
                encoded.append(ids[piece])
        return encoded

    def stop_ids(self, tokenizer) -> list[int]:
        ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        vocab = tokenizer.get_vocab()
        return sorted(set(ids + [vocab[t] for t in self.stop_tokens if t in vocab]))


def _is_text(piece: str) -> bool:
    return PREFIX in piece or SUFFIX in piece


def _fill(piece: str, prefix: str, suffix: str) -> str:
    # replace, not str.format: code is full of braces
    return piece.replace(PREFIX, prefix).replace(SUFFIX, suffix) if _is_text(piece) else piece


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


QWEN = PromptFormat("qwen-fim", "1", ("<|fim_prefix|>", PREFIX, "<|fim_suffix|>", SUFFIX, "<|fim_middle|>"),
                    ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>"),
                    description="Qwen2.5-Coder; skip_special_tokens does not drop fim_pad/file_sep/repo_name, so "
                                "they stop")
DEEPSEEK = PromptFormat("deepseek-fim", "1", ("<｜fim▁begin｜>", PREFIX, "<｜fim▁hole｜>", SUFFIX, "<｜fim▁end｜>"),
                        description="DeepSeek-Coder (full-width bars, U+2581)")
STARCODER2 = PromptFormat("starcoder2-fim", "1", ("<fim_prefix>", PREFIX, "<fim_suffix>", SUFFIX, "<fim_middle>"),
                          ("<file_sep>",), description="StarCoder2")

PROMPT_FORMATS = {f.name: f for f in (QWEN, DEEPSEEK, STARCODER2)}
DIFFUSION_CANVAS = DiffusionCanvas()


def register_prompt_format(prompt_format: PromptFormat) -> PromptFormat:
    """Add a format (e.g. CodeLlama's `<s><PRE> {prefix} <SUF>{suffix} <MID>`, see examples/)."""
    if PROMPT_FORMATS.get(prompt_format.name, prompt_format) != prompt_format:
        raise ValueError(f"prompt format {prompt_format.name!r} is registered twice")
    PROMPT_FORMATS[prompt_format.name] = prompt_format
    return prompt_format
