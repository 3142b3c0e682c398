"""Compare benchmark runs: `python -m infill.compare RUN_A RUN_B [RUN_C ...] [-o diff.md] [--fail-on-regression]`.

A RUN is a report directory (summary.json, and samples.jsonl when present) or a summary.json. The first run is
the baseline; each other run is compared with it, figure by figure ((benchmark, model, metric) rows of
summary.json `results`), and the comparison is written as Markdown in the report's style (stdout, or `-o FILE`).

For each row present in both runs: both values, the difference (run - baseline) with a 95% interval, a p-value
and whether the difference is significant (p < --alpha, default 0.05):
- paired, when both runs have per-sample records (samples.jsonl) for the row: on the samples both graded, the
  Newcombe (1998, method 10) interval for a difference of paired proportions and McNemar's exact test. The same
  samples graded twice are strongly correlated, so this is far more sensitive than treating the runs as
  independent;
- unpaired otherwise: the Newcombe hybrid-score interval from the two Wilson intervals, and a pooled
  two-proportion z-test.
Then: rows in only one run, the samples that flipped (passed -> failed, failed -> passed; counts always, ids up to
--max-flips per group), timing medians when the summaries have a `timings` list, and a header naming the runs.

Exit status: 0 when the comparison was written; 1 with --fail-on-regression when some row dropped significantly
(delta < 0 and p < alpha; rows missing from a run do not count); 2 for bad input (a missing file, not a
summary.json, or runs that graded different benchmark data: not like with like), with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from infill.errors import InfillUsageError
from infill.stats import wilson_interval

ALPHA = 0.05
MAX_FLIPS = 20
RESULT_KEYS = ("benchmark", "model", "metric", "value", "passed", "n")
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# ---- statistics -----------------------------------------------------------------------------------------------

def mcnemar_exact(losses: int, gains: int) -> float:
    """Two-sided exact McNemar p-value: under no difference each discordant sample is a fair coin flip, so p is
    twice the smaller tail of Binomial(losses + gains, 1/2), at most 1. Integer arithmetic, exact for any n."""
    discordant = losses + gains
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(losses, gains) + 1))
    return min(1.0, 2 * tail / 2 ** discordant)


def paired_interval(both: int, gains: int, losses: int, neither: int) -> tuple[float, float]:
    """95% interval for p_run - p_base on paired samples (Newcombe 1998, method 10: Wilson intervals of the two
    margins, combined with the phi correlation of the 2x2 table). gains = failed in the baseline, passed in the
    run; losses = the reverse."""
    n = both + gains + losses + neither
    if n == 0:
        return 0.0, 0.0
    p_run, p_base = (both + gains) / n, (both + losses) / n
    l_run, u_run = wilson_interval(both + gains, n)
    l_base, u_base = wilson_interval(both + losses, n)
    denominator = (both + gains) * (losses + neither) * (both + losses) * (gains + neither)
    phi = (both * neither - gains * losses) / math.sqrt(denominator) if denominator else 0.0
    delta = p_run - p_base
    below = math.sqrt(max(0.0, (p_run - l_run) ** 2 - 2 * phi * (p_run - l_run) * (u_base - p_base)
                          + (u_base - p_base) ** 2))
    above = math.sqrt(max(0.0, (u_run - p_run) ** 2 - 2 * phi * (u_run - p_run) * (p_base - l_base)
                          + (p_base - l_base) ** 2))
    return max(-1.0, delta - below), min(1.0, delta + above)


def unpaired_interval(passed_base: int, n_base: int, passed_run: int, n_run: int) -> tuple[float, float]:
    """95% interval for p_run - p_base from independent samples (Newcombe 1998, method 10 for independent
    proportions: the hybrid score interval built from the two Wilson intervals)."""
    p_base, p_run = passed_base / n_base, passed_run / n_run
    l_base, u_base = wilson_interval(passed_base, n_base)
    l_run, u_run = wilson_interval(passed_run, n_run)
    delta = p_run - p_base
    return (delta - math.sqrt((p_run - l_run) ** 2 + (u_base - p_base) ** 2),
            delta + math.sqrt((u_run - p_run) ** 2 + (p_base - l_base) ** 2))


def two_proportion_p(passed_base: int, n_base: int, passed_run: int, n_run: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1 when both runs are all-pass or all-fail)."""
    pooled = (passed_base + passed_run) / (n_base + n_run)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_base + 1 / n_run))
    if se == 0:
        return 1.0
    z = (passed_run / n_run - passed_base / n_base) / se
    return math.erfc(abs(z) / math.sqrt(2))


