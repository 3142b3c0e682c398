"""Issue 7, crash safety: nothing is lost, nothing stale is served.

1. Kill the run with SIGKILL at seeded pseudo-random points of generation, scoring, grading and report writing,
   over and over, with one shared cache directory; then run to completion: the final samples.jsonl and
   summary.json equal an uninterrupted run's, and at every moment the report folder holds either the previous
   complete report or the new complete one (never a mix, never a half-written file); the same holds for a report
   writer killed deterministically after each file it writes.
2. The cache key: for the real components of the tiny models' generation caches and score caches, every code
   version is in the key, changing any single component changes the file and the old file is never served;
   a file cut at any byte loses at most its torn entry and never yields a wrong completion.
3. Concurrent writers (processes appending to one cache, two pytest runs sharing one cache directory) do not
   corrupt it.
"""

from __future__ import annotations

import codecs
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infill.generation.cache import CACHE_FORMAT, GenerationCache
from tests.test_generation_cache import _leaves, _replace

ROOT = Path(__file__).resolve().parents[1]


# ---- 2. the cache key and torn files ---------------------------------------------------------------------------



def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    else:
        yield str(value)


@pytest.fixture(scope="module")
def real_components():
    """The components the tiny profile's live sources and its ensemble's score service really build, with the
    code versions each must carry."""
    from infill.benchmarks import BENCHMARKS, load_benchmark
    from infill.config.live_settings import LiveSettings
    from infill.config.profiles import PROFILES
    from infill.generation.ar_backend import AR_BACKEND_VERSION
    from infill.generation.backends import make_backend
    from infill.generation.diffusion_backend import SAMPLER_VERSION
    from infill.generation.length import parse_length_policy
    from infill.generation.pool import ModelPool
    from infill.generation.postprocess import POSTPROCESS
    from infill.models.prompt_formats import DIFFUSION_CANVAS, PROMPT_FORMATS
    from infill.models.registry import MODELS
    from infill.run.progress import SilentProgress
    from infill.scoring.registry import SCORERS
    from infill.sources.ensemble import scores as ensemble_scores
    from infill.sources.ensemble.spec import ScorerUse
    from infill.sources.live import CacheOptions, LiveSource

    profile, pool, cache_dir = PROFILES["tiny"], ModelPool(), Path(tempfile.mkdtemp())
    settings = LiveSettings("tiny")
    benchmarks = ["humaneval-single-line", "santacoder-fim-py"]
    built = []                                   # (label, components, versions that must be in them)
    for name in profile.models:
        spec = MODELS[name]
        diffusion = spec.backend == "diffusion"
        for policy in ([parse_length_policy(p) for p in profile.length_policies] if diffusion else [None]):
            source = LiveSource(spec, make_backend(spec, policy), settings, pool, CacheOptions(cache_dir),
                                SilentProgress(), policy)
            for benchmark in benchmarks:
                settings_ = source.settings_for(benchmark)
                versions = [POSTPROCESS[settings_.postprocess].version,
                            f"{benchmark}@{BENCHMARKS[benchmark].version}", load_benchmark(benchmark).sha256,
                            pool.get(spec).weights_identity]
                if diffusion:
                    versions += [SAMPLER_VERSION, f"{DIFFUSION_CANVAS.name}@{DIFFUSION_CANVAS.version}",
                                 f"{policy.name}@{policy.version}"]
                else:
                    fmt = PROMPT_FORMATS[spec.prompt_format]
                    versions += [AR_BACKEND_VERSION, f"{fmt.name}@{fmt.version}"]
                built.append((f"{source.model} {benchmark}", source.cache_for(benchmark).components, versions))

    captured = []

    class Capture(GenerationCache):
        def __init__(self, directory, components, *args, **kwargs):
            captured.append(components)
            super().__init__(directory, components, *args, **kwargs)

    service = ensemble_scores.ScoreService(pool, MODELS, settings, ensemble_scores.ScoringOptions(
        cache_dir, context_lines=profile.score_context_lines), SilentProgress())
    original = ensemble_scores.GenerationCache
    ensemble_scores.GenerationCache = Capture
    try:
        for scorer in SCORERS:
            model = "tiny-qwen2-diffusion" if scorer == "diffusion" else "tiny-qwen2-fim"
            for benchmark in benchmarks:
                service.score(ScorerUse(scorer, model), benchmark, [], {})
                built.append((f"score {scorer}:{model} {benchmark}", captured[-1],
                              [SCORERS[scorer].version, f"{benchmark}@{BENCHMARKS[benchmark].version}",
                               load_benchmark(benchmark).sha256, pool.get(MODELS[model]).weights_identity]))
    finally:
        ensemble_scores.GenerationCache = original
    shutil.rmtree(cache_dir, ignore_errors=True)
    return built


