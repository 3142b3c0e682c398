"""Multi-language program outcomes kept on disk (SAFIM), so that a rerun does not compile and run them again. An entry
is keyed by the sha256 of the engine's rule version for the language (rules, toolchain versions, runtime), the
language, the program and its unit tests; only verdicts the program alone decides are kept (the grader's choice).
Written through the generation cache's durable JSONL files (torn lines skipped, file lock), in groups."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from infill.generation.cache import GenerationCache
from infill.grading.buffered_cache import BufferedCache


class OutcomeCache(BufferedCache):
    def __init__(self, directory: Path | None, isolation: str, rule_version):
        self.rule_version = rule_version            # language -> the engine's rule version for it
        store = GenerationCache(Path(directory or ".") / "verdicts", {
            "kind": "multilang-outcomes", "format": "outcomes-v1", "isolation": isolation}, directory is not None)
        self.known = {k: json.loads(v) for k, v in store.load().items()}
        super().__init__(store)

    def key(self, language: str, program: str, tests: str) -> str:
        text = "\0".join([self.rule_version(language), language, program, tests])
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str):
        from infill.grading.multilang import Outcome
        found = self.known.get(key)
        return None if found is None else Outcome(**found)

    def put(self, key: str, outcome) -> None:
        fields = {"verdict": outcome.verdict, "detail": outcome.detail, "tests_run": outcome.tests_run,
                  "seconds": outcome.seconds, "compile_seconds": outcome.compile_seconds,
                  "compile_cached": outcome.compile_cached}
        self.known[key] = fields
        self._write(key, json.dumps(fields))
