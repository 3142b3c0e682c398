"""Ensemble selection: strategies, tie-breaking, calibration, routing under cross-validation, option parsing."""

import math

import numpy as np
import pytest

from infill.errors import InfillUsageError
from infill.models.registry import MODELS
from infill.sources.ensemble.routing import FOLDS, SampleFeatures, features, fit_logistic, folds_by_problem, route
from infill.sources.ensemble.spec import parse_combine, parse_ensemble, parse_scorers, parse_strategies
from infill.sources.ensemble.strategies import Candidate, calibrated, lowest_perplexity, oracle, zscores_by_member


def cands(*ppl, correct=None):
    correct = correct or [None] * len(ppl)
    return [Candidate(f"m{i}", "x", p, 0.0, c) for i, (p, c) in enumerate(zip(ppl, correct))]


def test_lowest_perplexity_picks_the_lowest_and_breaks_ties_by_member_order():
    assert lowest_perplexity(cands(3.0, 2.0)) == 1
    assert lowest_perplexity(cands(2.0, 2.0)) == 0                 # tie: the first member
    assert lowest_perplexity(cands(2.0, 1.0, 1.0)) == 1            # tie among N: the first of the tied
    assert lowest_perplexity(cands(math.inf, math.inf)) == 0       # nothing scorable: still deterministic
    assert lowest_perplexity(cands(math.inf, 50.0)) == 1           # an unscorable candidate is never preferred
    assert lowest_perplexity(cands(float("nan"), 9.0)) == 1


def test_the_same_input_in_another_order_changes_only_through_member_order():
    a = [Candidate("a", "x", 2.0), Candidate("b", "y", 2.0)]
    assert a[lowest_perplexity(a)].member == "a"
    assert a[::-1][lowest_perplexity(a[::-1])].member == "b"      # the documented rule: first listed wins


def test_calibrated_compares_members_with_themselves():
    # member a is always verbose (high perplexity), b always terse; on sample 2 a is unusually confident
    ppl = {"a": [100.0, 100.0, 20.0, 100.0], "b": [2.0, 2.0, 2.0, 2.5]}
    z = zscores_by_member(ppl)
    picks = [calibrated([Candidate("a", "", ppl["a"][i], z["a"][i]), Candidate("b", "", ppl["b"][i], z["b"][i])])
             for i in range(4)]
    # typical samples: b; sample 2: a is far more confident than usual; sample 3: b is its least confident
    assert picks == [1, 1, 0, 0]
    assert all(lowest_perplexity([Candidate("a", "", ppl["a"][i]), Candidate("b", "", ppl["b"][i])]) == 1
               for i in range(4))


def test_oracle_takes_the_first_correct_candidate():
    assert oracle(cands(1.0, 5.0, correct=[False, True])) == 1
    assert oracle(cands(1.0, 5.0, correct=[True, True])) == 0
    assert oracle(cands(9.0, 5.0, correct=[False, False])) == 1   # none correct: what lowest-perplexity keeps


def samples(n, lines_per_problem=4):
    # distinct prefix lengths make every row's first feature unique, so a row can be recognised in training data;
    # consecutive rows are lines of one problem (as HumanEval's L0, L1, ... of one function)
    return [SampleFeatures(f"Task/{i // lines_per_problem}/L{i % lines_per_problem}",
                           "x" * (i + 1) + "\n" + "    " * (i % 3), "y\n" * (i % 5), "single-line",
                           f"Task/{i // lines_per_problem}") for i in range(n)]


def test_routing_never_trains_on_a_problem_of_its_test_fold():
    data = samples(60)
    seen = []

    def spy(x, y):
        seen.append({round(float(v), 9) for v in x[:, 0]})
        return lambda rows: np.full(len(rows), 0.5)

    correct = {"a": [i % 2 == 0 for i in range(60)], "b": [i % 3 == 0 for i in range(60)]}
    route(data, ["a", "b"], correct, [0] * 60, trainer=spy)
    assert len(seen) == 2 * FOLDS                       # one router per member per fold
    first_feature = [round(features(s, ["single-line"])[0], 9) for s in data]
    folds = folds_by_problem(data)
    for call, trained_on in enumerate(seen):
        train, test = folds[call // 2]
        assert trained_on == {first_feature[i] for i in train}
        test_problems = {data[i].problem for i in test}
        assert test_problems and not test_problems & {data[i].problem for i in train}   # no problem on both sides
    assert sorted(i for _, test in folds for i in test) == list(range(60))              # every sample predicted once


def test_routing_learns_a_learnable_rule_and_falls_back_when_data_is_short():
    data = samples(200)
    indent = [features(s, ["single-line"])[4] for s in data]
    correct = {"a": [v > 0 for v in indent], "b": [v == 0 for v in indent]}
    chosen, how = route(data, ["a", "b"], correct, [1] * 200)
    assert "cross-validated" in how
    right = sum((correct["a"][i] if c == 0 else correct["b"][i]) for i, c in enumerate(chosen))
    assert right >= 190
    chosen, how = route(data[:6], ["a", "b"], {m: v[:6] for m, v in correct.items()}, [1] * 6)
    assert chosen == [1] * 6 and how.startswith("fallback")


def test_logistic_fit_separates_and_is_deterministic():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    p1, p2 = fit_logistic(x, y)(x), fit_logistic(x, y)(x)
    assert (p1 == p2).all() and p1[0] < 0.5 < p1[3]


def test_option_parsing_errors_are_one_line():
    assert parse_ensemble("e=a/oracle+b") == ("e", ("a/oracle", "b"))
    assert parse_ensemble("e=tiny-qwen2-diffusion/confidence:6,12+b")[1][0] == "tiny-qwen2-diffusion/confidence:6,12"
    for bad in ["e=a", "=a+b", "e/x=a+b", "e=a+a", "a+b"]:
        with pytest.raises(InfillUsageError) as error:
            parse_ensemble(bad)
        assert "\n" not in str(error.value)
    with pytest.raises(InfillUsageError, match="ar_plain scores with a model of backend ar-fim"):
        parse_scorers("ar_plain:tiny-qwen2-diffusion", MODELS)
    with pytest.raises(InfillUsageError, match="unknown scorer"):
        parse_scorers("bleu:tiny-qwen2-fim", MODELS)
    with pytest.raises(InfillUsageError, match="choose from"):
        parse_strategies("best")
    with pytest.raises(InfillUsageError):
        parse_combine("max")
    assert parse_scorers("ar_plain:tiny-qwen2-fim+diffusion:tiny-qwen2-diffusion", MODELS)[1].scorer == "diffusion"
