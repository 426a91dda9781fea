"""Reading checkpoints without ever executing code from them, and loading them into a network
with a message that names the first tensor that does not fit."""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import nn

from advisor.errors import InputError, one_line

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
"""Keys under which training scripts commonly nest the state dict in a checkpoint."""


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A flat state dict from a .safetensors file or a torch checkpoint, never executing code:
    torch.load with ``weights_only`` refuses any pickle that would import something."""
    if path.suffix == ".safetensors":
        try:
            return safetensors.torch.load_file(path, device="cpu")
        except (safetensors.SafetensorError, OSError) as exc:
            raise InputError(
                f"{path} is not a readable safetensors file: {one_line(exc)}"
            ) from None
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        culprit = re.search(r"GLOBAL (\S+)", str(exc))
        if culprit is None:  # not a pickle, or one using opcodes the safe unpickler lacks
            detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
            reason = detail.group(1) if detail else one_line(exc)
            raise InputError(
                f"{path} is not a checkpoint torch can read safely: {reason}"
            ) from None
        raise InputError(
            f"refused to load {path}: it is not a plain state dict (it would import "
            f"{culprit.group(1)}); save model.state_dict() with torch.save, or use safetensors"
        ) from None
    except Exception as exc:  # torch.load reports a damaged file with many exception types
        raise InputError(f"{path} is not a checkpoint torch can read: {one_line(exc)}") from None
    return _unwrap(content, path)


def _unwrap(content: object, path: Path) -> dict[str, torch.Tensor]:
    while isinstance(content, Mapping) and not _is_tensor_map(content):
        inner = next(
            (content[k] for k in _WRAPPER_KEYS if isinstance(content.get(k), Mapping)), None
        )
        if inner is None:
            break
        content = inner
    if not isinstance(content, Mapping) or not content:
        raise InputError(f"{path} holds a {type(content).__name__}, not a state dict")
    for key, value in content.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(
                f"{path} is not a state dict: entry {key!r} is a {type(value).__name__}"
            )
    state = {str(k): v for k, v in content.items()}
    if all(k.startswith("module.") for k in state):  # saved from a DistributedDataParallel wrapper
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _is_tensor_map(content: Mapping) -> bool:
    return all(isinstance(v, torch.Tensor) for v in content.values())


def load_matching(model: nn.Module, state: Mapping[str, torch.Tensor], problem: str) -> None:
    """Load by name, naming the first tensor that does not fit instead of PyTorch's list."""
    target = model.state_dict()
    for name, expected in target.items():
        tensor = state.get(name)
        if tensor is None:
            if name.endswith("num_batches_tracked"):  # absent from older checkpoints, unused here
                continue
            raise InputError(f"{problem}: it lacks tensor {name!r} {shape_text(expected)}")
        if tensor.shape != expected.shape:
            raise InputError(
                f"{problem}: tensor {name!r} has shape {shape_text(tensor)}, the architecture "
                f"needs {shape_text(expected)}"
            )
    extra = next((name for name in state if name not in target), None)
    if extra is not None:
        raise InputError(f"{problem}: it has tensor {extra!r}, which the architecture lacks")
    model.load_state_dict(state, strict=False)


def shape_text(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(d) for d in tensor.shape) + "]"


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