def test_every_code_version_is_in_the_real_cache_keys(real_components):
    assert len(real_components) == 3 * 2 + 3 * 2          # fim, diffusion/oracle, diffusion/confidence; 3 scorers
    for label, components, versions in real_components:
        values = set(_strings(components))
        for version in versions:
            assert version in values, (label, version, components)


def test_the_real_components_round_trip_through_the_file(real_components, tmp_path):
    """The header is JSON: a component written as a tuple (the diffusion window) must still match on reopen,
    else the file is never served again and every batch is regenerated after a kill."""
    for number, (label, components, _) in enumerate(real_components):
        directory = tmp_path / str(number)
        GenerationCache(directory, components).append({"a": "x\n", "b": "ü"})
        assert GenerationCache(directory, components).load() == {"a": "x\n", "b": "ü"}, label


NEW_VALUES = st.one_of(st.integers(-3, 10**6), st.text(max_size=6), st.floats(allow_nan=False), st.booleans(),
                       st.none(), st.lists(st.integers(0, 200), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_changing_any_single_real_component_changes_the_file_and_the_old_one_is_never_served(real_components,
                                                                                            data):
    label, components, _ = data.draw(st.sampled_from(real_components), "cache")
    path = data.draw(st.sampled_from(list(_leaves((), json.loads(json.dumps(components))))), "component")
    changed = _replace(components, path, data.draw(NEW_VALUES, "value"))
    if changed == json.loads(json.dumps(components)):
        return
    with tempfile.TemporaryDirectory() as directory:
        old = GenerationCache(Path(directory), components)
        old.append({"s1": "stale completion"})
        new = GenerationCache(Path(directory), changed)
        assert new.key != old.key and new.path != old.path
        assert new.load() == {}
        os.replace(old.path, new.path)             # as if the keys collided or the file was renamed by hand
        assert GenerationCache(Path(directory), changed).load() == {}


ENTRY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)   # any text: newlines, quotes,
                                                                                # multi-byte, U+2028


@settings(max_examples=300, deadline=None)
@given(batches=st.lists(st.dictionaries(st.text("abcdef/0123456789", min_size=1, max_size=8), ENTRY_TEXT,
                                        min_size=1, max_size=4), min_size=1, max_size=4),
       cut=st.floats(0, 1), extra=st.dictionaries(st.just("fresh"), ENTRY_TEXT, min_size=1, max_size=1))
def test_a_file_cut_at_any_byte_loses_at_most_the_torn_entry_and_never_serves_a_wrong_one(batches, cut, extra):
    components = {"model": "m", "settings": {"window": (96, 32)}, "note": "ünïcode ✓"}
    written: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as directory:
        cache = GenerationCache(Path(directory), components)
        for batch in batches:
            batch = {k: v for k, v in batch.items() if k not in written}
            cache.append(batch)
            written.update(batch)
        raw = cache.path.read_bytes()
        offset = int(cut * len(raw))
        with open(cache.path, "r+b") as handle:       # killed mid-write: the file ends anywhere, even mid-character
            handle.truncate(offset)
        kept = raw[:offset]
        complete_lines = kept.count(b"\n")             # lines that made it whole, header included
        must_have = [json.loads(line)["sample_id"] for line in raw.split(b"\n")[1:complete_lines]]
        loaded = GenerationCache(Path(directory), components).load()
        assert all(written[k] == v for k, v in loaded.items())        # never a wrong completion
        assert set(must_have) <= set(loaded)                           # at most the torn entry is lost
        assert len(loaded) <= len(must_have) + 1
        cache.append(extra)                             # the next run appends after cutting the torn line
        lines = cache.path.read_bytes().decode("utf-8").split("\n")
        assert lines[-1] == ""
        rows = [json.loads(line) for line in lines[:-1]]
        assert rows[0] == {"format": CACHE_FORMAT, "components": json.loads(json.dumps(components))}
        assert all("format" not in row for row in rows[1:])          # exactly one header
        after = GenerationCache(Path(directory), components).load()
        assert after == {**loaded, **extra} or after == {**{k: loaded[k] for k in must_have}, **extra}


# ---- 3. concurrent writers ---------------------------------------------------------------------------------------

CONCURRENT = {"model": "concurrent", "settings": {"window": (96, 32)}}


def _writer(directory: str, worker: int, batches: int, per_batch: int) -> None:
    cache = GenerationCache(Path(directory), CONCURRENT)
    for b in range(batches):
        # long, multi-byte entries: a batch spans several write() calls if nothing serialises the writers
        cache.append({f"w{worker}-b{b}-{i}": f"ü{worker}{b}{i}" * (997 + 13 * i) + "\n" for i in range(per_batch)})


def _torn_writer(directory: str) -> None:
    """A writer killed in the middle of its batch: it holds the lock, writes part of a line and dies."""
    cache = GenerationCache(Path(directory), CONCURRENT)
    with cache._locked():
        with open(cache.path, "ab") as handle:
            if handle.tell() == 0:
                handle.write((json.dumps({"format": CACHE_FORMAT, "components": CONCURRENT}) + "\n").encode())
            handle.write('{"sample_id": "torn", "completion": "ü half a li'.encode()[:-1])
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def test_concurrent_processes_appending_to_one_cache_never_corrupt_it(tmp_path):
    workers, batches, per_batch = 4, 12, 5
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_writer, args=(str(tmp_path), w, batches, per_batch))
                 for w in range(workers)]
    processes.insert(2, context.Process(target=_torn_writer, args=(str(tmp_path),)))
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, -signal.SIGKILL, 0, 0]
    path = GenerationCache(tmp_path, CONCURRENT).path
    lines = path.read_bytes().decode("utf-8").split("\n")
    if lines[-1]:                                   # the torn writer was the last to write: its line is torn
        assert not lines[-1].endswith("}")
        lines = lines[:-1]
    else:
        lines = lines[:-1]
    rows = [json.loads(line) for line in lines]                       # every complete line parses
    assert rows[0]["format"] == CACHE_FORMAT and sum("format" in row for row in rows) == 1
    expected = {f"w{w}-b{b}-{i}": f"ü{w}{b}{i}" * (997 + 13 * i) + "\n"
                for w in range(workers) for b in range(batches) for i in range(per_batch)}
    assert GenerationCache(tmp_path, CONCURRENT).load() == expected
    assert len(rows) == 1 + len(expected)