# ---- loading runs ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    label: str
    path: Path                                  # the summary.json
    summary: dict
    results: dict[tuple[str, str, str], dict]   # (benchmark, model, metric) -> summary.json result
    samples: dict[tuple[str, str], dict[str, dict]] | None   # (benchmark, model) -> sample id -> record

    def data_sha256(self) -> dict[str, str]:
        hashes = dict(self.summary.get("selection", {}).get("data_sha256") or {})
        for result in self.results.values():
            if result.get("data_sha256"):
                hashes.setdefault(result["benchmark"], result["data_sha256"])
        return hashes


def load_run(argument: str, label: str) -> Run:
    path = Path(argument)
    if path.is_dir():
        path = path / "summary.json"
        if not path.is_file():
            raise InfillUsageError(f"{argument}: no summary.json in this directory: pass a report directory "
                                   f"(e.g. reports/latest) or a summary.json")
    elif not path.is_file():
        raise InfillUsageError(f"{argument}: no such file or directory: pass a report directory or a summary.json")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InfillUsageError(f"{path}: not JSON{where}: pass an infill-bench summary.json") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("results"), list):
        raise InfillUsageError(f"{path}: not an infill-bench summary.json (no 'results' list): pass the summary.json "
                               f"a run wrote, or its report directory")
    results = {}
    for number, result in enumerate(summary["results"], start=1):
        missing = [k for k in RESULT_KEYS if not isinstance(result, dict) or k not in result]
        if missing:
            raise InfillUsageError(f"{path}: results entry {number} has no {missing[0]!r}: not an infill-bench "
                                   f"summary.json, or a damaged one")
        results[(result["benchmark"], result["model"], result["metric"])] = result
    samples_path = path.with_name("samples.jsonl")
    return Run(label, path, summary, results, load_samples(samples_path) if samples_path.is_file() else None)


