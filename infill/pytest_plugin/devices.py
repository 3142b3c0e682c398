"""One GPU per pytest-xdist worker: `pytest bench_tests -n 4` on a 4-GPU machine puts worker gwK on GPU K.

The pin is CUDA_VISIBLE_DEVICES, set before torch initialises CUDA in the worker (CUDA reads it once, at its
initialisation), so the worker's models go to "cuda" = its own GPU without any device argument. Counting GPUs
must not initialise CUDA itself, so the count comes from the device files or nvidia-smi, never from torch.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

VISIBLE = "CUDA_VISIBLE_DEVICES"


def worker_number(worker_id: str) -> int | None:
    """pytest-xdist names its workers gw0, gw1, ...; anything else is not a worker."""
    match = re.fullmatch(r"gw(\d+)", worker_id or "")
    return int(match[1]) if match else None


def worker_device(worker_id: str, visible_devices: str | None, gpu_count: int) -> str | None:
    """The CUDA_VISIBLE_DEVICES value for this worker, or None to leave the environment alone.

    An existing CUDA_VISIBLE_DEVICES list is respected (the user chose those GPUs): worker K gets its K-th entry,
    wrapping around when there are more workers than entries. Entries are kept verbatim (ordinals, GPU-/MIG-
    UUIDs). Without the variable, worker K gets GPU K mod gpu_count. No GPU (an empty list, gpu_count 0): None.
    """
    number = worker_number(worker_id)
    if number is None:
        return None
    if visible_devices is not None:
        entries = [entry.strip() for entry in visible_devices.split(",") if entry.strip()]
        # CUDA stops at the first invalid entry; "-1" is the usual way to hide every GPU
        entries = entries[:next((i for i, e in enumerate(entries) if e.startswith("-")), len(entries))]
        return entries[number % len(entries)] if entries else None
    return str(number % gpu_count) if gpu_count > 0 else None


def gpu_count() -> int:
    """NVIDIA GPUs on this machine, without initialising CUDA in this process."""
    device_files = [p for p in Path("/dev").glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name)]
    if device_files:
        return len(device_files)
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return 0
    try:
        listing = subprocess.run([binary, "-L"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in listing.splitlines())


def pin_worker_to_gpu(worker_id: str, environ=os.environ) -> str | None:
    """Set CUDA_VISIBLE_DEVICES for this xdist worker; returns what it set (None: nothing, e.g. no GPU)."""
    visible = environ.get(VISIBLE)
    device = worker_device(worker_id, visible, gpu_count() if visible is None else 0)
    if device is None:
        return None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # Too late to take effect: say so rather than silently stacking every worker on one GPU.
        sys.stderr.write(f"infill-bench: warning: CUDA was initialised before worker {worker_id} could be pinned "
                         f"to GPU {device}; it uses the default device\n")
        return None
    environ[VISIBLE] = device
    return device
