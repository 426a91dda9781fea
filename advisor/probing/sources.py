"""Backbone specs resolved to ready networks: ``auto``, ``imagenet``, ``torchvision:NAME``,
``timm:NAME``, ``file:PATH[:ARCH]`` and ``random:ARCH``.

The probes look at the user's data through a network pretrained on a source (ImageNet-1k) and
compare it with the same network untrained. Nothing here downloads: pretrained weights come from
the package that ships them, from the local torch and Hugging Face caches, or from a file the
user names, and every checkpoint is read without unpickling arbitrary objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import timm
import torch
from torch import nn

from advisor.errors import InputError
from advisor.probing.backbone import (
    Backbone,
    classifier_head,
    imagenet_classes,
    is_imagenet_head,
    ready,
)
from advisor.probing.checkpoints import load_matching, read_checkpoint, sha256_file
from advisor.probing.hubs import (
    check_timm_arch,
    load_timm,
    load_torchvision,
    timm_preprocessing,
    timm_size_kwargs,
    torchvision_model,
    torchvision_preprocessing,
    torchvision_weights,
)
from advisor.probing.imagenet import IMAGENET_ARCH, load_imagenet
from advisor.probing.preprocessing import MIN_RESOLUTION, Preprocessing

SPEC_FORMS = "auto, imagenet, torchvision:NAME, timm:NAME, file:PATH[:ARCH] or random:ARCH"

AUTO_PREFERENCE = (
    "imagenet",
    "torchvision:resnet50",
    "timm:resnet50.a1_in1k",
    "torchvision:resnet18",
    "timm:resnet18.a1_in1k",
)
"""Order in which ``auto`` tries backbones. ``imagenet`` comes first even where a larger network
is cached: it is the same network and weights on every machine (so the same data gets the same
advice everywhere), it is cheap enough for the CPU, and the domain-gap calibration is built on it.
The ResNets are fallbacks for an installation without the weights package: ResNet-50 is the
network most published transfer-vs-self-supervised comparisons use, ResNet-18 a cheaper one."""


def load_backbone(spec: str = "auto", resolution: int | None = None) -> Backbone:
    """Resolve a spec string to a ready backbone.

    ``resolution`` replaces the weights' own input side (the CPU default is lower than the 224
    the weights were trained at); the crop ratio, interpolation and normalisation stay theirs.
    """
    if resolution is not None and resolution < MIN_RESOLUTION:
        raise InputError(f"resolution must be at least {MIN_RESOLUTION} px, got {resolution}")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if not rest and kind == "auto":
        return _load_auto(resolution)
    if not rest and kind == "imagenet":
        return load_imagenet(resolution)
    if rest and kind == "torchvision":
        return load_torchvision(rest, resolution)
    if rest and kind == "timm":
        return load_timm(rest, resolution)
    if rest and kind == "file":
        return _load_file(rest, resolution)
    if rest and kind == "random":
        return _random_backbone(rest, 0, resolution, None)
    raise InputError(f"unknown backbone spec {spec!r}: use {SPEC_FORMS}")


def random_counterpart(backbone: Backbone, seed: int = 0) -> Backbone:
    """The same architecture untrained, with the same preprocessing: what the data looks like
    to the network before pretraining, the baseline for what pretraining bought.

    The initialisation depends only on ``seed`` and leaves the global random state untouched.
    """
    return _random_backbone(
        _architecture(backbone.spec),
        seed,
        backbone.preprocessing.resolution,
        backbone.preprocessing,
    )


def _load_auto(resolution: int | None) -> Backbone:
    skipped: list[str] = []
    for spec in AUTO_PREFERENCE:
        try:
            backbone = load_backbone(spec, resolution)
        except InputError as exc:
            skipped.append(f"{spec}: {exc}")
            continue
        if skipped:
            why = "the first available in auto's preference order (" + "; ".join(skipped) + ")"
        else:
            why = (
                "first in auto's preference order: shipped with the tool, the same network on "
                "every machine, and the one the domain-gap calibration is built on"
            )
        return replace(backbone, description=f"auto chose {spec}, {why}. {backbone.description}")
    raise InputError("no pretrained backbone is available: " + "; ".join(skipped))


def _split_file_spec(rest: str) -> tuple[Path, str]:
    """PATH or PATH:ARCH; a path may itself contain colons, so an existing file wins."""
    whole = Path(rest).expanduser()
    if whole.is_file():
        return whole, IMAGENET_ARCH
    head, sep, arch = rest.rpartition(":")
    if sep and head and Path(head).expanduser().is_file():
        return Path(head).expanduser(), arch
    raise InputError(f"no checkpoint file at {head if sep and head else rest}")


def _load_file(rest: str, resolution: int | None) -> Backbone:
    path, arch = _split_file_spec(rest)
    check_timm_arch(arch)
    state = read_checkpoint(path)
    model = timm.create_model(arch, pretrained=False)
    head = classifier_head(model)
    if head is not None:
        # Self-supervised checkpoints often have no classifier, fine-tuned ones another size:
        # the head follows the checkpoint so that the rest of it can be checked strictly.
        prefix = next(name for name, module in model.named_modules() if module is head)
        weight = state.get(f"{prefix}.weight")
        if weight is None:
            model.reset_classifier(0)
        elif weight.ndim == 2 and weight.shape[0] != head.out_features:
            model.reset_classifier(weight.shape[0])
    load_matching(
        model, state, f"{path} does not fit {arch} (name the architecture with file:PATH:ARCH)"
    )
    head = classifier_head(model)
    if head is None:
        about = "no classification head"
    elif is_imagenet_head(head):
        about = "a 1000-class head, taken to be ImageNet-1k's"
    else:
        about = f"a {head.out_features}-class head"
    return ready(
        Backbone(
            spec=f"file:{path.resolve()}:{arch}",
            description=f"{arch} (timm architecture) with weights from {path}, {about}",
            model=model,
            preprocessing=timm_preprocessing(model, resolution),
            pretrained=True,
            weights_id=sha256_file(path),
            source_classes=imagenet_classes() if is_imagenet_head(head) else None,
        )
    )


def architecture_name(spec: str) -> str:
    """The architecture of a normalised spec by its plain name (``resnet50``), as the reference
    device table and the published schedules name it."""
    return _architecture(spec).removeprefix("torchvision:")


def _architecture(spec: str) -> str:
    """The architecture part of a normalised spec, in the form ``random:`` accepts."""
    if spec == "imagenet":
        return IMAGENET_ARCH
    kind, _, rest = spec.partition(":")
    if kind == "file":
        return rest.rpartition(":")[2]
    if kind in ("timm", "random"):
        return rest
    return spec  # torchvision:NAME stays qualified


def _random_backbone(
    arch: str, seed: int, resolution: int | None, preprocessing: Preprocessing | None
) -> Backbone:
    build: Callable[[], nn.Module]
    if arch.startswith("torchvision:"):
        name = arch.removeprefix("torchvision:")
        weights = torchvision_weights(name)
        preprocessing = preprocessing or torchvision_preprocessing(weights, resolution)
        side = preprocessing.resolution

        def build() -> nn.Module:
            return torchvision_model(name, weights, side)

        about = f"{name} (torchvision)"
    else:
        check_timm_arch(arch)

        def build() -> nn.Module:
            return timm.create_model(arch, pretrained=False, **timm_size_kwargs(arch, resolution))

        about = f"{arch} (timm)"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return ready(
        Backbone(
            spec=f"random:{arch}",
            description=f"{about} untrained (initialised with seed {seed})",
            model=model,
            preprocessing=preprocessing or timm_preprocessing(model, resolution),
            pretrained=False,
            weights_id=f"random-{arch}-{seed}",
            source_classes=None,
        )
    )
