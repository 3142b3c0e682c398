"""The perplexity ensemble as a completion source: generate with every member, score every candidate, keep one.

`EnsembleCore.prepare(benchmark)` runs once per benchmark, at the first lookup of any of the ensemble's rows:
1. asks each member for its completions of the ensemble's selected samples (live members generate in batches
   and cache; replayed members read their files);
2. scores every candidate with every scorer, batched, through a durable score cache (a killed run keeps its
   scores), and combines the scorers' perplexities (`min`, `mean`, `harmonic`);
3. grades every candidate (the routed strategy learns from verdicts, the oracle reads them, the analyses compare
   them; the grader memoises programs, so a member's own test does not run its program twice);
4. computes every strategy's choice for every sample.
Each strategy in the spec is its own row (`NAME/STRATEGY`), a model in every report table with its own test cases.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Callable

from infill.benchmarks import BENCHMARKS, Sample, load_benchmark
from infill.ensemble.routing import ROUTER_VERSION, SampleFeatures
from infill.ensemble.runlevel import apply_run_level
from infill.ensemble.spec import EnsembleSpec, ScorerUse
from infill.ensemble.strategies import ORACLE_STRATEGIES, PER_SAMPLE, STRATEGY_VERSION, Candidate
from infill.generation.cache import GenerationCache
from infill.sources import CompletionSource

ENSEMBLE_VERSION = "ppl-ensemble-v1"


def finite_or_none(value: float) -> float | None:
    """JSON has no inf: an unscorable candidate's perplexity is written as null."""
    return round(value, 6) if value is not None and math.isfinite(value) else None


class EnsembleCore:
    def __init__(self, spec: EnsembleSpec, members: dict[str, CompletionSource], score: Callable,
                 grade: Callable, selected: Callable[[str, str], list[Sample]], progress: Callable | None = None):
        self.spec, self.members = spec, members
        self.score, self.grade, self.selected = score, grade, selected
        self.progress = progress or (lambda message: None)
        self.prepared: dict[str, dict[str, dict]] = {}         # benchmark -> sample id -> ensemble details
        self.failed: dict[str, str] = {}

    def details(self, sample: Sample) -> dict | None:
        if sample.benchmark in self.failed:        # prepared once per run: a fault is not recomputed per case
            raise RuntimeError(f"ensemble {self.spec.name} could not be prepared on {sample.benchmark}: "
                               f"{self.failed[sample.benchmark]}")
        if sample.benchmark not in self.prepared:
            try:
                self.prepare(sample.benchmark)
            except Exception as error:
                self.failed[sample.benchmark] = f"{type(error).__name__}: {error}"
                raise
        return self.prepared[sample.benchmark].get(sample.sample_id)

    def prepare(self, benchmark: str) -> None:
        spec = self.spec
        wanted: dict[str, Sample] = {}
        for strategy in spec.strategies:
            for sample in self.selected(spec.row(strategy), benchmark):
                wanted.setdefault(sample.sample_id, sample)
        samples = sorted(wanted.values(), key=lambda s: s.index)
        completions = {m: self.members[m].completions_for(benchmark, samples) for m in spec.members}
        # 2. scores: perplexity per (member, sample) for each scorer, then combined across scorers
        per_scorer = {use.label: self.score(use, benchmark, samples, completions) for use in spec.scorers}
        from infill.scoring import combine
        perplexity = {m: [combine([per_scorer[u.label][m][i].perplexity for u in spec.scorers], spec.combine)
                          for i in range(len(samples))] for m in spec.members}
        # 3. verdicts of every candidate
        verdicts = {m: self.grade([(s, completions[m][s.sample_id]) for s in samples]) for m in spec.members}
        # 4. per-sample choices here; the run-level ones (calibrated, routed) from the rounded figures the records
        # carry, by the same function a merge of shards uses
        candidates = [[Candidate(m, completions[m][s.sample_id], perplexity[m][i], 0.0, verdicts[m][i].correct)
                       for m in spec.members] for i, s in enumerate(samples)]
        prepared = {}
        for i, sample in enumerate(samples):
            candidate_info = {}
            for j, member in enumerate(spec.members):
                candidate, verdict = candidates[i][j], verdicts[member][i]
                scored = {u.label: per_scorer[u.label][member][i] for u in spec.scorers}
                candidate_info[member] = {
                    "completion": candidate.completion, "perplexity": finite_or_none(candidate.perplexity),
                    "mean_nll": finite_or_none(math.log(candidate.perplexity)) if candidate.perplexity > 0 else None,
                    "tokens": min(s.tokens for s in scored.values()),
                    "per_scorer": {label: finite_or_none(s.perplexity) for label, s in scored.items()},
                    "correct": bool(candidate.correct), "status": verdict.status, "detail": verdict.detail,
                    "metrics": dict(verdict.metrics)}
            prepared[sample.sample_id] = {
                "members": list(spec.members), "candidates": candidate_info,
                "choices": {name: spec.members[rule(candidates[i])] for name, rule in PER_SAMPLE.items()},
                "scorer": "+".join(u.label for u in spec.scorers),
                "scorer_version": "+".join(scorer_version(u.scorer) for u in spec.scorers),
                "combine": spec.combine, "strategy_version": STRATEGY_VERSION, "router_version": ROUTER_VERSION}
        apply_run_level([SampleFeatures(s.sample_id, s.prefix, s.suffix, s.task_type) for s in samples],
                        [prepared[s.sample_id] for s in samples])
        self.prepared[benchmark] = prepared
        self.progress(f"{spec.name} {benchmark}: {len(samples)} samples scored, graded and selected")


