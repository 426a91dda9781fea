"""Pretrained weights from the local caches of torchvision (``torchvision:NAME``) and of the
Hugging Face hub for timm (``timm:NAME``). Nothing here downloads: a missing file is an error that
says where to put it."""

from __future__ import annotations

import difflib
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
import timm
import torch
import torchvision
from torch import nn
from torchvision.models.vision_transformer import interpolate_embeddings

from advisor.errors import InputError, one_line
from advisor.probing.backbone import (
    Backbone,
    classifier_head,
    imagenet_classes,
    is_imagenet_head,
    ready,
)
from advisor.probing.checkpoints import load_matching, read_checkpoint, sha256_file
from advisor.probing.preprocessing import Preprocessing

_TORCHVISION_PRETRAINED_KWARGS: dict[str, dict[str, bool]] = {
    # torchvision's own builders set these whenever they load weights; without them the
    # checkpoint's auxiliary heads do not fit and the input is not re-normalised as in training.
    "googlenet": {"transform_input": True, "aux_logits": True, "init_weights": False},
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
}


def torchvision_weights(name: str) -> torchvision.models.WeightsEnum:
    names = torchvision.models.list_models(module=torchvision.models)
    if name not in names:
        raise InputError(
            f"unknown torchvision classification model {name!r}{did_you_mean(name, names)}"
        )
    return torchvision.models.get_model_weights(name).DEFAULT


