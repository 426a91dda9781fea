"""Which backbone specs this machine can use offline, and why the others cannot be used."""

from __future__ import annotations

from advisor.errors import InputError
from advisor.probing.hubs import (
    cached_timm_names,
    cached_torchvision_names,
    locate_timm,
    locate_torchvision,
    torchvision_description,
    torchvision_weights,
)
from advisor.probing.imagenet import IMAGENET_ARCH, imagenet_description, imagenet_weights_path
from advisor.probing.sources import AUTO_PREFERENCE
from advisor.schema.backbones import BackboneEntry


def available_backbones() -> list[BackboneEntry]:
    """Backbones this machine can use without a network: the shipped one, weights found in the
    local caches, the fallbacks ``auto`` would try (with what is missing), and the untrained
    baseline."""
    infos = {spec: _info(spec) for spec in AUTO_PREFERENCE}
    cached = [f"torchvision:{name}" for name in cached_torchvision_names()]
    cached += [f"timm:{name}" for name in cached_timm_names()]
    for spec in cached:
        if spec not in infos:
            infos[spec] = _info(spec)
    baseline = f"random:{IMAGENET_ARCH}"
    infos[baseline] = BackboneEntry(
        spec=baseline,
        description="EfficientNet-Lite0 untrained: the baseline for what pretraining buys "
        "(random:ARCH takes any timm architecture)",
        available=True,
    )
    return list(infos.values())


def _info(spec: str) -> BackboneEntry:
    kind, _, name = spec.partition(":")
    try:
        if kind == "imagenet":
            imagenet_weights_path()
            return BackboneEntry(spec=spec, description=imagenet_description(), available=True)
        if kind == "torchvision":
            weights, path = locate_torchvision(name)
            about = f"{torchvision_description(name, weights)} ({path})"
            return BackboneEntry(spec=spec, description=about, available=True)
        repo_id, path = locate_timm(name)
        about = f"{name} (timm) with weights {repo_id} ({path})"
        return BackboneEntry(spec=spec, description=about, available=True)
    except InputError as exc:
        about = _offline_description(kind, name)
        return BackboneEntry(spec=spec, description=about, available=False, why_not=str(exc))


def _offline_description(kind: str, name: str) -> str:
    if kind == "imagenet":
        return imagenet_description()
    if kind == "torchvision":
        return torchvision_description(name, torchvision_weights(name))
    return f"{name} (timm) with its pretrained weights"