def scorer_version(name: str) -> str:
    from infill.scoring import SCORERS
    return SCORERS[name].version


class EnsembleRow(CompletionSource):
    """One strategy of an ensemble, reported as the model `NAME/STRATEGY`."""
    kind = "ensemble"

    def __init__(self, core: EnsembleCore, strategy: str):
        self.core, self.strategy = core, strategy
        self.model = core.spec.row(strategy)

    def covers(self, benchmark: str) -> bool:
        return all(self.core.members[m].covers(benchmark) for m in self.core.spec.members)

    def completion(self, sample: Sample) -> str | None:
        details = self.core.details(sample)
        if details is None:
            return None
        return details["candidates"][details["choices"][self.strategy]]["completion"]

    def record_extras(self, sample: Sample) -> dict:
        details = self.core.details(sample)
        if details is None:
            return {}
        return {"ensemble": {**details, "strategy": self.strategy, "winner": details["choices"][self.strategy],
                             "oracle": self.strategy in ORACLE_STRATEGIES}}

    def provenance(self) -> dict:
        from infill.scoring import CALIBRATION_VERSION, COMBINE_VERSION
        spec = self.core.spec
        info = {"model": self.model, "kind": self.kind, "ensemble": spec.name, "version": ENSEMBLE_VERSION,
                "members": list(spec.members), "strategy": self.strategy, "strategy_version": STRATEGY_VERSION,
                "oracle": self.strategy in ORACLE_STRATEGIES,
                "router_version": ROUTER_VERSION if self.strategy == "routed" else None,
                "scorers": [{"scorer": u.scorer, "model": u.model, "version": scorer_version(u.scorer)}
                            for u in spec.scorers], "combine": spec.combine,
                "combine_version": COMBINE_VERSION, "calibration_version": CALIBRATION_VERSION,
                "ar_score_context_lines": getattr(self.core.score, "context_lines", None)}
        weights = getattr(self.core.score, "identities", None)   # the scorer models' weights, once loaded
        if weights:
            info["scorer_weights"] = dict(sorted(weights.items()))
        return info


