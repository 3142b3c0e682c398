"""The routing strategy: learn from cheap features of a sample which member to trust, under cross-validation.

Features are known before generating (so a router could decide which model to run at all): prefix and suffix
length in lines and characters (log-scaled), the indentation of the line being filled, and the task type. For each
member a logistic regression (scikit-learn's, on standardised features, L2 with C = 1) predicts "this member's
completion is correct"; the router keeps the member with the highest predicted probability, ties and near-ties
(within 1e-9) going to what lowest-perplexity keeps.

Evaluation: samples are split into `FOLDS` folds **by problem** (scikit-learn's GroupKFold over the sample's
problem: all lines of one HumanEval function, all holes of one SantaCoder file, in one fold), so the choice for a
sample comes from routers trained on other problems only: the lines of one problem share its code and its
difficulty, and a router that saw a problem's other lines in training would profit from it (v1 split by sample-id
hash and leaked that way). With fewer than `FOLDS` problems or `2 * FOLDS` samples the router falls back to
lowest-perplexity (stated in the record as `routed_by`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ROUTER_VERSION = "logreg-groupkfold5-v2"
FOLDS = 5


@dataclass(frozen=True)
class SampleFeatures:
    sample_id: str
    prefix: str
    suffix: str
    task_type: str | None
    problem: str = ""               # samples of one problem share a fold (default: each sample its own)


def features(sample: SampleFeatures, task_types: list[str]) -> list[float]:
    last_line = sample.prefix.rsplit("\n", 1)[-1]
    indent = len(last_line) - len(last_line.lstrip(" \t"))
    next_line = sample.suffix.split("\n", 1)[0]
    return [math.log1p(len(sample.prefix)), math.log1p(sample.prefix.count("\n")),
            math.log1p(len(sample.suffix)), math.log1p(sample.suffix.count("\n")),
            indent / 4.0, float(bool(next_line.strip())),
            *[float(sample.task_type == t) for t in task_types]]


def folds_by_problem(samples: list[SampleFeatures], folds: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) per fold; no problem is in both of a fold's sides."""
    from sklearn.model_selection import GroupKFold
    groups = [s.problem or s.sample_id for s in samples]
    return list(GroupKFold(n_splits=folds).split(np.zeros(len(samples)), groups=groups))


def fit_logistic(x: np.ndarray, y: np.ndarray):
    """A predictor of P(correct) fitted on the training rows only (the scaler too)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(x, y.astype(int))
    return lambda rows: model.predict_proba(rows)[:, 1]


def route(samples: list[SampleFeatures], members: list[str], correct: dict[str, list[bool]],
          fallback: list[int], folds: int = FOLDS, trainer=fit_logistic) -> tuple[list[int], str]:
    """(chosen member index per sample, how it was routed). `correct[member][i]` is the verdict of member's
    candidate for samples[i]; `fallback[i]` the lowest-perplexity choice. `trainer(x, y)` returns a predictor;
    it only ever sees rows of other problems than the fold it predicts."""
    problems = {s.problem or s.sample_id for s in samples}
    if len(samples) < 2 * folds or len(problems) < folds or len(members) < 2:
        return list(fallback), "fallback: too few samples or problems to cross-validate"
    task_types = sorted({s.task_type or "" for s in samples})
    x = np.array([features(s, task_types) for s in samples], dtype=np.float64)
    chosen = list(fallback)
    for train, test in folds_by_problem(samples, folds):
        scores = []
        for member in members:
            y = np.array([correct[member][i] for i in train], dtype=np.float64)
            if y.min() == y.max():
                scores.append(np.full(len(test), y.mean()))        # nothing to separate
            else:
                scores.append(trainer(x[train], y)(x[test]))
        scores = np.array(scores)                     # members x test rows
        for column, row in enumerate(test):
            best = scores[:, column].max()
            tied = [m for m in range(len(members)) if scores[m, column] >= best - 1e-9]
            chosen[row] = fallback[row] if fallback[row] in tied else tied[0]
    return chosen, f"cross-validated ({folds} folds grouped by problem)"