def torchvision_file(weights: torchvision.models.WeightsEnum) -> Path:
    filename = Path(urlparse(weights.url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def locate_torchvision(name: str) -> tuple[torchvision.models.WeightsEnum, Path]:
    weights = torchvision_weights(name)
    path = torchvision_file(weights)
    if not path.is_file():
        raise InputError(
            f"the weights of torchvision:{name} are not in the local torch cache: expected "
            f"{path}; download {weights.url} on a connected machine into {path.parent} "
            "(or set TORCH_HOME to a cache that has it)"
        )
    return weights, path


def torchvision_description(name: str, weights: torchvision.models.WeightsEnum) -> str:
    top1 = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    params = weights.meta["num_params"] / 1e6
    return (
        f"{name} (torchvision, {params:.1f}M parameters) with {weights} weights, "
        f"ImageNet-1k top-1 {top1:.1f}%"
    )


def torchvision_preprocessing(
    weights: torchvision.models.WeightsEnum, resolution: int | None
) -> Preprocessing:
    preset = weights.transforms()
    crop, resize = preset.crop_size[0], preset.resize_size[0]
    return Preprocessing(
        resolution=resolution or crop,
        crop_ratio=crop / resize,
        interpolation=preset.interpolation.value,
        mean=tuple(preset.mean),
        std=tuple(preset.std),
    )


def torchvision_model(
    name: str, weights: torchvision.models.WeightsEnum, resolution: int
) -> nn.Module:
    kwargs: dict[str, object] = {"num_classes": len(weights.meta["categories"])}
    kwargs.update(_TORCHVISION_PRETRAINED_KWARGS.get(name, {}))
    if name.startswith("vit_"):
        kwargs["image_size"] = resolution
    try:
        return torchvision.models.get_model(name, weights=None, **kwargs)
    except (AssertionError, ValueError) as exc:
        raise InputError(
            f"torchvision:{name} cannot be built for {resolution} px input: {exc}"
        ) from None


def load_torchvision(name: str, resolution: int | None) -> Backbone:
    weights, path = locate_torchvision(name)
    state = read_checkpoint(path)
    preprocessing = torchvision_preprocessing(weights, resolution)
    model = torchvision_model(name, weights, preprocessing.resolution)
    if name.startswith("vit_"):  # position embeddings follow the input side
        state = interpolate_embeddings(preprocessing.resolution, model.patch_size, state)
    load_matching(model, state, f"{path} does not fit torchvision:{name}")
    return ready(
        Backbone(
            spec=f"torchvision:{name}",
            description=f"{torchvision_description(name, weights)}, read from {path}",
            model=model,
            preprocessing=preprocessing,
            pretrained=True,
            weights_id=sha256_file(path),
            source_classes=list(weights.meta["categories"]),
        )
    )


def cached_torchvision_names() -> list[str]:
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    if not folder.is_dir():
        return []
    present = {entry.name for entry in folder.iterdir()}
    names = torchvision.models.list_models(module=torchvision.models)
    return [
        n
        for n in names
        if torchvision_file(torchvision.models.get_model_weights(n).DEFAULT).name in present
    ]


def check_timm_arch(name: str) -> None:
    if not timm.is_model(name):
        raise InputError(
            f"unknown timm architecture {name!r}{did_you_mean(name, timm.list_models())}"
        )


def locate_timm(name: str) -> tuple[str, Path]:
    check_timm_arch(name)
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not cfg.hf_hub_id:
        raise InputError(f"timm has no pretrained weights on the Hugging Face hub for {name!r}")
    filenames = [cfg.hf_hub_filename] if cfg.hf_hub_filename else []
    filenames += ["model.safetensors", "pytorch_model.bin"]
    for filename in filenames:
        found = huggingface_hub.try_to_load_from_cache(cfg.hf_hub_id, filename)
        if isinstance(found, str):  # not None, nor the "known to be absent" marker
            return cfg.hf_hub_id, Path(found)
    cache_dir = huggingface_hub.constants.HF_HUB_CACHE
    raise InputError(
        f"the weights of timm:{name} ({cfg.hf_hub_id}) are not in the local Hugging Face cache "
        f"{cache_dir}: run `hf download {cfg.hf_hub_id}` on a connected machine and copy its "
        f"models--{cfg.hf_hub_id.replace('/', '--')} folder there (or set HF_HUB_CACHE to a "
        f"cache that has it), or use file:PATH:{cfg.architecture}"
    )


def timm_size_kwargs(name: str, resolution: int | None) -> dict[str, int]:
    """Architectures with a fixed input size (ViTs) must be built for the resolution used;
    timm then resamples their position embeddings when it loads pretrained weights."""
    cfg = timm.models.get_pretrained_cfg(name)
    if resolution and cfg is not None and cfg.fixed_input_size and cfg.input_size[-1] != resolution:
        return {"img_size": resolution}
    return {}


def timm_preprocessing(model: nn.Module, resolution: int | None) -> Preprocessing:
    config = timm.data.resolve_data_config({}, model=model)
    return Preprocessing(
        resolution=resolution or config["input_size"][-1],
        crop_ratio=float(config["crop_pct"]),
        interpolation=config["interpolation"],
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
    )


def load_timm(name: str, resolution: int | None) -> Backbone:
    repo_id, path = locate_timm(name)
    state = read_checkpoint(path)
    try:
        # Handing timm the state dict (rather than a location) keeps the load offline, and
        # still applies its per-architecture checkpoint filters (e.g. position embeddings).
        model = timm.create_model(
            name,
            pretrained=True,
            pretrained_cfg_overlay={"state_dict": state},
            **timm_size_kwargs(name, resolution),
        )
    except RuntimeError as exc:
        raise InputError(f"{path} does not fit timm:{name}: {one_line(exc)}") from None
    head = classifier_head(model)
    return ready(
        Backbone(
            spec=f"timm:{name}",
            description=f"{name} (timm) with weights {repo_id}, read from {path}",
            model=model,
            preprocessing=timm_preprocessing(model, resolution),
            pretrained=True,
            weights_id=sha256_file(path),
            source_classes=imagenet_classes() if is_imagenet_head(head) else None,
        )
    )


def cached_timm_names() -> list[str]:
    root = Path(huggingface_hub.constants.HF_HUB_CACHE)
    prefix = "models--timm--"
    if not root.is_dir():
        return []
    names = sorted(entry.name.removeprefix(prefix) for entry in root.glob(prefix + "*"))
    return [name for name in names if timm.is_model(name)]


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""