class ScoreService:
    """Scores candidates with a registry model borrowed from the pool, through a durable per-(scorer, model,
    benchmark) cache keyed by the candidate's text in context, so a killed run keeps its scores and a changed
    completion is scored afresh."""

    def __init__(self, pool, models: dict, cache_dir, cache_enabled: bool, window_for: Callable[[str], object],
                 batch_size: int = 16, progress: Callable | None = None, context_lines: tuple[int, int] | None = None):
        self.pool, self.models, self.cache_dir, self.cache_enabled = pool, models, cache_dir, cache_enabled
        self.window_for, self.batch_size = window_for, batch_size
        # AR scorers read the whole prefix and suffix (the published design) unless the profile keeps only the
        # last/first lines around the hole (`tiny`: CPU cost grows with the context, SantaCoder files are long)
        self.context_lines = context_lines
        self.progress = progress or (lambda message: None)
        self.identities: dict[str, str] = {}

    def __call__(self, use: ScorerUse, benchmark: str, samples: list[Sample],
                 completions: dict[str, dict[str, str | None]]) -> dict[str, list]:
        from infill.generation.live import diffusion_prefix
        from infill.prompts import PROMPT_FORMATS
        from infill.scoring import SCORERS, Scored, ar_fim_scores, ar_plain_scores, diffusion_scores

        spec = self.models[use.model]
        scorer = SCORERS[use.scorer]
        loaded = self.pool.get(spec)
        self.identities[use.model] = loaded.weights_identity
        window = self.window_for(benchmark) if use.scorer == "diffusion" else None
        lines = self.context_lines if use.scorer != "diffusion" else None
        # On CPU, score in float64: float32 results move in the 7th digit with the batch's composition (padding
        # width, neighbours), so a shard of the run would print other perplexities than the whole run. On a GPU
        # the model's own dtype is kept (speed), and shards agree to floating-point noise.
        score_dtype = "float64" if loaded.device == "cpu" else loaded.dtype
        cache = GenerationCache(self.cache_dir, {
            "kind": "ensemble-score", "scorer": use.scorer, "scorer_version": scorer.version, "model": spec.name,
            "weights": loaded.weights_identity, "dtype": score_dtype, "device_kind": loaded.device,
            "window": list(window) if window else None, "context_lines": list(lines) if lines else None, "benchmark": f"{benchmark}@{BENCHMARKS[benchmark].version}",
            "data_sha256": load_benchmark(benchmark).sha256}, self.cache_enabled)
        known = {key: Scored(*json.loads(value)) for key, value in cache.load().items()}


        def context(sample: Sample, completion: str) -> tuple[str, str, str]:
            if use.scorer == "diffusion":
                return diffusion_prefix(sample), completion, sample.suffix
            if lines is None:
                return sample.prefix, completion, sample.suffix
            head = sample.prefix.split("\n")
            return "\n".join(head[-(lines[0] + 1):]), completion, "\n".join(sample.suffix.split("\n")[:lines[1]])

        def key(triple) -> str:
            return hashlib.sha256(json.dumps(triple).encode()).hexdigest()[:32]

        todo = {}
        for member, texts in completions.items():
            for sample in samples:
                text = texts.get(sample.sample_id)
                if text is not None and key(context(sample, text)) not in known:
                    todo.setdefault(key(context(sample, text)), context(sample, text))
        keys = list(todo)
        model = loaded.model
        if keys and score_dtype == "float64":
            import copy
            import torch
            model = copy.deepcopy(loaded.model).to(torch.float64)     # freed when scoring returns
        step = self.batch_size * 8                     # cache granularity: a kill loses at most one chunk
        for first in range(0, len(keys), step):
            chunk = keys[first:first + step]
            triples = [todo[k] for k in chunk]
            try:
                if use.scorer == "ar_plain":
                    scored = ar_plain_scores(model, loaded.tokenizer, triples, batch_size=self.batch_size)
                elif use.scorer == "ar_fim":
                    scored = ar_fim_scores(model, loaded.tokenizer, PROMPT_FORMATS[spec.prompt_format], triples,
                                           batch_size=self.batch_size)
                else:
                    scored = diffusion_scores(model, loaded.tokenizer, triples, batch_size=self.batch_size * 4,
                                              window=window)
            except RuntimeError as error:           # halved down to batch size 1 (infill.generation.memory)
                from infill.generation.memory import out_of_memory_error
                usage = out_of_memory_error(error, f"scorer {use.label} ran out of memory scoring {benchmark}",
                                            first, len(keys), "scores", cache.enabled)
                if usage is None:
                    raise
                raise usage from None
            fresh = {k: s for k, s in zip(chunk, scored)}
            cache.append({k: json.dumps([s.mean_nll, s.tokens]) for k, s in fresh.items()})
            known.update(fresh)
            self.progress(f"scoring {use.label} {benchmark}: {min(first + step, len(keys))}/{len(keys)}")
        unscored = Scored(0.0, 0)                      # no completion: perplexity inf, never preferred
        return {member: [known[key(context(s, texts[s.sample_id]))] if texts.get(s.sample_id) is not None
                         else unscored for s in samples] for member, texts in completions.items()}
