"""Autoregressive FIM backend (transformers): batched, left-padded, per-row stops, KV cache, seeded per sample.

`ARFimGenerator.generate` takes a list of requests (already length-sorted by the caller for little padding)
and returns one completion per request. On out-of-memory it halves the batch and carries on.

Per step: one forward of the last token of every unfinished row against a `DynamicCache` we own (passed as
`cache`, the keyword transformers 5 uses; `past_key_values` before it), the logits processors of `sampling`, one
host transfer of the chosen tokens (stops are found on the host); finished rows leave the batch with their cache
rows. Position ids continue each row's own count and the attention mask is a view of one buffer, so a row's
tokens are the same as when it runs alone.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from infill.generation.memory import run_halving_on_out_of_memory
from infill.generation.sampling import SamplingSettings, choose_tokens, row_generators
from infill.models.prompt_formats import PromptFormat


@dataclass(frozen=True)
class Request:
    sample_id: str
    prefix: str
    suffix: str


class ARFimGenerator:
    def __init__(self, model, tokenizer, prompt_format: PromptFormat, stop_at_newline: bool = False,
                 extra_stop_ids: tuple[int, ...] = ()):
        self.model, self.tokenizer, self.prompt_format = model, tokenizer, prompt_format
        # the format's stops, and the model's own eos ids from its generation_config.json (generate stops there too:
        # <|im_end|> for an Instruct model)
        self.stop_ids = sorted(set(prompt_format.stop_ids(tokenizer)) | set(extra_stop_ids))
        # With first-line post-processing nothing after the first newline is kept, so a row may stop at the first
        # token that contains one (an exact shortcut, not an approximation).
        self.newline_ids = newline_token_ids(tokenizer) if stop_at_newline else []
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self.device = next(model.parameters()).device
        self.cache_argument = cache_argument(model)

    def prompt_length(self, prefix: str, suffix: str) -> int:
        return len(self.prompt_format.encode(self.tokenizer, prefix, suffix))

    def generate(self, requests: list[Request], settings: SamplingSettings, max_new_tokens: int,
                 batch_size: int) -> list[str]:
        completions: list[str] = []
        run_halving_on_out_of_memory(requests, batch_size, lambda chunk: completions.extend(
            self._generate_batch(list(chunk), settings, max_new_tokens)))
        return completions

    @torch.inference_mode()
    def _generate_batch(self, requests: list[Request], settings: SamplingSettings,
                        max_new_tokens: int) -> list[str]:
        prompts = [self.prompt_format.encode(self.tokenizer, r.prefix, r.suffix) for r in requests]
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width + max_new_tokens), dtype=torch.long)
        for row, prompt in enumerate(prompts):           # left padding: every prompt ends at column width - 1
            input_ids[row, width - len(prompt):] = torch.tensor(prompt)
            attention[row, width - len(prompt):] = 1     # generated columns are filled in as they come
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention[:, :width].cumsum(-1) - 1).clamp(min=0)
        generators = row_generators(settings.seed, [r.sample_id for r in requests])
        seen = self._prompt_tokens(prompts) if settings.repetition_penalty != 1.0 else None
        stops = set(self.stop_ids) | set(self.newline_ids)
        outputs: list[list[int]] = [[] for _ in requests]
        active = list(range(len(requests)))          # rows still generating; finished rows leave the batch
        cache, step_ids, length = new_kv_cache(self.model), input_ids, width
        for _ in range(max_new_tokens):
            out = self.model(input_ids=step_ids, attention_mask=attention[:, :length], position_ids=positions,
                             use_cache=True, logits_to_keep=1, **{self.cache_argument: cache})
            tokens = choose_tokens(out.logits[:, -1, :], settings, generators, seen)
            chosen = tokens.tolist()                 # the step's one host transfer
            for row, token in zip(active, chosen):
                outputs[row].append(token)
            going = [i for i, token in enumerate(chosen) if token not in stops]
            if not going:
                break
            if len(going) < len(chosen):             # drop finished rows: their cache, mask and random stream
                keep = torch.tensor(going, device=self.device)
                cache.batch_select_indices(keep)
                attention, tokens, positions = attention[keep], tokens[keep], positions[keep]
                seen = seen[keep] if seen is not None else None
                active, generators = [active[i] for i in going], [generators[i] for i in going]
            if seen is not None:
                seen[torch.arange(len(active), device=self.device), tokens] = True
            step_ids, positions = tokens[:, None], positions[:, -1:] + 1
            attention[:, length] = 1
            length += 1
        return [self._decode(ids) for ids in outputs]

    def _prompt_tokens(self, prompts: list[list[int]]) -> torch.Tensor:
        """Which token ids each row's prompt holds (padding excluded): the repetition penalty's prompt part."""
        vocab = self.model.get_output_embeddings().out_features
        seen = torch.zeros((len(prompts), vocab), dtype=torch.bool, device=self.device)
        for row, prompt in enumerate(prompts):
            seen[row, torch.tensor([t for t in prompt if t < vocab], dtype=torch.long, device=self.device)] = True
        return seen

    def _decode(self, ids: list[int]) -> str:
        stops, newlines = set(self.stop_ids), set(self.newline_ids)
        cut = next((i + (t in newlines) for i, t in enumerate(ids) if t in stops or t in newlines), len(ids))
        return self.tokenizer.decode(ids[:cut], skip_special_tokens=True)


def newline_token_ids(tokenizer) -> list[int]:
    """Every token whose text contains a newline (in byte-level BPE, many: newline + indentation merges)."""
    size = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(size)])
    return [i for i, text in enumerate(texts) if "\n" in text]


def cache_argument(model) -> str:
    """The forward keyword for the KV cache: `cache` in transformers 5 (where `past_key_values` is deprecated,
    to be removed in 5.40), `past_key_values` before. A wrapper with only **kwargs is taken to pass them on to a
    model of the installed transformers."""
    parameters = inspect.signature(model.forward).parameters
    if "cache" not in parameters and "past_key_values" not in parameters:
        from transformers import Qwen2Model
        parameters = inspect.signature(Qwen2Model.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def new_kv_cache(model):
    """An empty DynamicCache, built from the model's config as the model itself would build it."""
    from transformers import DynamicCache
    config = getattr(model, "config", None)
    try:
        return DynamicCache(config=config)
    except TypeError:                                # transformers < 4.56: no config argument
        return DynamicCache()
