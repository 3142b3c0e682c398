"""SAFIM's block and control tasks as engine jobs, with the ground truth in place (the canonical self-check).

Reads the committed data (``infill/benchmarks/data/safim``); ``unit_tests`` is a list, or in the hub's format a
Python-literal string of one. The program is ``eval_prompt`` with every ``{{completion}}`` replaced, as SAFIM's
``run_test`` does. Also: the stratified subset the test suite runs, and the known-failures file.
"""
from __future__ import annotations

import ast
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from infill.grading.multilang.pool import Job

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "safim"
KNOWN_FAILURES = Path(__file__).resolve().with_name("known_failures.json")
SPLITS = ("block", "control")
LANGUAGES = ("cpp", "java", "python", "csharp")


@dataclass(frozen=True)
class Task:
    task_id: str
    split: str
    language: str
    job: Job


def _tests(raw) -> tuple:
    tests = ast.literal_eval(raw) if isinstance(raw, str) else raw
    return tuple({"input": t["input"], "output": list(t["output"])} for t in tests)


def load(splits=SPLITS, languages=LANGUAGES, data_dir: Path = DATA) -> list[Task]:
    tasks = []
    for split in splits:
        with gzip.open(data_dir / f"{split}_completion.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                if row["lang"] not in languages:
                    continue
                source = row["eval_prompt"].replace("{{completion}}", row["ground_truth"])
                tasks.append(Task(row["task_id"], split, row["lang"], Job(row["lang"], source, _tests(row["unit_tests"]))))
    return tasks


def stratified(tasks: list[Task], per_stratum: int, seed: str = "safim-canonical") -> list[Task]:
    """``per_stratum`` tasks of each (split, language), chosen by a hash of the task id (stable, spread out)."""
    chosen = []
    for split in SPLITS:
        for language in LANGUAGES:
            stratum = [t for t in tasks if t.split == split and t.language == language]
            stratum.sort(key=lambda t: hashlib.sha256(f"{seed}/{t.task_id}".encode()).hexdigest())
            chosen += stratum[:per_stratum]
    return chosen


def known_failures(path: Path = KNOWN_FAILURES) -> dict[str, dict]:
    """task_id -> {"language", "split", "verdict", "reason"} of ground truths that do not pass, and why."""
    if not path.exists():
        return {}
    return {entry["task_id"]: entry for entry in json.loads(path.read_text())["tasks"]}
