"""Template of the ``README.md`` written next to the model directories."""


README = """# Tiny smoke models

These two models exist so that every code path of infill-bench (tokenizer
loading, FIM prompting, masked-diffusion canvas decoding, bidirectional
attention, scoring) can run on a CPU-only machine without downloading the real
Open-dCoder / Qwen2.5-Coder weights. They are **smoke models**: a few million
parameters trained for minutes; their benchmark scores are expected to be
near zero. Never draw conclusions about the real models from them.

| directory | what | family / prompt format |
| --- | --- | --- |
| `{ar}/` | autoregressive FIM model, causal `Qwen2ForCausalLM` | `ar-fim` / `qwen-fim` (`<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>` → middle, `<|endoftext|>`) |
| `{diff}/` | masked-diffusion model, started from the AR weights then trained with the masked-diffusion objective | `diffusion` / `diffusion-canvas` (mask token `<M>`) |

Both are plain HF directories (`AutoTokenizer.from_pretrained(d)`,
`AutoModelForCausalLM.from_pretrained(d)`). Weights are stored as **bfloat16**
safetensors (pass `dtype=torch.float32` to compute in fp32). The diffusion
model is saved with a normal causal config, like the real Open-dCoder: the
caller makes attention bidirectional by setting `model.config.is_causal = False`
after loading (and passing `is_causal=False` to `forward`), and must use the
shifted head: `logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)` so
that row j predicts token j.

## Architecture

Qwen2: hidden {hidden}, {layers} layers, {heads} heads / {kv_heads} KV heads,
intermediate {intermediate}, tied embeddings, RoPE theta 1e6, max positions 2048,
vocab {vocab} ({n_params:.2f}M parameters).

## Tokenizer

Byte-level BPE (HF `tokenizers`), vocab {vocab} including the special tokens
`<|endoftext|>` (eos and pad), `<|fim_prefix|>`, `<|fim_middle|>`,
`<|fim_suffix|>`, `<|fim_pad|>`, `<|repo_name|>`, `<|file_sep|>` and `<M>` (the
mask token, `tokenizer.mask_token_id`). NFC normaliser + Qwen2 pre-tokenizer
regex + ByteLevel, exactly the pipeline of the real Qwen2.5 tokenizer (with
transformers 5, `AutoTokenizer` loads any `model_type: qwen2` directory as
`Qwen2Tokenizer`, which always uses that pipeline). `decode(encode(x)) == x`
for any NFC text (checked on every training file; the one stdlib file not in
NFC comes back NFC-normalised). Note that `<M>` is a literal string in some
Python code (`(?P<M>...)` in a regex): training data was encoded with
`split_special_tokens=True`, so such text never became mask tokens; callers
should do the same for prefix/suffix text.

## Training

Data: the `.py` files of the Python {pyver} standard library (sorted list,
without tests, idlelib, lib2to3, encodings tables, ...; {n_files} files,
file-list sha256 in `infill_model.json`); every 25th file held out for
evaluation.

* AR: {ar_steps} AdamW steps, batch {batch} x {seq_len} tokens, 50% FIM (PSM;
  half of the FIM examples have a single whole line as middle) and 50% plain
  left-to-right. Final training loss {ar_loss} nats/token.
* Diffusion: {diff_steps} more steps from the AR weights: t ~ U({eps}, 1),
  tokens masked with probability t, bidirectional attention, shifted head,
  cross-entropy on masked tokens weighted by 1/t and normalised by sequence
  length. Final training loss {diff_loss}.

Wall time {wall_min:.1f} min on one CPU thread ({precision} training), torch
{torch_v}, transformers {tf_v}, tokenizers {tok_v}. Retrain with

    {command}

The result is bit-for-bit reproducible for a given Python version (the
stdlib is the data), library versions and CPU type (float kernels may differ
between CPU instruction sets). The loss is computed exactly as written above but
in row chunks with the head applied only to the rows that carry a loss (a
start-up check compares it with the plain full-logits computation).

Sizes: {sizes}.

`samples.json` holds the completions of a few simple holes by both models
(greedy FIM for the AR model, a 12-token canvas unmasked by confidence for the
diffusion model), written at the end of training.

## Licence

The training data is the CPython standard library, distributed under the
Python Software Foundation License (PSF-2.0); these weights are derived from it.
"""
