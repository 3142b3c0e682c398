"""SAFIM's four languages and their tree-sitter parsers.

SAFIM names its languages `python`, `java`, `cpp` and `csharp` (the `lang` field of every row) and builds one
tree-sitter library from the grammars `tree-sitter-python`, `-java`, `-cpp` and `-c-sharp` (language name
`c_sharp`), ast_utils.py lines 3-21 at commit d37eaa66. Here the same grammars come from their PyPI packages;
the versions in use are part of every tree-sitter based rule's result (`grammar_versions`), because a different
grammar can parse a program differently and so change a truncation or a COMPILATION_ERROR verdict.
"""

from __future__ import annotations

import functools
import importlib
import threading
from importlib import metadata

from infill.errors import InfillUsageError

LANGUAGES = ("cpp", "java", "python", "csharp")      # SAFIM's `lang` values, in show_detailed_results.py's order

# SAFIM lang -> (PyPI distribution, importable module)
GRAMMAR_PACKAGES = {
    "python": ("tree-sitter-python", "tree_sitter_python"),
    "java": ("tree-sitter-java", "tree_sitter_java"),
    "cpp": ("tree-sitter-cpp", "tree_sitter_cpp"),
    "csharp": ("tree-sitter-c-sharp", "tree_sitter_c_sharp"),
}

# The grammars are pinned exactly (pyproject.toml): another release can parse a program differently. Measured:
# tree-sitter-python 0.25.0 and 0.23.6 disagree on 4 control and 114 api programs with `pass` or nothing in the
# hole; tree-sitter-cpp 0.21.0 leaves 9 more block ground-truth programs unparsable than 0.23.4. The binding
# (tree-sitter) 0.25.2 and 0.26.1 give identical results; 0.23.2 cannot load the ABI-15 C# grammar.
PINNED_GRAMMARS = {"tree-sitter-python": "0.23.6", "tree-sitter-java": "0.23.5", "tree-sitter-cpp": "0.23.4",
                   "tree-sitter-c-sharp": "0.23.5"}
BINDING_RANGE = ">=0.25,<0.27"
INSTALL_HINT = "pip install 'tree-sitter" + BINDING_RANGE + "' " + " ".join(
    f"{name}=={version}" for name, version in PINNED_GRAMMARS.items())


def check_language(lang: object) -> str:
    """`lang` if it is one of SAFIM's four language names, else a one-line usage error."""
    if lang not in GRAMMAR_PACKAGES:
        raise InfillUsageError(f"SAFIM language {lang!r} is not one of {', '.join(LANGUAGES)} "
                               f"(the `lang` field of the SAFIM data)")
    return lang  # type: ignore[return-value]


def _import(module: str, distribution: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InfillUsageError(f"the SAFIM rules need the {distribution} package, which is not installed: "
                               f"{INSTALL_HINT}") from None


@functools.lru_cache(maxsize=None)
def language(lang: str):
    """The tree-sitter `Language` for a SAFIM language name."""
    distribution, module = GRAMMAR_PACKAGES[check_language(lang)]
    tree_sitter = _import("tree_sitter", "tree-sitter")
    grammar = _import(module, distribution)
    try:
        return tree_sitter.Language(grammar.language())
    except (ValueError, TypeError) as exc:     # grammar ABI the installed binding cannot load
        raise InfillUsageError(f"{distribution} {metadata.version(distribution)} does not load with tree-sitter "
                               f"{metadata.version('tree-sitter')} ({exc}): {INSTALL_HINT}") from None


def parser(lang: str):
    """A fresh tree-sitter `Parser` for a SAFIM language (parsers are cheap; trees keep their own state)."""
    tree_sitter = _import("tree_sitter", "tree-sitter")
    grammar = language(lang)
    try:
        return tree_sitter.Parser(grammar)
    except ValueError as exc:      # e.g. "Incompatible Language version 15. Must be between 13 and 14"
        distribution = GRAMMAR_PACKAGES[lang][0]
        raise InfillUsageError(f"{distribution} {metadata.version(distribution)} does not load with tree-sitter "
                               f"{metadata.version('tree-sitter')} ({exc}): {INSTALL_HINT}") from None


_PER_THREAD = threading.local()      # a Parser is not safe to share between threads; the grader uses threads


def parse(code: bytes, lang: str):
    """The tree-sitter tree of `code` (UTF-8 bytes) in SAFIM language `lang`."""
    parsers = _PER_THREAD.__dict__.setdefault("parsers", {})
    if lang not in parsers:
        parsers[lang] = parser(lang)
    return parsers[lang].parse(code)


def grammar_versions() -> dict[str, str]:
    """Installed versions of the binding and the four grammars, to be recorded with any result they decided."""
    names = ["tree-sitter"] + [distribution for distribution, _ in GRAMMAR_PACKAGES.values()]
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def unpinned_grammars() -> dict[str, str]:
    """Grammar packages whose installed version is not the pinned one (name -> installed version): their
    truncations and COMPILATION_ERROR verdicts may differ from the measured ones."""
    installed = grammar_versions()
    return {name: installed[name] for name, pinned in PINNED_GRAMMARS.items() if installed[name] != pinned}