# ---- 1. SIGKILL at seeded points of a real run, then resume ----------------------------------------------------------

TINY_RUN = ["--infill-models", "ensemble", "--infill-limit", "12", "--infill-batch-size", "4",
            "--infill-benchmarks", "humaneval-single-line,santacoder-fim-py"]
REPORT_FILES = ("samples.jsonl", "summary.json", "report.md")


def pytest_run(cache: Path, report: Path, *args: str, verbosity: str = "-q") -> list[str]:
    """-v: a line per test and the running stages' progress lines as they come (what the kill test reads)."""
    return [sys.executable, "-m", "pytest", "bench_tests", verbosity, "-p", "no:cacheprovider", *args,
            "--infill-cache-dir", str(cache), "--infill-report-dir", str(report)]


class Watched:
    """A pytest run in its own process group whose output is read as it comes."""

    def __init__(self, command: list[str], threads: int | None = None):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if threads:                     # runs side by side on a small machine: no oversubscription
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True, env=env)
        self.output, self.closed, self.changed = "", False, threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while chunk := os.read(self.process.stdout.fileno(), 65536):
            with self.changed:
                self.output += decoder.decode(chunk)
                self.changed.notify_all()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 300) -> float | None:
        """time.monotonic() when `pattern` is in the output, None if the run ended without it."""
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        with self.changed:
            while not regex.search(self.output):
                if self.closed or time.monotonic() > deadline:
                    return None
                self.changed.wait(0.02)
        return time.monotonic()

    def kill(self) -> bool:
        """SIGKILL to the whole group (pytest and its sandbox workers); False if the run had already ended."""
        ended = self.process.poll() is not None
        if not ended:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.finish()
        return not ended

    def finish(self) -> int:
        code = self.process.wait(timeout=600)
        self.reader.join(30)
        self.process.stdout.close()
        return code

    def last_progress(self) -> str:
        lines = re.findall(r"\[infill\] ([^\n]*)", self.output)      # pytest may start them mid-line
        return lines[-1] if lines else "(none yet)"


