"""The report people read first, on a hand-built run shaped like the default one (three replayed real models, three
tiny live smoke rows, an ensemble of the tiny models and an ensemble of two real models ranked by a tiny scorer, on
HumanEval-Infill single-line and SantaCoder-FIM py): the headline and the model x metric pivot in the first 40
lines, smoke caveats read from the sources (not the names), pairwise tables only for meaningful pairs, "solved only
by" among the real models, one colour per model in every figure, and `compare` values on the shared samples."""

from __future__ import annotations

import json
import math
import re

import pytest

from infill.common.statistics import mcnemar_exact
from infill.reporting.analysis import compute_analyses
from infill.reporting.analysis.colours import PALE, STRONG, model_colours
from infill.reporting.report import write_report
from infill.reporting.roles import ENSEMBLE, REAL, SMOKE, model_roles
from infill.reporting.summary import summarize

HE, SC = "humaneval-single-line", "santacoder-fim-py"
N = 40
# Names chosen so that a name pattern would guess wrong: the smoke model is not called "tiny", one real one is.
REAL_MODELS = {"alpha": set(range(4, 30)) | set(range(32, N)),      # 34/40
               "beta": set(range(N)) - set(range(2, 14)),           # 28/40
               "tiny-but-real": set(range(N)) - set(range(10, 20)) - {30, 31}}   # 28/40
SMOKE_MODELS = {"little-fim": {5}, "little-diffusion/oracle": {1, 2}, "little-diffusion/confidence": set()}
REAL_ENSEMBLE = ("duo", ("alpha", "beta"))              # real members, ranked by the tiny little-fim
SMOKE_ENSEMBLE = ("pair", ("little-diffusion/oracle", "little-fim"))
STRATEGIES = ("lowest-perplexity", "calibrated", "routed")
SCORERS = [{"scorer": "ar_plain", "model": "little-fim", "version": "ar-plain-v1", "smoke": True}]


def record(benchmark, model, i, correct, source, **extra):
    metrics = ({"em_first_line": correct, "em_full": correct and i % 3 != 0, "edit_similarity": 0.5}
               if benchmark == SC else {})
    return {"benchmark": benchmark, "model": model, "source": source, "sample_id": f"{benchmark}/{i}", "index": i,
            "task_type": "single-line", "completion": f"{model}-{i}", "correct": bool(correct),
            "status": "passed" if correct else "failed", "data_sha256": "0" * 64, "benchmark_version": "1",
            **metrics, **extra}


def ensemble_rows(benchmark, name, members, passing):
    """Every strategy keeps a correct member's completion when there is one (the first listed else): the row
    beats its members, as the recorded ensemble does on the default run."""
    rows = []
    for strategy in STRATEGIES:
        for i in range(N):
            winner = next((m for m in members if i in passing[m]), members[0])
            candidates = {m: {"completion": f"{m}-{i}", "perplexity": 2.0 + (m != winner), "correct": i in passing[m],
                              "status": "passed" if i in passing[m] else "failed"} for m in members}
            details = {"strategy": strategy, "strategy_version": "v1", "scorer": "ar_plain:little-fim",
                       "scorer_version": "ar-plain-v1", "members": list(members), "winner": winner,
                       "candidates": candidates, "choices": {s: winner for s in STRATEGIES}, "oracle": False}
            rows.append(record(benchmark, f"{name}/{strategy}", i, i in passing[winner], "ensemble", ensemble=details))
    return rows


def default_like_records():
    passing = {**REAL_MODELS, **SMOKE_MODELS}
    records = []
    for benchmark in (HE, SC):
        records += [record(benchmark, m, i, i in ok, "replay") for m, ok in REAL_MODELS.items() for i in range(N)]
        records += [record(benchmark, m, i, i in ok, "live") for m, ok in SMOKE_MODELS.items() for i in range(N)]
        for name, members in (REAL_ENSEMBLE, SMOKE_ENSEMBLE):
            records += ensemble_rows(benchmark, name, members, passing)
    return records


def sources():
    listed = [{"model": m, "kind": "replay"} for m in REAL_MODELS]
    listed += [{"model": m, "kind": "live", "smoke": True, "model_backend": "ar-fim"} for m in SMOKE_MODELS]
    for name, members in (REAL_ENSEMBLE, SMOKE_ENSEMBLE):
        listed += [{"model": f"{name}/{s}", "kind": "ensemble", "ensemble": name, "members": list(members),
                    "strategy": s, "oracle": False, "scorers": SCORERS} for s in STRATEGIES]
    return listed


