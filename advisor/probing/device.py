"""Which device the probes and the pilot run on."""

from __future__ import annotations

import torch

from advisor.errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then Apple's MPS, then the CPU; asking for one that is missing is an
    input error rather than a silent fallback, because the user asked for it by name."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("cuda: no CUDA device is available here (use `device` cpu)", "device")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise InputError("mps: Apple's MPS is not available here (use `device` cpu)", "device")
    if name not in ("cpu", "cuda", "mps"):
        raise InputError(f"must be auto, cpu, cuda or mps, not {name!r}", "device")
    return torch.device(name)
