"""infill-bench's options as data: name, ini key, help and default. The pytest plugin adds them to pytest's
parser (each option also reads an ini key of the same name); `infill.config.run_config` parses their raw values
into one typed `RunConfig`. Nothing here knows pytest."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REPORT_DIR = "reports/latest"
TIMINGS_REPORT_DIR = "reports/timings"        # default when a run has timings and no benchmark case
DEFAULT_CACHE_DIR = ".infill-cache"
DEFAULT_BENCHMARKS = "humaneval-single-line,santacoder-fim-py"   # what a run of live models grades by default


@dataclass(frozen=True)
class Option:
    name: str                   # --infill-...
    dest: str                   # also the ini key
    help: str
    default: object = None
    kind: str = "value"         # value | list (repeatable, ini linelist) | flag (store_true, ini bool)
    metavar: str | None = None
    aliases: tuple[str, ...] = ()


OPTIONS: tuple[Option, ...] = (
    Option("--infill-replay", "infill_replay", "MODEL=PATH (or MODEL:BENCHMARK=PATH): grade recorded generations; "
           "PATH is a generations file or a folder of them; repeatable", kind="list", metavar="MODEL=PATH"),
    Option("--infill-models", "infill_models", "comma-separated models to run: replayed ones, the embedded "
           "recorded ones, or 'canonical' (the ground truth, a grader self-check)"),
    Option("--infill-benchmarks", "infill_benchmarks", "comma-separated benchmarks or groups (humaneval, "
           "santacoder, all); default: what the selected models have"),
    Option("--infill-limit", "infill_limit", "grade only the first N samples of each benchmark"),
    Option("--infill-report-dir", "infill_report_dir", f"where report.md, summary.json, samples.jsonl go "
           f"(default {DEFAULT_REPORT_DIR} in the project folder)"),
    Option("--infill-em-rule", "infill_em_rule", "exact-match rule that decides pass/xfail on SantaCoder-FIM: "
           "first_line or full (both are always reported)", "first_line"),
    Option("--infill-timeout", "infill_timeout", "seconds per HumanEval-Infill program (reference: 3.0)", "3.0"),
    Option("--infill-workers", "infill_workers", "sandbox worker processes (default: CPU count)", "0"),
    Option("--infill-isolation", "infill_isolation", "auto, bwrap or rlimits", "auto"),
    Option("--infill-profile", "infill_profile", "paper (the published reruns, real weights), open-dllm-readme "
           "(paper with Open-dCoder's original p2) or tiny (shipped smoke models on CPU); default: paper with a GPU, "
           "tiny without"),
    Option("--infill-temperature", "infill_temperature", "sampling temperature for live models (0: greedy)"),
    Option("--infill-top-p", "infill_top_p", "nucleus sampling threshold for live models (default: the profile's, "
           "else the model's generation_config.json, else transformers' 1.0)"),
    Option("--infill-top-k", "infill_top_k", "top-k sampling for live AR models (0: off; default as for top-p, "
           "transformers' default 50)"),
    Option("--infill-repetition-penalty", "infill_repetition_penalty", "repetition penalty for live AR models "
           "(default as for top-p; 1.0: off)"),
    Option("--infill-max-new-tokens", "infill_max_new_tokens", "new tokens per completion for AR models"),
    Option("--infill-seed", "infill_seed", "seed; each sample has its own random stream derived from it"),
    Option("--infill-samples", "infill_samples", "completions per task for live models (default: the profile's, 1): "
           "pass@k for k in 1, 10, 100 up to N, the noise of single runs, paired comparisons on per-task fractions"),
    Option("--infill-batch-size", "infill_batch_size", "generation batch size (halved on out-of-memory)"),
    Option("--infill-steps", "infill_steps", "diffusion steps (paper: 64)"),
    Option("--infill-alg", "infill_alg", "diffusion algorithm: p2, p2_remask, maskgit_plus, topk_margin, entropy, "
           "origin"),
    Option("--infill-alg-temp", "infill_alg_temp", "diffusion selection temperature (Gumbel-top-k when > 0)"),
    Option("--infill-length-policies", "infill_length_policies", "diffusion canvas lengths, comma-separated: "
           "oracle, fixed:N, confidence[:L1,...] (default: oracle,confidence); each is its own MODEL/POLICY row"),
    Option("--infill-postprocess", "infill_postprocess", "none or first_line (overrides the profile)"),
    Option("--infill-dtype", "infill_dtype", "float32, bfloat16 or float16 (default: bf16 on GPU, fp32 on CPU)"),
    Option("--infill-cache-dir", "infill_cache_dir", f"cache folder of generations, scores and verdicts (default "
           f"{DEFAULT_CACHE_DIR} in the project folder)"),
    Option("--infill-ensemble", "infill_ensemble", "NAME=MODEL+MODEL[+...]: a perplexity ensemble of these models "
           "(a diffusion member names its length policy, e.g. tiny-qwen2-diffusion/oracle); repeatable",
           kind="list", metavar="NAME=MODEL+MODEL"),
    Option("--infill-ensemble-scorer", "infill_ensemble_scorer", "SCORER:MODEL[+SCORER:MODEL]: what ranks the "
           "ensemble's candidates; scorers ar_plain (published), ar_fim, diffusion (default: the profile's)"),
    Option("--infill-ensemble-combine", "infill_ensemble_combine", "how several scorers' perplexities combine: "
           "min, mean, harmonic", "min"),
    Option("--infill-ensemble-strategies", "infill_ensemble_strategies", "comma-separated strategies, each its own "
           "row NAME/STRATEGY: lowest-perplexity (published), calibrated, routed, oracle (an upper bound)"),
    Option("--infill-gates", "infill_gates", "TOML file of regression gates (thresholds per benchmark, model and "
           "metric; see infill/reporting/gates/ and gates/); checked after the report, a failing gate exits 1"),
    Option("--infill-model-path", "infill_model_path", "load a registered model from this local folder; repeatable",
           kind="list", metavar="NAME=DIR"),
    Option("--infill-no-cache", "infill_no_cache", "generate, score and grade without reading or writing the cache "
           "(generations, scores, verdicts)", kind="flag"),
    Option("--infill-refresh-cache", "infill_refresh_cache", "discard this run's cached generations and regenerate",
           kind="flag"),
    Option("--infill-allow-partial-replay", "infill_allow_partial_replay", "grade a replayed file that lacks some "
           "selected samples (they count as missing) instead of stopping; its rows are marked PARTIAL and gates "
           "refuse them", kind="flag"),
    Option("--infill-sequential-models", "infill_sequential_models", "hold one model in memory at a time "
           "(generate, free, load the next; for small GPUs)", kind="flag"),
    Option("--infill-shard", "infill_shard", "run only shard I of N: a stable split of the selected samples (after "
           "--infill-limit) by a hash of benchmark and sample id; merge the N reports with ./infill-bench merge",
           metavar="I/N", aliases=("--shard",)),
)
TIMINGS_OPTION = Option("--infill-timings", "infill_timings", "run the timing benchmarks (pytest-benchmark) in "
                        "bench_tests", False, kind="flag")