def strip_samples(report: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "grade_seconds"}
            for line in (report / "samples.jsonl").read_text().splitlines()]


def strip_summary(report: Path) -> dict:
    summary = json.loads((report / "summary.json").read_text())
    summary.pop("run")
    summary["provenance"]["git"].pop("dirty", None)         # other work goes on in the checkout meanwhile
    # what this process held: a run that reads every generation and score from the cache loads no model
    summary["provenance"].pop("models_in_memory", None)
    return summary


RESULT_LINE = r"[^\n]* (?:PASSED|XFAIL|XPASS|FAILED|ERROR|SKIPPED)[^\n]*\n"     # a test's line under -v


def phase_at_kill(output: str) -> str:
    """Where a run was when it was killed, from its -v output: the last stage's progress line and the cases
    graded since."""
    if "[100%]" in output:
        return "report writing"
    lines = list(re.finditer(r"\[infill\] (\S+ \S+: (?:generating|scoring) [^\n]*)\n", output))
    if not lines:
        return "start-up, first batch or grading from the cache"
    last, tail = lines[-1].group(1), output[lines[-1].end():]
    graded = len(re.findall(RESULT_LINE, tail))
    done = re.match(r"(\S+) (\S+): generating (\d+)/(\d+)", last)
    if done:
        member, benchmark, count, total = done.group(1), done.group(2), int(done.group(3)), int(done.group(4))
        if count < total:
            return f"generation ({member} {benchmark}, batch in flight)"
        if member == "tiny-qwen2-fim" and graded >= total:
            return f"scoring ({benchmark})"
        return f"grading ({member} {benchmark} cases)"
    if re.search(r"scoring \S+ (\d+)/\1 in ", last):
        return "grading (ensemble candidates)" if not graded else "grading (ensemble cases)"
    return f"scoring ({last.split()[1][:-1]})"


def report_state(report: Path, previous: dict[str, bytes]) -> str:
    """'previous' (the earlier complete report, byte for byte), 'new' (a complete, self-consistent report of
    this run), else the test fails: a mix, a half-written file or a report claiming completeness it lacks."""
    present = {name: (report / name).read_bytes() for name in REPORT_FILES if (report / name).exists()}
    if present == previous:
        return "previous"
    assert set(present) == set(REPORT_FILES), f"report files missing: {sorted(set(REPORT_FILES) - set(present))}"
    records = [json.loads(line) for line in present["samples.jsonl"].decode().splitlines()]
    summary = json.loads(present["summary.json"])
    markdown = present["report.md"].decode()
    assert summary["complete"] is True and "INCOMPLETE" not in markdown
    assert {r["model"] for r in records} == {r["model"] for r in summary["results"]}, "samples and summary differ"
    assert sum(r["n"] for r in summary["results"] if r["metric"] != "em_full") == len(records)
    assert f"Started {summary['run']['started']}" in markdown, "report.md and summary.json are of other runs"
    assert "| ensemble/routed |" in markdown and "| canonical |" not in markdown
    return "new"


def check_cache_files(cache: Path) -> int:
    """Every line of every cache file parses but a torn last one, exactly one header; returns the entries."""
    entries = 0
    for path in cache.glob("*.jsonl"):
        lines = path.read_bytes().split(b"\n")
        rows = [json.loads(line) for line in lines[:-1]]
        assert rows and rows[0].get("format") == CACHE_FORMAT and all("format" not in r for r in rows[1:]), path
        entries += len(rows) - 1
    return entries


