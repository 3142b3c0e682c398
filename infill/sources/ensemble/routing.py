"""The routing strategy: learn from cheap features of a sample which member to trust, under cross-validation.

Features are known before generating (so a router could decide which model to run at all): prefix and suffix
length in lines and characters (log-scaled), the indentation of the line being filled, and the task type. For each
member a small L2-regularised logistic regression predicts "this member's completion is correct"; the router
keeps the member with the highest predicted probability, ties and near-ties (within 1e-9) going to what
lowest-perplexity keeps.

Evaluation: samples are split into `folds` folds by a hash of their id (stable across runs and machines, not by
position); the choice for a sample in fold k comes from routers trained on the other folds only. With fewer than
`2 * folds` samples there is too little to learn from and the router falls back to lowest-perplexity (stated in
the record as `routed_by`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

ROUTER_VERSION = "logreg-cv5-v1"
FOLDS = 5


@dataclass(frozen=True)
class SampleFeatures:
    sample_id: str
    prefix: str
    suffix: str
    task_type: str | None


def features(sample: SampleFeatures, task_types: list[str]) -> list[float]:
    last_line = sample.prefix.rsplit("\n", 1)[-1]
    indent = len(last_line) - len(last_line.lstrip(" \t"))
    next_line = sample.suffix.split("\n", 1)[0]
    return [math.log1p(len(sample.prefix)), math.log1p(sample.prefix.count("\n")),
            math.log1p(len(sample.suffix)), math.log1p(sample.suffix.count("\n")),
            indent / 4.0, float(bool(next_line.strip())),
            *[float(sample.task_type == t) for t in task_types]]


def fold_of(sample_id: str, folds: int = FOLDS) -> int:
    return int.from_bytes(hashlib.sha256(sample_id.encode()).digest()[:8], "big") % folds


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50):
    """Newton's method on the L2-regularised log-loss (the intercept is not penalised). Returns a predictor.
    Standardisation uses the training rows only."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    weights = np.zeros(design.shape[1])
    penalty = l2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + penalty @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(len(weights))
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break

    def predict(rows: np.ndarray) -> np.ndarray:
        z = np.hstack([np.ones((len(rows), 1)), (rows - mean) / std]) @ weights
        return 1.0 / (1.0 + np.exp(-z))
    return predict


def route(samples: list[SampleFeatures], members: list[str], correct: dict[str, list[bool]],
          fallback: list[int], folds: int = FOLDS, trainer=fit_logistic) -> tuple[list[int], str]:
    """(chosen member index per sample, how it was routed). `correct[member][i]` is the verdict of member's
    candidate for samples[i]; `fallback[i]` the lowest-perplexity choice. `trainer(x, y)` returns a predictor;
    it only ever sees rows outside the fold being predicted."""
    if len(samples) < 2 * folds or len(members) < 2:
        return list(fallback), "fallback: too few samples to cross-validate"
    task_types = sorted({s.task_type or "" for s in samples})
    x = np.array([features(s, task_types) for s in samples], dtype=np.float64)
    fold = np.array([fold_of(s.sample_id, folds) for s in samples])
    chosen = list(fallback)
    for k in range(folds):
        test = np.flatnonzero(fold == k)
        train = np.flatnonzero(fold != k)
        if len(test) == 0:
            continue
        scores = []
        for member in members:
            y = np.array([correct[member][i] for i in train], dtype=np.float64)
            if len(train) == 0 or y.min() == y.max():
                scores.append(np.full(len(test), y.mean() if len(train) else 0.5))   # nothing to separate
            else:
                scores.append(trainer(x[train], y)(x[test]))
        scores = np.array(scores)                     # members x test rows
        for column, row in enumerate(test):
            best = scores[:, column].max()
            tied = [m for m in range(len(members)) if scores[m, column] >= best - 1e-9]
            chosen[row] = fallback[row] if fallback[row] in tied else tied[0]
    return chosen, f"cross-validated ({folds} folds by sample-id hash)"
