"""Autoregressive FIM backend (transformers): batched, left-padded, per-row stops, KV cache, seeded per sample.

`ARFimGenerator.generate` takes a list of requests (already length-sorted by the caller for little padding)
and returns one completion per request. On out-of-memory it halves the batch and carries on.
"""

from __future__ import annotations

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
    def __init__(self, model, tokenizer, prompt_format: PromptFormat, stop_at_newline: bool = False):
        self.model, self.tokenizer, self.prompt_format = model, tokenizer, prompt_format
        self.stop_ids = prompt_format.stop_ids(tokenizer)
        # With first-line post-processing nothing after the first newline is kept, so a row may stop at the first
        # token that contains one (an exact shortcut, not an approximation).
        self.newline_ids = newline_token_ids(tokenizer) if stop_at_newline else []
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self.device = next(model.parameters()).device

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
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):           # left padding: every prompt ends at the last column
            input_ids[row, width - len(prompt):] = torch.tensor(prompt)
            attention[row, width - len(prompt):] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        generators = row_generators(settings.seed, [r.sample_id for r in requests])
        stop = torch.tensor(self.stop_ids + self.newline_ids, device=self.device)
        outputs: list[list[int]] = [[] for _ in requests]
        active = list(range(len(requests)))          # rows still generating; finished rows leave the batch
        past, step_ids = None, input_ids
        for _ in range(max_new_tokens):
            positions = (attention.cumsum(-1) - 1).clamp(min=0)[:, -step_ids.shape[1]:]
            out = self.model(input_ids=step_ids, attention_mask=attention, position_ids=positions,
                             past_key_values=past, use_cache=True, logits_to_keep=1)
            past = out.past_key_values
            tokens = choose_tokens(out.logits[:, -1, :], settings, generators)
            for row, token in zip(active, tokens.tolist()):
                outputs[row].append(token)
            done = torch.isin(tokens, stop)
            if bool(done.all()):
                break
            if bool(done.any()):                     # drop finished rows: their cache, mask and random stream
                keep = (~done).nonzero().squeeze(-1)
                past.batch_select_indices(keep)
                attention, tokens = attention[keep], tokens[keep]
                kept = keep.tolist()
                active, generators = [active[i] for i in kept], [generators[i] for i in kept]
            step_ids = tokens[:, None]
            attention = torch.cat([attention, torch.ones_like(step_ids)], dim=1)
        return [self._decode(ids) for ids in outputs]

    def _decode(self, ids: list[int]) -> str:
        stops, newlines = set(self.stop_ids), set(self.newline_ids)
        cut = next((i + (t in newlines) for i, t in enumerate(ids) if t in stops or t in newlines), len(ids))
        return self.tokenizer.decode(ids[:cut], skip_special_tokens=True)


def newline_token_ids(tokenizer) -> list[int]:
    """Every token whose text contains a newline (in byte-level BPE, many: newline + indentation merges)."""
    size = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(size)])
    return [i for i, text in enumerate(texts) if "\n" in text]