def _write_report_killed_after(directory: str, report_of: str, staged_files: int) -> None:
    """In a forked child: write the report of `report_of` into `directory` and SIGKILL ourselves as soon as the
    `staged_files`-th file is complete in the staging folder (0: never)."""
    import infill.reporting.report as report_module
    from infill.reporting.summary import summarize

    records = [json.loads(line) for line in (Path(report_of) / "samples.jsonl").read_text().splitlines()]
    summary = json.loads((Path(report_of) / "summary.json").read_text())
    context = {**{k: summary[k] for k in ("selection", "rules", "sources", "provenance", "notes", "run")},
               "complete": True, "incomplete_reason": "", "timings": None, "gates": None}
    real_replace, done = os.replace, []

    def replace(source, destination):
        real_replace(source, destination)
        if ".staging-" in str(destination):
            done.append(destination)
            if len(done) == staged_files:
                os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
    report_module.write_report(Path(directory), records, summarize(records), context)
    os._exit(0)


@pytest.mark.slow
def test_sigkill_anywhere_loses_nothing_and_never_leaves_a_mixed_report(tmp_path):
    rng, clock = random.Random(7), time.monotonic()
    mark = lambda what: print(f"{time.monotonic() - clock:6.1f} s  {what}")
    report, cache = tmp_path / "report", tmp_path / "cache"
    # a previous complete report in the folder the killed runs write to (another selection, so a mix would show)
    previous_run = Watched(pytest_run(tmp_path / "cache-canonical", report, "--infill-models", "canonical",
                                      "--infill-benchmarks", "humaneval-single-line", "--infill-limit", "3"))
    assert previous_run.finish() == 0, previous_run.output[-3000:]
    previous = {name: (report / name).read_bytes() for name in REPORT_FILES}

    outcomes = []

    def kill_at(aim: str, trigger: str, delay: float) -> None:
        """Start a run on the shared cache, SIGKILL it `delay` s after `trigger` shows in its output (or after
        its last test, if what the trigger names is already in the cache), check what it left."""
        started = time.monotonic()
        run = Watched(pytest_run(cache, report, *TINY_RUN, verbosity="-v"))
        assert run.wait_for(rf"(?:{trigger})|\[100%\]") is not None, f"{aim}: nothing came\n{run.output[-3000:]}"
        time.sleep(delay)
        killed = run.kill()
        outcome = {"aim": aim, "delay": round(delay, 2), "killed": killed, "hit": phase_at_kill(run.output),
                   "staging_left": any(report.glob(".staging-*")), "report": report_state(report, previous),
                   "cached_entries": check_cache_files(cache), "seconds": round(time.monotonic() - started, 1)}
        outcomes.append(outcome)
        print(outcome)
        if outcome["hit"] != "report writing":
            assert killed and outcome["report"] == "previous", outcome

    # (aim, trigger in the output, seeded delay after it): each run resumes the one killed before it. A running
    # stage's line shows some samples done (an AR batch is in the cache; diffusion rows finish inside a batch), so
    # a kill right after it lands in a batch in flight.
    graded12 = rf"[^\n]*\n(?:\[infill\][^\n]*\n|\n)*(?:{RESULT_LINE}){{12}}"   # the member's 12 cases, then scoring
    for benchmark in ("humaneval-single-line", "santacoder-fim-py"):
        kill_at("generation (diffusion)", rf"diffusion/oracle {benchmark}: generating [1-9]\d*/12,", 0.0)
        kill_at("generation (AR)", rf"tiny-qwen2-fim {benchmark}: generating [1-9]\d*/12,", 0.0)
        kill_at("scoring", rf"tiny-qwen2-fim {benchmark}: generating 12/12 in {graded12}", rng.uniform(0.0, 0.05))
        kill_at("grading", rf"{benchmark}: scoring ar_plain:tiny-qwen2-fim (\d+)/\1 in ", rng.uniform(0.0, 0.3))
    mark(f"{len(outcomes)} kills")

    # a resumed run to the end, in a folder of its own: it measures how long writing the report takes
    resumed = Watched(pytest_run(cache, tmp_path / "resumed", *TINY_RUN))
    done_testing, reported = resumed.wait_for(r"\[100%\]"), resumed.wait_for(r"report: ")
    assert resumed.finish() == 0, resumed.output[-3000:]
    window = reported - done_testing
    for low, high in [(0.05, 0.3), (0.3, 0.6), (0.6, 0.9)]:
        kill_at("report writing", r"\[100%\]", rng.uniform(low, high) * window)
    assert sum(not o["killed"] for o in outcomes) <= 1                 # at most one run outran its kill
    hit = {o["hit"].split(" (")[0] for o in outcomes if o["killed"]}
    assert {"generation", "grading", "report writing"} <= hit, hit
    assert any(o["hit"] == "report writing" and o["killed"] and o["report"] == "previous" for o in outcomes), \
        "no kill landed before the new report was in place"

    mark("resumed run + 3 kills while writing the report")
    final = Watched(pytest_run(cache, report, *TINY_RUN))
    assert final.finish() == 0, final.output[-3000:]
    assert "generating" not in final.output and "scoring" not in final.output       # all resumed from the cache
    for path in cache.glob("*.jsonl"):                  # and no finished batch or chunk was redone
        ids = [json.loads(line)["sample_id"] for line in path.read_text().splitlines()[1:]]
        assert len(ids) == len(set(ids)), path
    assert not any(report.glob(".staging-*")) and not any(report.glob(".*.tmp"))
    assert report_state(report, previous) == "new"

    mark("final run")
    # and deterministically: a writer killed after each file it stages leaves the previous report untouched
    import infill.reporting.analysis.plots  # noqa: E401,F401 - imported once, before the forks
    import infill.reporting.report  # noqa: F401
    context = multiprocessing.get_context("fork")
    for staged_files in range(1, 100):
        directory = tmp_path / f"report-killed-{staged_files}"
        directory.mkdir()
        for name, data in previous.items():
            (directory / name).write_bytes(data)
        child = context.Process(target=_write_report_killed_after,
                                args=(str(directory), str(tmp_path / "resumed"), staged_files))
        child.start()
        child.join(120)
        if child.exitcode == 0:             # fewer files than that: the write completed
            assert report_state(directory, previous) == "new" and staged_files > len(REPORT_FILES)
            break
        assert child.exitcode == -signal.SIGKILL
        assert report_state(directory, previous) == "previous", staged_files
    mark(f"report writer killed after each of its {staged_files - 1} staged files: previous report kept")

    # the uninterrupted run, last (other work may change the code meanwhile: compare runs close in time)
    reference = Watched(pytest_run(tmp_path / "cache-ref", tmp_path / "ref", *TINY_RUN))
    assert reference.finish() == 0, reference.output[-3000:]
    mark("uninterrupted reference run")
    for resumed_report in (report, tmp_path / "resumed"):
        assert strip_samples(resumed_report) == strip_samples(tmp_path / "ref")
        assert strip_summary(resumed_report) == strip_summary(tmp_path / "ref")