def context():
    return {"complete": True, "incomplete_reason": "",
            "notes": ["Default run: replayed real generations, then the tiny live models and their ensembles.",
                      "No GPU: live models ran on the CPU (profile `tiny`)."],
            "selection": {"models": [s["model"] for s in sources()], "profile": "tiny", "benchmarks": [HE, SC],
                          "limit": N, "data_sha256": {HE: "0" * 64, SC: "0" * 64}},
            "rules": {"execution": "exec-v1", "timeout_s": 3, "memory_mb": 512, "isolation": "none",
                      "em_rules": {"first_line": "v1", "full": "v1"}, "em_rule_deciding_tests": "first_line",
                      "edit_similarity": "v1", "postprocessing": "none"},
            "sources": sources(),
            "provenance": {"git": {"commit": "abc", "dirty": False}, "packages": {},
                           "machine": {"platform": "linux", "cpu_count": 2, "python": "3.11", "gpu": []}},
            "run": {"command": "pytest bench_tests", "started": "t0", "finished": "t1", "seconds": 1.0}}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    records = default_like_records()
    write_report(directory, records, summarize(records), context())
    return directory, (directory / "report.md").read_text(), json.loads((directory / "summary.json").read_text())


def table_after(text: str, marker: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after `marker`, header and rule left out."""
    lines = text[text.index(marker):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


# roles -----------------------------------------------------------------------------------------------------------

def test_smoke_comes_from_the_sources_not_the_names():
    roles = model_roles(sources())
    assert [m for m, r in roles.items() if r["group"] == REAL] == ["alpha", "beta", "tiny-but-real"]
    assert {m for m, r in roles.items() if r["group"] == ENSEMBLE} == {f"duo/{s}" for s in STRATEGIES}
    assert {m for m, r in roles.items() if r["group"] == SMOKE} == set(SMOKE_MODELS) | {f"pair/{s}" for s in STRATEGIES}
    assert not roles["tiny-but-real"]["smoke"] and roles["little-fim"]["smoke"]
    # real members, a tiny scorer: an ensemble, but smoke-derived, and says why
    assert roles["duo/routed"]["smoke"] and "ranked by tiny model little-fim" in roles["duo/routed"]["caveats"][0]
    assert "ensemble of tiny models little-diffusion/oracle, little-fim" in roles["pair/routed"]["caveats"][0]
    # a summary written before scorers carried `smoke`: the scorer model's own source decides
    older = [{**s, "scorers": [{"scorer": "ar_plain", "model": "little-fim"}]} if s["kind"] == "ensemble" else s
             for s in sources()]
    assert model_roles(older)["duo/calibrated"]["smoke"]
    real_scorer = [{**s, "scorers": [{"scorer": "ar_plain", "model": "alpha", "smoke": False}]}
                   if s["kind"] == "ensemble" else s for s in sources()]
    assert not model_roles(real_scorer)["duo/calibrated"]["smoke"]
    assert list(model_roles(sources())) == list(roles)      # real models, ensembles, smoke rows; by name


# the first screen ------------------------------------------------------------------------------------------------

def test_the_first_40_lines_hold_the_headline_and_the_pivot(report):
    _, text, summary = report
    first = "\n".join(text.splitlines()[:40])
    assert "## At a glance" in first
    # one headline sentence per benchmark: best real model, its interval, the gap to the next, distinguishable?
    he = next(line for line in first.splitlines() if line.startswith(f"- **{HE}**"))
    assert "best real model **alpha** 85.00% [" in he and "+15.00 pp over beta (70.00%)" in he
    p = mcnemar_exact(len(REAL_MODELS["alpha"] - REAL_MODELS["beta"]), len(REAL_MODELS["beta"] - REAL_MODELS["alpha"]))
    assert ("not distinguishable" in he) == (p >= 0.05) and f"McNemar p = {p:.2g}" in he
    sc = next(line for line in first.splitlines() if line.startswith(f"- **{SC}**"))
    assert sc.startswith(f"- **{SC}** (em_first_line, 40 of 1043 samples): best real model **alpha**")
    # the pivot: every row once, real models, then ensembles, then smoke rows, each group labelled
    pivot = table_after(first, "## At a glance\n\n- ")
    labels = [i for i, row in enumerate(pivot) if row[0].startswith("**")]
    assert [pivot[i][0] for i in labels] == ["**Real models**", "**Ensembles of real models**",
                                             "**Smoke rows (tiny models and ensembles of them: near zero by design)**"]
    models = [row[0] for row in pivot if not row[0].startswith("**")]
    assert models == ["alpha", "beta", "tiny-but-real", *[f"duo/{s}" for s in sorted(STRATEGIES)],
                      "little-diffusion/confidence", "little-diffusion/oracle", "little-fim",
                      *[f"pair/{s}" for s in sorted(STRATEGIES)]]
    assert text.index("| model | humaneval-single-line pass@1 | santacoder-fim-py em_first_line | "
                      "santacoder-fim-py em_full | caveat |") < text.index("## Results")
    cells = {row[0]: row for row in pivot}
    assert cells["alpha"][1:4] == ["85.00% (34/40)", "85.00% (34/40)", "57.50% (23/40)"]
    assert len(pivot) == len({r["model"] for r in summary["results"]}) + 3


def test_every_smoke_derived_row_carries_the_caveat(report):
    _, text, summary = report
    pivot = {row[0]: row[-1] for row in table_after(text, "## At a glance\n\n- ") if not row[0].startswith("**")}
    for model, caveat in pivot.items():
        assert caveat.startswith("SMOKE") == summary["model_roles"][model]["smoke"], model
    assert pivot["tiny-but-real"] == "" and pivot["little-fim"].startswith("SMOKE: shipped tiny model")
    assert all(pivot[f"duo/{s}"].startswith("SMOKE-derived: ranked by tiny model little-fim") for s in STRATEGIES)
    # the highest row is an ensemble ranked by the tiny scorer: the headline says so
    headline = next(line for line in text.splitlines() if line.startswith(f"- **{HE}**"))
    assert headline.endswith("; highest row of any kind: duo/calibrated (ensemble) 95.00%, **SMOKE-derived: ranked by "
                             "tiny model little-fim's ar_plain perplexity**.")


def test_the_full_table_stays_and_results_are_unchanged(report):
    _, text, summary = report
    assert summary["results"] == json.loads(json.dumps(summarize(default_like_records())))
    assert text.index("## At a glance") < text.index("## Results") < text.index("## Analyses")
    assert len([line for line in text.split("## Results")[1].split("##")[0].splitlines()
                if line.startswith(f"| {HE} |")]) == 12
    assert [h["benchmark"] for h in summary["headlines"]] == [HE, SC]
    assert summary["headlines"][0]["best"]["model"] == "alpha" and summary["headlines"][0]["runner_up"]["model"] == "beta"


# analyses --------------------------------------------------------------------------------------------------------

def test_pairwise_tables_hold_only_meaningful_pairs(report):
    _, text, summary = report
    real, ensemble_members = len(REAL_MODELS), len(STRATEGIES) * 2 * 2      # each row of both ensembles x 2 members
    bound = math.comb(real, 2) + ensemble_members
    for benchmark in (HE, SC):
        section = text.split(f"### {benchmark}")[1].split("#### Ensemble")[0]
        pairs = table_after(section, "Pairwise error overlap")
        assert len(pairs) <= bound and len(pairs) == bound
        names = [tuple(row[:2]) for row in pairs]
        assert names[:3] == [("alpha", "beta"), ("alpha", "tiny-but-real"), ("beta", "tiny-but-real")]
        assert ("duo/routed", "alpha") in names and ("pair/routed", "little-fim") in names
        assert not any("little" in a and b in REAL_MODELS or "little" in b and a in REAL_MODELS for a, b in names)
        every = summary["analyses"]["benchmarks"][benchmark]["models"]["pairs"]
        assert len(every) == math.comb(12, 2)                     # the rest stay in summary.json
        assert f"the other {len(every) - bound} of the {len(every)} pairs" in section


def test_solved_only_by_is_counted_among_real_models(report):
    _, text, summary = report
    models = summary["analyses"]["benchmarks"][HE]["models"]
    alone = {m: len(ok - set().union(*(o for n, o in REAL_MODELS.items() if n != m))) for m, ok in REAL_MODELS.items()}
    assert alone == {"alpha": 4, "beta": 2, "tiny-but-real": 2}        # by hand: 10..13; 30, 31; 2, 3
    assert models["real_models"]["solved_only_by"] == alone
    assert models["real_models"]["models"] == list(REAL_MODELS)
    # among every row the duo ensemble copies alpha and beta, so they would show none
    assert models["solved_only_by"]["alpha"] == models["solved_only_by"]["beta"] == 0
    rows = {row[0]: row for row in table_after(text.split(f"### {HE}")[1], "| model | group")}
    assert [rows[m][4] for m in REAL_MODELS] == ["4", "2", "2"]
    assert rows["duo/routed"][4] == "—" and rows["little-fim"][4] == "—"


def test_a_model_has_one_colour_in_every_figure(report):
    from infill.reporting.analysis.plots import pass_rates_figure, selection_figure
    directory, _, summary = report
    records = default_like_records()
    analyses = compute_analyses(records, model_roles(sources()))
    colours = analyses["colours"]
    assert colours == summary["analyses"]["colours"]
    assert len(set(colours.values())) == len(colours) == 12         # no two models share a colour
    assert all(colours[m] in STRONG for m in REAL_MODELS) and all(colours[m] in PALE for m in SMOKE_MODELS)
    seen: dict[str, set[str]] = {}

    def collect(figure):
        for axes in figure.axes:
            for patch in axes.patches:
                if patch.get_gid() in colours:
                    seen.setdefault(patch.get_gid(), set()).add(to_hex(patch.get_facecolor()))

    from matplotlib.colors import to_hex
    for benchmark, info in analyses["benchmarks"].items():
        collect(pass_rates_figure(benchmark, info["models"], colours))
        for name, ensemble in info["ensembles"].items():
            collect(selection_figure(benchmark, name, ensemble, colours))
    assert set(seen) == set(colours)
    assert all(found == {colours[m]} for m, found in seen.items())
    # members drawn in several figures (pass rates of both benchmarks, their ensemble's selection) kept one colour
    assert seen["alpha"] == {colours["alpha"]} and seen["little-fim"] == {colours["little-fim"]}


def test_colours_are_a_fixed_mapping_of_the_run_models():
    roles = model_roles(sources())
    first = model_colours(list(roles), roles)
    assert model_colours(reversed(list(roles)), roles) == first           # order of discovery does not matter
    many = {f"m{i:02d}": {"group": REAL} for i in range(40)}
    assert len(set(model_colours(list(many), many).values())) == 40     # past the palettes: still distinct
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in model_colours(list(many), many).values())


# compare ---------------------------------------------------------------------------------------------------------

def test_compare_shows_both_values_on_the_samples_the_delta_is_computed_on(tmp_path, capsys):
    from infill.reporting.compare import main
    from tests.test_compare import BENCH, records_for, write_run
    base = write_run(tmp_path / "base", records_for("m", set(range(50)), n=100))           # 50/100
    run = write_run(tmp_path / "run", records_for("m", set(range(30)), n=40))              # 30/40, a subset
    assert main([str(base), str(run)]) == 0
    diff = capsys.readouterr().out
    [row] = [line for line in diff.splitlines() if line.startswith(f"| {BENCH} | m | pass@1 |")]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    # on the 40 shared samples the baseline passed all 40, the run 30: -25 pp, as the Δ column says (the full
    # baseline's 50% beside the run's 75% would read as +25)
    assert cells[3] == "100.00% (40/40); full run 50.00% (50/100)"
    assert cells[4] == "75.00% (30/40)"
    assert cells[5].startswith("-25.00 [") and cells[6] == "paired, 40"
    assert "both runs' values are on the samples Δ is computed on" in diff


# the default run itself ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_default_report_opens_with_the_headline_and_the_pivot(tmp_path):
    """The main job as a user runs it (the embedded default, on 8 samples per benchmark, about 90 s on 2 cores
    with an empty cache)."""
    from tests.test_suite_end_to_end import run_suite
    done = run_suite(tmp_path / "report", "--infill-limit", "8", "--infill-cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = (tmp_path / "report" / "report.md").read_text()
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    first = text.splitlines()[:40]
    for benchmark in summary["selection"]["benchmarks"]:
        [headline] = [line for line in first if line.startswith(f"- **{benchmark}**")]
        assert re.search(r"best real model \*\*recorded-[^*]+\*\* [\d.]+% \[[\d.]+%, [\d.]+%\], ([+-][\d.]+ pp over "
                         r"recorded-\S+ \([\d.]+%\), (not )?distinguishable at 0.05|the only real)", headline), headline
    roles = summary["model_roles"]
    pivot = table_after("\n".join(first), "## At a glance\n\n- ")
    rows = {row[0]: row for row in pivot if not row[0].startswith("**")}
    assert set(rows) == {r["model"] for r in summary["results"]}          # every row, in the first 40 lines
    assert [row[0] for row in pivot if row[0].startswith("**")] == [
        "**Real models**", "**Ensembles of real models**",
        "**Smoke rows (tiny models and ensembles of them: near zero by design)**"]
    for model, row in rows.items():
        assert row[-1].startswith("SMOKE") == roles[model]["smoke"], model
    assert {m for m, r in roles.items() if r["group"] == "real"} == {
        "recorded-open-dcoder-0.5B", "recorded-deepseek-coder-1.3b-base", "recorded-qwen2.5-coder-1.5b-instruct"}
    assert rows["recorded-ensemble/lowest-perplexity"][-1].startswith("SMOKE-derived: ranked by tiny model "
                                                                       "tiny-qwen2-fim")
    assert rows["ensemble/lowest-perplexity"][-1].startswith("SMOKE: ensemble of tiny models")
    for benchmark in summary["selection"]["benchmarks"]:
        section = text.split(f"### {benchmark}")[1].split("#### Ensemble")[0]
        pairs = table_after(section, "Pairwise error overlap")
        assert len(pairs) <= math.comb(3, 2) + 2 * 3 * 2        # real pairs + (ensemble rows x members)
        assert not any({roles[a]["group"], roles[b]["group"]} == {"real", "smoke"} for a, b, *_ in pairs)
