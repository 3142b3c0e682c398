"""The "## Analyses" section of report.md, rendered from the JSON-able analyses (the same numbers as
summary.json's `analyses`, so the two can never disagree)."""

from __future__ import annotations

from infill.common.formatting import percent
from infill.reporting.roles import ordered_models


def ci(entry: dict) -> str:
    low, high = entry["ci95"]
    return f"{percent(entry['rate'])} [{percent(low)}, {percent(high)}]"


def pvalue(value) -> str:
    if value is None:
        return "n/a"
    # McNemar's exact p underflows a float below ~1e-308 (thousands of one-sided discordant samples)
    return "< 1e-300" if value == 0 else f"{value:.3g}"


def number(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["---"] * len(header)
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|",
            *["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows], ""]


def _images(plots: list[dict]) -> list[str]:
    return [f"![{p['title']}]({p['file']})" for p in plots] + ([""] if plots else [])


def _model_rows(multi: dict) -> list[list]:
    """The per-model table in report order (real models, ensembles, smoke rows), "solved only by" among the real
    models only: an ensemble row copies its members' completions and a smoke row is no rival."""
    groups, caveats = multi.get("groups", {}), multi.get("caveats", {})
    real = multi.get("real_models", {})
    oracle_rows = multi.get("oracle_rows", [])
    rows = []
    for m in ordered_models(multi["models"], {model: {"group": g} for model, g in groups.items()}):
        note = "; ".join((["ORACLE row (reads the verdicts)"] if m in oracle_rows else []) +
                         ([caveats[m]] if m in caveats else []))
        rows.append([m, groups.get(m, "n/a"), multi["per_model"][m]["shared_samples"]["passed"],
                     ci(multi["per_model"][m]["shared_samples"]), real.get("solved_only_by", {}).get(m, "—"), note])
    return rows


def _oracle_lines(multi: dict) -> list[str]:
    real, oracle, best = multi.get("real_models") or {}, multi["oracle"], multi["best_single"]
    caveats = multi.get("caveats", {})
    best_caveat = "; ".join(caveats[m] for m in best["models"] if m in caveats)
    everything = (f"{oracle['passed']}/{oracle['n']} = {ci(oracle)}" +
                  (f", ORACLE rows left out of it: {', '.join(multi['oracle_rows'])}" if multi["oracle_rows"] else ""))
    if not real.get("models"):
        first = (f"- **ORACLE best-of-N** over every row (a sample counts if any row is correct; it reads the "
                 f"verdicts, so it is an upper bound, not a system; no real model in this benchmark): {everything}.")
    else:
        best_real = real["best_single"]
        first = (f"- **ORACLE best-of-N among the real models** (a sample counts if any of them is correct; it reads "
                 f"the verdicts, so it is an upper bound, not a system): {real['oracle']['passed']}/"
                 f"{real['oracle']['n']} = {ci(real['oracle'])}; best real model {', '.join(best_real['models'])} "
                 f"({best_real['passed']}, {percent(best_real['rate'])}), oracle gain over it: "
                 f"+{real['oracle_gain']['samples']} samples (+{percent(real['oracle_gain']['rate'])}); solved by no "
                 f"real model: {real['solved_by_none']}. Over every row: {everything}.")
    return [first,
            f"- Best single row overall (a model, or an ensemble that is not an oracle): "
            f"{', '.join(best['models']) or 'n/a'} ({best['passed']}, {percent(best['rate'])})" +
            (f", **{best_caveat}**" if best_caveat else "") +
            f"; solved by no row: {multi['solved_by_none']}.", ""]


def render_models(multi: dict) -> list[str]:
    if not multi["models"]:
        return ["No models to compare.", ""]
    per_model = ", ".join(f"{m} {n}" for m, n in multi["samples_per_model"].items())
    lines = [f"Models compared on the **{multi['shared_samples']}** samples all of them were graded on "
             f"(graded per model: {per_model})" +
             (f"; excluded: {', '.join(multi['excluded'])}" if multi["excluded"] else "") + ".", ""]
    lines += _table(["model", "group", "passed (shared)", "pass rate [95% CI]",
                     "solved only by this model (among real models)", "note"],
                    _model_rows(multi), ["---", "---", "---:", "---", "---:", "---"])
    lines += _oracle_lines(multi)
    pairs, every = multi.get("shown_pairs", multi["pairs"]), multi["pairs"]
    hidden = (f"; the other {len(every) - len(pairs)} of the {len(every)} pairs (such as a real model against a "
              f"smoke row, which says nothing) are in summary.json") if len(pairs) < len(every) else ""
    if pairs:
        lines += [f"Pairwise error overlap on the shared samples, with McNemar's exact test (two-sided binomial on "
                  f"the discordant samples): real models among themselves, then each ensemble row (A) against its "
                  f"members{hidden}.", ""]
        lines += _table(["A", "B", "both right", "only A wrong", "only B wrong", "both wrong", "McNemar p"],
                        [[p["a"], p["b"], p["both_right"], p["only_a_wrong"], p["only_b_wrong"], p["both_wrong"],
                          pvalue(p["mcnemar_p"])] for p in pairs],
                        ["---", "---", "---:", "---:", "---:", "---:", "---:"])
    elif every:
        lines += [f"No pair of real models and no ensemble here{hidden}.", ""]
    return lines


def render_ensemble(name: str, ens: dict, plots: list[dict]) -> list[str]:
    scorer = ens.get("scorer") or "n/a"
    lines = [f"#### Ensemble `{name}`", "",
             f"Members {', '.join(f'`{m}`' for m in ens['members'])}; scorer `{scorer}` "
             f"({ens.get('scorer_version') or 'n/a'}); strategy rules {ens.get('strategy_version') or 'n/a'}; "
             f"{ens['n']} samples.", ""]
    member_rows = []
    for member, info in ens["per_member"].items():
        ppl, predict = info["perplexity"], info["predicts_correctness"]
        r, auc = predict["pearson_log_perplexity"], predict["roc_auc_neg_perplexity"]
        member_rows.append([
            member, ci(info["candidates"]), f"{number(ppl['mean'])} / {number(ppl['median'])}", ppl["inf"],
            f"{number(ppl['correct']['median'])} / {number(ppl['incorrect']['median'])}",
            f"{number(r['r'])} (p {pvalue(r['p_value'])}, n {r['n']})",
            f"{number(auc['auc'])} [{number(auc['low'])}, {number(auc['high'])}]"])
    lines += ["Per member: does lower perplexity predict a correct candidate? Pearson r is between log(perplexity) "
              "and correctness (1/0) over finite perplexities (negative = lower perplexity goes with correct); "
              "ROC-AUC scores candidates by -perplexity (unscorable lowest; 0.5 = chance), with a 95% percentile "
              "bootstrap interval.", ""]
    lines += _table(["member", "candidate pass rate [95% CI]", "perplexity mean / median", "unscorable",
                     "median ppl correct / incorrect", "Pearson r (log ppl)", "ROC-AUC [95% CI]"], member_rows,
                    ["---", "---", "---:", "---:", "---:", "---", "---"])
    lines += ["Strategies, each computed from the correctness of the candidate it would keep:", ""]
    lines += _table(["strategy", "passed", "pass rate [95% CI]"],
                    [[("**" + s["label"] + "**") if s["oracle"] else s["label"], f"{s['passed']}/{s['n']}", ci(s)]
                     for s in ens["strategies"]], ["---", "---:", "---"])
    comp = ens["complementarity"]
    lines += [f"- Solved by at least one member (ORACLE best-of-{len(ens['members'])}): {comp['solved_by_any']}/"
              f"{comp['n']}; only by: " + ", ".join(f"{m} {k}" for m, k in comp["solved_only_by"].items()) +
              f"; oracle gain over the best member: +{comp['oracle_gain']['samples']} samples "
              f"(+{percent(comp['oracle_gain']['rate'])}).", ""]
    if ens["member_pairs"]:
        lines += _table(["member A", "member B", "both right", "only A wrong", "only B wrong", "both wrong",
                         "McNemar p"],
                        [[p["a"], p["b"], p["both_right"], p["only_a_wrong"], p["only_b_wrong"], p["both_wrong"],
                          pvalue(p["mcnemar_p"])] for p in ens["member_pairs"]],
                        ["---", "---", "---:", "---:", "---:", "---:", "---:"])
    row_lines, task_lines = [], []
    for model, row in ens["rows"].items():
        label = f"{model} (ORACLE)" if row["oracle"] else model
        selected = ", ".join(f"{m} {percent(s['share'])}" for m, s in row["selection"]["overall"].items())
        when_chosen = ", ".join(f"{m} {w['correct']}/{w['chosen']}" for m, w in row["winner_correct"].items())
        versus = "; ".join(f"{m}: +{v['ensemble_solves_member_fails']} / -{v['member_solves_ensemble_fails']} "
                           f"(p {pvalue(v['mcnemar_p'])})" for m, v in row["vs_members"].items())
        row_lines.append([label, f"{row['passed']}/{row['n']} = {ci(row)}", selected, when_chosen, versus])
        for task, info in row["selection"]["by_task_type"].items():
            task_lines.append([label, task, info["n"],
                               ", ".join(f"{m} {percent(s['share'])}" for m, s in info["members"].items())])
    lines += ["Per ensemble row: which member's completion was kept, how often the kept one was correct, and the "
              "row against each member (+ solved by the row but not the member / - the reverse, McNemar exact p):",
              ""]
    lines += _table(["row", "pass rate [95% CI]", "kept from", "correct when kept", "vs each member"], row_lines)
    lines += _table(["row", "task type", "n", "kept from"], task_lines, ["---", "---", "---:", "---"])
    mismatched = {m: r["verdict_mismatches"] for m, r in ens["rows"].items() if r["verdict_mismatches"]}
    if mismatched:
        lines += ["> Warning: the row's verdict differs from its kept candidate's verdict on "
                  + ", ".join(f"{m}: {k} samples" for m, k in mismatched.items()) + ".", ""]
    return lines + _images(plots)


def render_noise(noise: dict) -> list[str]:
    """n samples per task: each model's single runs and interval, then every pair's gap against seed noise."""
    from infill.reporting.analysis.noise import statement
    lines = ["Seed noise (n samples per task; sample j of every task is one single-sample run):", ""]
    lines += _table(["model", "samples per task", "pass@1 [95% bootstrap CI over tasks]", "single runs: min / max",
                     "std of single runs"],
                    [[m, e["n_samples"], f"{percent(e['pass_at_1'])} [{percent(e['ci95'][0])}, {percent(e['ci95'][1])}]",
                      f"{percent(e['spread']['min'])} / {percent(e['spread']['max'])}",
                      f"{100 * e['spread']['std']:.2f} points"] for m, e in noise["models"].items()],
                    ["---", "---:", "---", "---", "---:"])
    return lines + [f"- {statement(pair)}" for pair in noise["pairs"]] + ([""] if noise["pairs"] else [])


def render_analyses(analyses: dict | None) -> list[str]:
    if not analyses:
        return []
    lines = ["## Analyses", ""]
    if analyses.get("error"):
        return lines + [f"> The analyses could not be computed ({analyses['error']}); the results above stand.", ""]
    rules = analyses["rules"]
    lines += [f"Analyses `{analyses['version']}`: {rules['summary']}", ""]
    plots = analyses.get("plots", [])
    for benchmark, info in analyses["benchmarks"].items():
        lines += [f"### {benchmark}", ""]
        lines += render_models(info["models"])
        if info.get("noise"):
            lines += render_noise(info["noise"])
        lines += _images([p for p in plots if p["benchmark"] == benchmark and p["kind"] == "pass-rates"])
        for name, ens in info["ensembles"].items():
            lines += render_ensemble(name, ens, [p for p in plots if p["benchmark"] == benchmark
                                                 and p.get("ensemble") == name])
    if analyses.get("errors"):
        lines += ["> Some analysis files could not be written: " + "; ".join(analyses["errors"]), ""]
    if analyses.get("ensemble_files"):
        lines += ["Per-sample ensemble files (published fields plus verdicts): " +
                  ", ".join(f"[{f}]({f})" for f in analyses["ensemble_files"]), ""]
    return lines
