"""report.md: the run for people, rendered from the same results and context summary.json holds."""

from __future__ import annotations

from infill.benchmarks import BENCHMARKS, KINDS
from infill.common.formatting import percent
from infill.reporting.analysis import render_analyses
from infill.reporting.first_screen import first_screen_lines


def render_markdown(results: list[dict], context: dict, analyses: dict | None = None,
                    first_screen: dict | None = None) -> str:
    """`first_screen`: {"roles", "headlines"} (infill.reporting.report) for the "At a glance" section."""
    lines = header_lines(context) + first_screen_lines(results, first_screen)
    lines += results_lines(results) + by_language_lines(results)
    lines += ["", "Scores: pass@1 = fraction of samples whose program passed its tests (one completion per "
              "task); EM = exact match under the named rule. Missing completions, timeouts and sandbox errors "
              "count as not passed. Intervals are 95% Wilson intervals.", "", *render_analyses(analyses)]
    lines += rules_lines(context) + sources_lines(context["sources"])
    if context.get("timings"):
        from infill.reporting.timings import render_timings_markdown
        lines += [""] + render_timings_markdown(context["timings"])
    return "\n".join(lines + provenance_lines(context))


def header_lines(context: dict) -> list[str]:
    lines = ["# infill-bench report", ""]
    if not context["complete"]:
        lines += [f"> **INCOMPLETE RUN**: {context['incomplete_reason']}. The figures below cover only the "
                  f"samples that finished.", ""]
    if context["run"].get("shard"):         # --shard I/N: say so before anyone reads the figures as the whole run
        lines += [f"> **Shard {context['run']['shard']}** of a sharded run: the figures cover only this shard's "
                  f"samples. Merge the shards' report folders with `./infill-bench merge`.", ""]
    lines += [f"> {note}" for note in context["notes"]] + ([""] if context["notes"] else [])
    if context.get("gates") is not None:    # first, so that a failed gate is what a reader sees
        from infill.reporting.gates import markdown_lines
        lines += markdown_lines(context["gates"], context.get("gates_file"))
    return lines


def results_lines(results: list[dict]) -> list[str]:
    lines = ["## Results", "",
             "| benchmark | model | source | n | passed | score [95% CI] | metric | edit sim | timeouts | memory "
             "| missing | sandbox errors |",
             "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        subset = "" if r["n"] == r["dataset_size"] else f" of {r['dataset_size']}"
        low, high = r["ci95"]
        lines.append(
            f"| {r['benchmark']} | {r['model']}{' **PARTIAL**' if r.get('partial') else ''} | {r['source']} "
            f"| {r['n']}{subset} | {r['passed']} "
            f"| {percent(r['value'])} [{percent(low)}, {percent(high)}] | {r['metric']} "
            f"| {r.get('edit_similarity', '')} | {r['timeout']} | {r['memory']} | {r['missing']} "
            f"| {r['sandbox_error']} |")
    return lines


def by_language_lines(results: list[dict]) -> list[str]:
    """Per-language pass rates and verdict counts, for benchmarks that report them (SAFIM)."""
    rows = [r for r in results if r.get("by_language")]
    if not rows:
        return []
    lines = ["", "### By language", "", "| benchmark | model | language | n | passed | pass rate | verdicts |",
             "|---|---|---|---:|---:|---:|---|"]
    for r in rows:
        for language, entry in r["by_language"].items():
            verdicts = ", ".join(f"{name} {count}" for name, count in entry["verdicts"].items())
            lines.append(f"| {r['benchmark']} | {r['model']} | {language} | {entry['n']} | {entry['passed']} | "
                         f"{percent(entry['passed'] / entry['n'] if entry['n'] else None)} | {verdicts} |")
    return lines


def rules_lines(context: dict) -> list[str]:
    """Each benchmark kind's own rules (its `describe_rules`), then what applies to every kind."""
    rules, benchmarks = context["rules"], context["selection"]["benchmarks"]
    lines = ["## Evaluation rules", ""]
    for kind in dict.fromkeys(KINDS[BENCHMARKS[b].kind] for b in benchmarks if b in BENCHMARKS):
        lines += [f"- {line}" for line in kind.describe_rules(rules)]
    return lines + [f"- Isolation: {rules['isolation']}",
                    f"- Post-processing of completions: {rules['postprocessing']}.",
                    "- Benchmark definitions: " + ", ".join(f"{b} v{BENCHMARKS[b].version}" for b in benchmarks) + ".",
                    ""]


def sources_lines(sources: list[dict]) -> list[str]:
    lines = ["## Sources", ""]
    for source in sources:
        lines.append(f"- **{source['model']}** ({source['kind']})")
        if source.get("length_policy"):
            policy = source["length_policy"]
            lines.append(f"  - length policy `{policy['name']}` ({policy['version']})"
                         + (": uses the ground truth's length" if policy["uses_ground_truth"] else ""))
        for kind, settings in source.get("settings", {}).items():
            lines.append(f"  - {kind}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        for kind, values in source.get("effective_sampling", {}).items():
            lines.append(f"  - {kind}, sampling as `generate` resolves it: " + ", ".join(
                f"{name}={value['value']} ({value['origin']})" for name, value in values.items()))
        if source.get("weights"):
            lines.append(f"  - weights `{source['weights'][:40]}`, {source['device']}, {source['dtype']}")
        for bench, f in source.get("files", {}).items():
            lines.append(f"  - {bench}: `{f['path']}` ({f['format']}, {f['tasks']} tasks, sha256 "
                         f"`{f['sha256'][:16]}…`)" + "".join(f"; {n}" for n in f["notes"]))
    return lines


def provenance_lines(context: dict) -> list[str]:
    prov, run, machine = context["provenance"], context["run"], context["provenance"]["machine"]
    return ["", "## Provenance", "",
            f"- Command: `{run['command']}`",
            *[f"- Shard {s['shard']}: `{s['command']}` ({s['seconds']:.1f} s)"    # a merged run (infill.reporting.merge)
              for s in run.get("shards", [])],
            f"- Code: commit `{prov['git']['commit']}`" + (" (uncommitted changes)" if prov["git"]["dirty"] else ""),
            "- Packages: " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items() if v),
            f"- Machine: {machine['platform']}, {machine['cpu_count']} CPUs, Python {machine['python']}, GPU: "
            f"{', '.join(machine['gpu']) if machine['gpu'] else 'none'}",
            *memory_lines(prov.get("models_in_memory")),
            "- Data: " + ", ".join(f"{b} sha256 `{h[:16]}…`" for b, h in context["selection"]["data_sha256"].items()),
            f"- Started {run['started']}, finished {run['finished']} ({run['seconds']:.1f} s)", ""]


def memory_lines(memory: dict | None) -> list[str]:
    """The models' weights held in memory (ModelPool.footprint; under xdist summed over the worker processes)."""
    if not memory or not memory.get("weights_bytes"):
        return []
    mb = lambda n: f"{n / 2**20:.1f} MB"
    n = memory.get("processes")
    per_process = f" in one process ({n} xdist worker{'' if n == 1 else 's'} loaded models)" if n else ""
    return [f"- Models in memory (`{memory['mode']}`): " + ", ".join(
        f"{name} {mb(size)}" for name, size in memory["weights_bytes"].items()) +
        f"; peak held at once {mb(memory['peak_held_bytes'])}{per_process}; {memory['loads']} loads"]