@pytest.mark.slow
def test_two_runs_started_together_on_one_cache_directory_agree(tmp_path):
    args = ["--infill-models", "ensemble", "--infill-limit", "6", "--infill-batch-size", "2",
            "--infill-benchmarks", "humaneval-single-line,santacoder-fim-py"]
    runs = [Watched(pytest_run(tmp_path / "cache", tmp_path / f"r{i}", *args), threads=1) for i in range(2)]
    for run in runs:
        assert run.finish() == 0, run.output[-3000:]
    assert strip_samples(tmp_path / "r0") == strip_samples(tmp_path / "r1")
    assert strip_summary(tmp_path / "r0") == strip_summary(tmp_path / "r1")
    written_twice = 0
    for path in (tmp_path / "cache").glob("*.jsonl"):           # both may have written an entry: they agree
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert rows[0]["format"] == CACHE_FORMAT and all("format" not in r for r in rows[1:])
        values = {}
        for row in rows[1:]:
            written_twice += row["sample_id"] in values
            assert values.setdefault(row["sample_id"], row["completion"]) == row["completion"], path
    print(f"entries both runs wrote: {written_twice}")
    # a third run finds everything in the shared cache
    third = Watched(pytest_run(tmp_path / "cache", tmp_path / "r2", *args))
    assert third.finish() == 0, third.output[-3000:]
    assert "generating" not in third.output and "scoring" not in third.output
    assert strip_samples(tmp_path / "r2") == strip_samples(tmp_path / "r0")
