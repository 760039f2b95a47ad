"""Device choice for the commands that run a model or score outside a Lightning trainer (predict, web demo, the
Python API, scoring saved predictions): ``auto`` is the first CUDA GPU when there is one, else the CPU."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

AUTO = "auto"


def resolve_device(device: str | torch.device = AUTO) -> torch.device:
    """``"auto"`` -> ``cuda`` when available, else ``cpu``; anything else as ``torch.device`` reads it
    (``cpu``, ``cuda``, ``cuda:1``). Asking for CUDA on a machine without it is an error that says so."""
    if str(device) == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device} requested, but CUDA is not available here (use device=auto or cpu)")
    return device


def machine_description(device: str) -> str:
    """CPU (or GPU) model, CPU count, threads and library versions, for a report."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"CPU: {cpu} ({os.cpu_count()} logical CPUs)", f"torch threads: {torch.get_num_threads()}", f"torch {torch.__version__}", f"Python {platform.python_version()}"]
    if torch.device(device).type == "cuda":
        parts.insert(0, f"GPU: {torch.cuda.get_device_name(torch.device(device))} (CUDA {torch.version.cuda})")
    return "; ".join(parts)
