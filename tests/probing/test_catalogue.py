"""Which backbones this machine can use offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import use_hf_cache, use_torch_cache

from advisor.probing.catalogue import available_backbones
from advisor.probing.sources import AUTO_PREFERENCE


def test_available_backbones_lists_shipped_cached_and_missing(
    torch_home: tuple[Path, dict[str, torch.Tensor]],
    hf_home: tuple[Path, dict[str, torch.Tensor]],
    monkeypatch: pytest.MonkeyPatch,
):
    use_torch_cache(monkeypatch, torch_home[0])
    use_hf_cache(monkeypatch, hf_home[0])
    infos = {info.spec: info for info in available_backbones()}
    assert list(infos)[: len(AUTO_PREFERENCE)] == list(AUTO_PREFERENCE)
    for spec in ("imagenet", "torchvision:resnet18", "timm:resnet18.a1_in1k"):
        assert infos[spec].available and infos[spec].why_not is None, spec
    assert infos["random:tf_efficientnet_lite0"].available
    missing = infos["torchvision:resnet50"]
    assert not missing.available and "resnet50-11ad3fa6.pth" in (missing.why_not or "")
    assert missing.description.startswith("resnet50 (torchvision")