def load_samples(path: Path) -> dict[tuple[str, str], dict[str, dict]]:
    samples: dict[tuple[str, str], dict[str, dict]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                samples.setdefault((record["benchmark"], record["model"]), {})[record["sample_id"]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InfillUsageError(f"{path}:{number}: not an infill-bench sample record (JSON with benchmark, "
                                       f"model, sample_id): pass the samples.jsonl a run wrote") from None
    return samples


def check_like_with_like(baseline: Run, run: Run) -> None:
    """The same benchmark name on different data is a different benchmark: refuse rather than compare."""
    base_hashes, run_hashes = baseline.data_sha256(), run.data_sha256()
    for benchmark in sorted(base_hashes.keys() & run_hashes.keys()):
        if base_hashes[benchmark] != run_hashes[benchmark]:
            raise InfillUsageError(
                f"{run.path}: {benchmark} data sha256 {run_hashes[benchmark][:12]}… differs from {baseline.path}'s "
                f"{base_hashes[benchmark][:12]}…: the runs graded different data, so comparing them is not like with "
                f"like; compare runs of the same benchmark data")


# ---- comparing ------------------------------------------------------------------------------------------------

def sample_outcome(record: dict, metric: str) -> bool | None:
    """Did the sample pass under this metric? None when the record does not say (an older or foreign record)."""
    if metric == "pass@1":
        return bool(record["correct"]) if "correct" in record else None
    return bool(record[metric]) if metric in record else None


@dataclass
class Row:
    key: tuple[str, str, str]
    base: dict
    run: dict
    delta: float
    interval: tuple[float, float]
    p_value: float
    paired_n: int | None                # samples both runs graded; None: unpaired
    regressions: list[str]              # sample ids: passed in the baseline, failed in the run
    fixes: list[str]
    alpha: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha and self.delta != 0

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "not significant"
        return "**significantly worse**" if self.delta < 0 else "**significantly better**"


def compare_row(key, base: Run, run: Run, alpha: float) -> Row:
    a, b = base.results[key], run.results[key]
    pair = key[:2]
    base_samples = (base.samples or {}).get(pair, {})
    run_samples = (run.samples or {}).get(pair, {})
    common = [s for s in base_samples if s in run_samples]
    outcomes = [(sample_outcome(base_samples[s], key[2]), sample_outcome(run_samples[s], key[2])) for s in common]
    if common and all(x is not None and y is not None for x, y in outcomes):
        regressions = [s for s, (x, y) in zip(common, outcomes) if x and not y]
        fixes = [s for s, (x, y) in zip(common, outcomes) if y and not x]
        both = sum(x and y for x, y in outcomes)
        neither = len(common) - both - len(regressions) - len(fixes)
        delta = (len(fixes) - len(regressions)) / len(common)
        return Row(key, a, b, delta, paired_interval(both, len(fixes), len(regressions), neither),
                   mcnemar_exact(len(regressions), len(fixes)), len(common), regressions, fixes, alpha)
    if not a["n"] or not b["n"]:
        return Row(key, a, b, 0.0, (0.0, 0.0), 1.0, None, [], [], alpha)
    delta = b["passed"] / b["n"] - a["passed"] / a["n"]
    return Row(key, a, b, delta, unpaired_interval(a["passed"], a["n"], b["passed"], b["n"]),
               two_proportion_p(a["passed"], a["n"], b["passed"], b["n"]), None, [], [], alpha)


@dataclass
class Comparison:
    base: Run
    run: Run
    rows: list[Row]
    only_base: list[tuple[str, str, str]]
    only_run: list[tuple[str, str, str]]

    @property
    def drops(self) -> list[Row]:
        return [r for r in self.rows if r.significant and r.delta < 0]

    @property
    def gains(self) -> list[Row]:
        return [r for r in self.rows if r.significant and r.delta > 0]


def compare(base: Run, run: Run, alpha: float = ALPHA) -> Comparison:
    check_like_with_like(base, run)
    shared = [k for k in base.results if k in run.results]
    return Comparison(base, run, [compare_row(k, base, run, alpha) for k in shared],
                      [k for k in base.results if k not in run.results],
                      [k for k in run.results if k not in base.results])


# ---- Markdown -------------------------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _pp(value: float) -> str:
    return f"{100 * value:+.2f}"


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _figure(result: dict) -> str:
    return f"{_pct(result['value'])} ({result['passed']}/{result['n']})"


def render_header(runs: list[Run], alpha: float) -> list[str]:
    lines = ["# infill-bench comparison", "",
             f"Baseline: run **{runs[0].label}**; every other run is compared with it. Δ = run − baseline in "
             f"percentage points, with a 95% interval. Paired rows (both runs graded the same samples; "
             f"samples.jsonl present) use the Newcombe interval for paired proportions and McNemar's exact test; "
             f"other rows the Newcombe hybrid-score interval and a two-proportion z-test. Significant: p < {alpha:g}.",
             "", "| run | path | commit | started | complete | limit | command |", "|---|---|---|---|---|---:|---|"]
    for run in runs:
        git = run.summary.get("provenance", {}).get("git", {})
        commit = f"`{str(git.get('commit', ''))[:12]}`" + (" (uncommitted changes)" if git.get("dirty") else "") \
            if git.get("commit") else "unknown"
        info, selection = run.summary.get("run", {}), run.summary.get("selection", {})
        complete = {True: "yes", False: "**INCOMPLETE**"}.get(run.summary.get("complete"), "unknown")
        command = f"`{_cell(info['command'])}`" if info.get("command") else ""
        lines.append(f"| {run.label} | `{_cell(run.path)}` | {commit} | {info.get('started', '')} | {complete} "
                     f"| {selection.get('limit') or ''} | {command} |")
    return lines + [""]


def render_comparison(comparison: Comparison, max_flips: int) -> list[str]:
    base, run = comparison.base, comparison.run
    title = f"{run.label} vs {base.label} (baseline)"
    unchanged = len(comparison.rows) - len(comparison.drops) - len(comparison.gains)
    lines = [f"## {title}", "",
             f"{_count(len(comparison.drops), 'significant drop')}, "
             f"{_count(len(comparison.gains), 'significant gain')}, "
             f"{unchanged} not significant; {_count(len(comparison.only_base), 'row')} only in {base.label}, "
             f"{len(comparison.only_run)} only in {run.label}.", ""]
    lines += _notes(base, run)
    if comparison.rows:
        lines += [f"| benchmark | model | metric | {base.label} | {run.label} | Δ pp [95% CI] | test | p | verdict |",
                  "|---|---|---|---|---|---|---|---:|---|"]
        for row in comparison.rows:
            low, high = row.interval
            test = "unpaired" if row.paired_n is None else f"paired, {row.paired_n}"
            lines.append(f"| {row.key[0]} | {row.key[1]} | {row.key[2]} | {_figure(row.base)} | {_figure(row.run)} "
                         f"| {_pp(row.delta)} [{_pp(low)}, {_pp(high)}] | {test} | {_p(row.p_value)} "
                         f"| {row.verdict} |")
        lines.append("")
    for label, keys, source in ((base.label, comparison.only_base, base), (run.label, comparison.only_run, run)):
        if keys:
            lines += [f"Only in {label}:", "", "| benchmark | model | metric | value |", "|---|---|---|---|"]
            lines += [f"| {k[0]} | {k[1]} | {k[2]} | {_figure(source.results[k])} |" for k in keys] + [""]
    lines += _flips(comparison, max_flips)
    lines += _timings(base, run)
    return lines


def _notes(base: Run, run: Run) -> list[str]:
    """Differences that do not stop the comparison but change what it means."""
    notes = []
    for key in sorted(base.results.keys() & run.results.keys()):
        a, b = base.results[key].get("benchmark_version"), run.results[key].get("benchmark_version")
        if a != b:
            notes.append(f"{key[0]}: benchmark definition version {a} in {base.label}, {b} in {run.label}.")
    base_rules, run_rules = base.summary.get("rules") or {}, run.summary.get("rules") or {}
    changed = [k for k in sorted(base_rules.keys() | run_rules.keys()) if base_rules.get(k) != run_rules.get(k)]
    if changed:
        notes.append("Evaluation rules differ: " + "; ".join(
            f"{k}: {_short(base_rules.get(k))} in {base.label}, {_short(run_rules.get(k))} in {run.label}"
            for k in changed) + ".")
    for source in (base, run):
        if source.samples is None:
            notes.append(f"{source.label} has no samples.jsonl: its rows are compared unpaired and no flips are "
                         f"listed.")
    return [f"> {note}" for note in notes] + ([""] if notes else [])


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return f"`{_cell(text if len(text) <= 40 else text[:37] + '...')}`"


def _flips(comparison: Comparison, max_flips: int) -> list[str]:
    rows = [r for r in comparison.rows if r.regressions or r.fixes]
    paired = [r for r in comparison.rows if r.paired_n is not None]
    if not paired:
        return []
    lines = [f"### Flipped samples ({comparison.run.label} vs {comparison.base.label})", ""]
    if not rows:
        return lines + ["No sample changed its outcome.", ""]
    run_samples = comparison.run.samples or {}
    for row in rows:
        lines.append(f"- {row.key[0]} / {row.key[1]} / {row.key[2]}: {len(row.regressions)} passed → failed, "
                     f"{len(row.fixes)} failed → passed")
        for name, ids in (("passed → failed", row.regressions), ("failed → passed", row.fixes)):
            if not ids:
                continue
            records = run_samples.get(row.key[:2], {})
            shown = [f"`{s}`" + _why(records.get(s)) for s in ids[:max_flips]]
            more = f", … and {len(ids) - max_flips} more" if len(ids) > max_flips else ""
            lines.append(f"  - {name}: " + ", ".join(shown) + more)
    return lines + [""]


def _why(record: dict | None) -> str:
    if not record or record.get("status") in (None, "passed"):
        return ""
    detail = f": {record['detail']}" if record.get("detail") else ""
    return f" ({_cell((record['status'] + detail)[:60])})"


def _timings(base: Run, run: Run) -> list[str]:
    """Timing medians by name (summary.json `timings`, written by runs with --infill-timings)."""
    base_t = {t["name"]: t for t in base.summary.get("timings") or [] if isinstance(t, dict) and "name" in t}
    run_t = {t["name"]: t for t in run.summary.get("timings") or [] if isinstance(t, dict) and "name" in t}
    if not base_t and not run_t:
        return []
    lines = [f"### Timings ({run.label} vs {base.label})", ""]
    if not base_t or not run_t:
        missing = base.label if not base_t else run.label
        return lines + [f"Run {missing} has no timings (it ran without --infill-timings); nothing to compare.", ""]
    lines += ["Medians; machine-dependent: compare runs from one machine.", "",
              f"| name | {base.label} median | {run.label} median | {run.label} / {base.label} |",
              "|---|---:|---:|---:|"]
    for name in list(base_t) + [n for n in run_t if n not in base_t]:
        a = base_t.get(name, {}).get("median_s")
        b = run_t.get(name, {}).get("median_s")
        ratio = f"{b / a:.2f}×" if a and b else "—"
        lines.append(f"| {_cell(name)} | {_seconds(a)} | {_seconds(b)} | {ratio} |")
    return lines + [""]


def _seconds(value) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.3f} s" if value >= 1 else f"{1000 * value:.2f} ms"


def render(runs: list[Run], comparisons: list[Comparison], alpha: float, max_flips: int) -> str:
    lines = render_header(runs, alpha)
    for comparison in comparisons:
        lines += render_comparison(comparison, max_flips)
    return "\n".join(lines)


# ---- command line ---------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str):          # one line, like every other infill-bench usage error
        raise InfillUsageError(f"{message}: see python -m infill.compare --help")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m infill.compare",
                     description="Compare infill-bench runs: the first is the baseline. Writes a Markdown diff.")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="a report directory or a summary.json")
    parser.add_argument("-o", "--output", help="write the Markdown here (default: stdout)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when a row dropped significantly against the baseline")
    parser.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA})")
    parser.add_argument("--max-flips", type=int, default=MAX_FLIPS,
                        help=f"sample ids listed per flip group (default {MAX_FLIPS}; counts are always given)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        raise InfillUsageError("give at least two runs (the baseline first): see python -m infill.compare --help")
    if not 0 < args.alpha < 1:
        raise InfillUsageError(f"--alpha {args.alpha}: choose a level between 0 and 1, e.g. 0.05")
    if args.max_flips < 0:
        raise InfillUsageError(f"--max-flips {args.max_flips}: choose 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if len(args.runs) > len(LABELS):
            raise InfillUsageError(f"at most {len(LABELS)} runs at once")
        runs = [load_run(argument, LABELS[i]) for i, argument in enumerate(args.runs)]
        comparisons = [compare(runs[0], run, args.alpha) for run in runs[1:]]
        text = render(runs, comparisons, args.alpha, args.max_flips)
        if args.output:
            output = Path(args.output)
            temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
            try:
                temporary.write_text(text, encoding="utf-8")
                os.replace(temporary, output)     # never leave half a diff behind
            except OSError as exc:
                raise InfillUsageError(f"cannot write {output} ({exc.strerror}): pass -o with a writable "
                                       f"path") from None
    except InfillUsageError as error:
        sys.stderr.write(f"infill-bench compare: error: {error}\n")
        return 2
    drops = sum(len(c.drops) for c in comparisons)
    if args.output:
        gains = sum(len(c.gains) for c in comparisons)
        print(f"wrote {args.output}: {_count(drops, 'significant drop')}, {_count(gains, 'significant gain')} "
              f"against baseline {runs[0].label}")
    else:
        sys.stdout.write(text)
    return 1 if args.fail_on_regression and drops else 0


if __name__ == "__main__":
    sys.exit(main())
