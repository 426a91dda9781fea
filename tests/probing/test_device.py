"""Choosing the device."""

from __future__ import annotations

import pytest
import torch

from advisor.errors import InputError
from advisor.probing.device import resolve_device


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="auto, cpu, cuda or mps") as caught:
        resolve_device("tpu")
    assert caught.value.param == "device"
