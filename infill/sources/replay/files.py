"""Recorded generations: the files a user points `--infill-replay MODEL=PATH` at, read (infill.sources.replay.formats)
and matched to benchmark samples (infill.sources.replay.matching), and the recordings shipped in the package.

PATH may be a folder; every generations file in it is read (metrics/eval-results files are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infill.errors import InfillUsageError
from infill.sources.replay.formats import fail, read_json_list, read_jsonl
from infill.sources.replay.matching import check_context, match_entries

RECORDED_DIR = Path(__file__).parents[2] / "recorded"     # infill/recorded
RECORDED_PREFIX = "recorded-"       # a recorded row never shares its name with the live registry model
# Files in a replay folder that hold figures, not generations.
NOT_GENERATIONS = ("metrics", "eval_results")


@dataclass
class ReplayFile:
    path: Path
    benchmark: str
    completions: dict[str, list[str]]      # sample_id -> its candidates, verbatim, in file order
    file_format: str
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def samples_per_task(self) -> int:
        return len(next(iter(self.completions.values())))


def generation_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and (p.suffix in (".jsonl", ".json")
                   or p.name.endswith(".jsonl.gz")) and not any(word in p.name for word in NOT_GENERATIONS))
    if not files:
        raise InfillUsageError(f"replay folder {path} holds no .jsonl/.jsonl.gz/.json generations file: give a "
                               f"generations file or a folder of them")
    return files


def load_replay(model: str, path: Path, benchmark: str | None = None) -> dict[str, ReplayFile]:
    """All generations for one model, by benchmark name. Raises InfillUsageError naming file and line."""
    from infill.benchmarks.loading import file_sha256

    found: dict[str, ReplayFile] = {}
    for file in generation_files(path):
        for replay in read_file(file, benchmark):
            replay.sha256 = file_sha256(file)
            if replay.benchmark in found:
                raise InfillUsageError(f"replay for {model}: {found[replay.benchmark].path} and {file} both hold "
                                       f"{replay.benchmark} generations; keep one")
            found[replay.benchmark] = replay
    return found


def read_file(file: Path, explicit: str | None) -> list[ReplayFile]:
    """One ReplayFile per benchmark the file holds generations of."""
    is_list = file.suffix == ".json"
    entries = read_json_list(file) if is_list else read_jsonl(file)
    by_benchmark: dict[str, dict[str, list[str]]] = {}
    for entry, sample in match_entries(file, entries, explicit):
        check_context(file, entry, sample)
        by_benchmark.setdefault(sample.benchmark, {}).setdefault(sample.sample_id, []).extend(entry.completions)
    if not by_benchmark:
        raise InfillUsageError(f"{file}: no generations of {explicit} in the file")
    replays = []
    for benchmark, completions in by_benchmark.items():
        check_equal_counts(file, completions)
        replay = ReplayFile(file, benchmark, completions, "bigcode-json" if is_list else "jsonl")
        if replay.samples_per_task > 1:
            replay.notes.append(f"{file.name}: {replay.samples_per_task} candidates per task")
        replays.append(replay)
    return replays


def check_equal_counts(file: Path, completions: dict[str, list[str]]) -> None:
    counts = {len(c) for c in completions.values()}
    if len(counts) > 1:
        few = min(completions, key=lambda s: len(completions[s]))
        many = max(completions, key=lambda s: len(completions[s]))
        raise fail(file, 0, f"task {few} has {len(completions[few])} candidates and task {many} has "
                            f"{len(completions[many])}: every task of a file needs the same number of samples")


def embedded_replays() -> list[tuple[str, Path]]:
    """The recorded real generations shipped in the package: (row name, folder), e.g. recorded-open-dcoder-0.5B."""
    return [(RECORDED_PREFIX + p.name, p) for p in sorted(RECORDED_DIR.iterdir()) if p.is_dir()]
