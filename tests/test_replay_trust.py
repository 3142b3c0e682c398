"""Replay cannot print a wrong score with exit 0: a file of another benchmark, or one that lacks selected samples, is
a one-line error (or, when asked for, a PARTIAL row that gates refuse); bigcode's mixed SantaCoder-FIM output reads
as its three benchmarks; an explicit benchmark wins; a replay may take a registry model's name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infill.benchmarks import load_benchmark
from infill.benchmarks.loading import DATA_DIR, read_rows

ROOT = Path(__file__).resolve().parents[1]


def suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "--infill-report-dir", str(tmp_path / "report"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def one_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    [line] = [line for line in done.stderr.splitlines() if line.startswith("infill-bench: error:")]
    assert "Traceback" not in done.stdout + done.stderr
    return line


def canonical_jsonl(path: Path, benchmark: str, count: int | None = None) -> Path:
    samples = load_benchmark(benchmark).samples[:count]
    path.write_text("".join(json.dumps({"task_id": s.sample_id, "completion": s.canonical}) + "\n" for s in samples))
    return path


def results(tmp_path: Path) -> dict:
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    return {(r["benchmark"], r["model"], r["metric"]): r for r in summary["results"]}


def test_a_file_of_another_benchmark_is_refused(tmp_path):
    f = canonical_jsonl(tmp_path / "sc.jsonl", "santacoder-fim-py")
    line = one_error(suite(tmp_path, f"--infill-replay=m={f}", "--infill-benchmarks", "humaneval-single-line"))
    assert "its files hold santacoder-fim-py generations, and the run selects humaneval-single-line" in line


def test_a_partial_file_is_refused_unless_asked_for_and_then_gates_refuse_it(tmp_path):
    f = canonical_jsonl(tmp_path / "part.jsonl", "humaneval-single-line", 40)
    line = one_error(suite(tmp_path, f"--infill-replay=m={f}"))
    assert "generations for 40 of the 1033 selected humaneval-single-line samples of m" in line
    assert "--infill-allow-partial-replay" in line
    assert suite(tmp_path, f"--infill-replay=m={f}", "--infill-limit", "40").returncode == 0    # asked for 40
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nbenchmark = "humaneval-single-line"\nmodel = "m"\nmetric = "pass@1"\n'
                     'at_least = 0.01\n')
    done = suite(tmp_path, f"--infill-replay=m={f}", "--infill-allow-partial-replay", "--infill-gates", str(gates))
    assert done.returncode == 1, done.stdout[-2000:]                 # the gate refuses the PARTIAL row
    row = results(tmp_path)[("humaneval-single-line", "m", "pass@1")]
    assert row["partial"] is True and (row["passed"], row["n"], row["missing"]) == (40, 1033, 993)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "m **PARTIAL**" in report and "PARTIAL: m has generations for 40 of the 1033" in report


def test_bigcodes_mixed_santacoder_output_with_the_reference_answers_scores_100_percent(tmp_path):
    rows = read_rows(DATA_DIR / "santacoder-fim" / "santacoder-fim-task.all.jsonl.gz")
    f = tmp_path / "generations_santacoder_fim.json"
    f.write_text(json.dumps([[row["canonical_solution"]] for row in rows]))
    done = suite(tmp_path, f"--infill-replay=bigcode={f}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    got = results(tmp_path)
    for language, size in (("py", 1043), ("js", 1969), ("java", 1780)):
        for metric in ("em_first_line", "em_full"):
            assert (got[(f"santacoder-fim-{language}", "bigcode", metric)]["passed"], size) == (size, size)


def test_an_explicit_benchmark_wins_and_a_replay_may_take_a_registry_name(tmp_path):
    f = canonical_jsonl(tmp_path / "he.jsonl", "humaneval-single-line")
    line = one_error(suite(tmp_path, f"--infill-replay=m:humaneval-multi-line={f}"))
    assert "not a sample of humaneval-multi-line" in line
    done = suite(tmp_path, f"--infill-replay=starcoder2-3b={f}", "--infill-models", "starcoder2-3b",
                 "--infill-limit", "5")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]    # no weights needed: the file is used
    row = results(tmp_path)[("humaneval-single-line", "starcoder2-3b", "pass@1")]
    assert (row["source"], row["passed"], row["n"]) == ("replay", 5, 5)
