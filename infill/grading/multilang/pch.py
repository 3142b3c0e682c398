"""A precompiled header for C++ programs whose first line is ``#include <bits/stdc++.h>``.

Why: ExecEval compiles ``g++ ... -include limits.h -include math.h ... test.cpp``; parsing bits/stdc++.h is most
of the time of compiling a typical program (about 3 s of 3.5 s here). GCC uses a precompiled header only for the
first header a translation unit includes, so ours, ``prelude.h``, holds exactly the beginning of such a program:
limits.h, math.h (ExecEval's -include order) and bits/stdc++.h, compiled with the same language, optimisation and
macro options (``languages.CPP_HEADER_FLAGS``). A program is compiled with ``-include prelude.h`` in place of the
two ``-include`` only when nothing precedes its first ``#include <bits/stdc++.h>`` but whitespace and comments:
then the compiler sees the same declarations in the same order (the program's own include of bits/stdc++.h
finds every header already included; bits/stdc++.h re-includes only assert.h, which redefines assert the same
way). Anything else (a macro or pragma first, another header first) compiles as ExecEval does. Should GCC ever
reject the precompiled file, it reads prelude.h as text: the same program, only slower.

One header per compiler identity, built once (under a file lock) in ``<root>/<key>/`` and checked with ``-H``.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from infill.grading.multilang.languages import CPP_HEADER_FLAGS
from infill.grading.multilang.sandbox import COMPILE_ENV

PRELUDE = "#include <limits.h>\n#include <math.h>\n#include <bits/stdc++.h>\n"
HEADER = "prelude.h"
_FIRST_INCLUDE = re.compile(r'#[ \t]*include[ \t]*(<bits/stdc\+\+\.h>|"bits/stdc\+\+\.h")[ \t]*(?://[^\n\\]*)?(?:\n|\Z)')


def _skip_space_and_comments(source: str) -> int | None:
    """Index of the first character that is not whitespace or a comment; None if a comment is unusual
    (a line comment continued by a backslash)."""
    at = 0
    while at < len(source):
        if source[at] in " \t\n\r\f\v":
            at += 1
        elif source.startswith("//", at):
            end = source.find("\n", at)
            line = source[at:end if end >= 0 else len(source)]
            if line.endswith("\\"):
                return None
            at = len(source) if end < 0 else end + 1
        elif source.startswith("/*", at):
            end = source.find("*/", at + 2)
            if end < 0:
                return None
            at = end + 2
        else:
            return at
    return at


def eligible(source: str) -> bool:
    """Whether the program's first line of code is ``#include <bits/stdc++.h>`` (see the module's docstring)."""
    if "\\\n" in source.split("bits/stdc++.h", 1)[0]:
        return False  # a line splice before the include: not worth reasoning about
    start = _skip_space_and_comments(source)
    return start is not None and bool(_FIRST_INCLUDE.match(source, start))


def header_key(gxx_identity: str) -> str:
    return hashlib.sha256(f"{gxx_identity}\n{' '.join(CPP_HEADER_FLAGS)}\n{PRELUDE}".encode()).hexdigest()[:24]


def _used(directory: Path) -> bool:
    """Whether g++ takes the precompiled file (``-H`` marks it with '!')."""
    flags = [f for f in CPP_HEADER_FLAGS if f != "c++-header"]
    flags[flags.index("-x") + 1:flags.index("-x") + 1] = ["c++"]
    probe = subprocess.run(["g++", *flags, "-H", "-fsyntax-only", "-include", str(directory / HEADER), "-"], input="int main(){}\n", text=True,
                           capture_output=True, env=COMPILE_ENV, timeout=120)
    return probe.returncode == 0 and f"! {directory / HEADER}.gch" in probe.stderr


def build(root: Path, gxx_identity: str) -> tuple[Path | None, str]:
    """(directory holding prelude.h and prelude.h.gch, "") or (None, why not); built at most once per key."""
    final = root / header_key(gxx_identity)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / (final.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / (HEADER + ".gch")).exists():
            return final, ""
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            (work / HEADER).write_text(PRELUDE)
            made = subprocess.run(["g++", *CPP_HEADER_FLAGS, HEADER, "-o", HEADER + ".gch"], cwd=work,
                                  capture_output=True, text=True, env=COMPILE_ENV, timeout=600)
            if made.returncode != 0:
                return None, f"g++ could not build it: {made.stderr.strip()[-300:]}"
            os.chmod(work, 0o755)
            for name in (HEADER, HEADER + ".gch"):
                os.chmod(work / name, 0o644)
            os.rename(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not _used(final):
        return None, "g++ does not use the precompiled header"
    return final, ""
