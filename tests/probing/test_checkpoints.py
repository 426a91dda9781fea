"""file:PATH checkpoints: state dicts in their usual wrappings, safetensors, and every way a file
can fail to fit, refused in one line without running its code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import safetensors.torch
import torch
from helpers import SMALL, batch_of, same_weights, sha256
from PIL import Image

from advisor.errors import InputError
from advisor.probing.backbone import Backbone
from advisor.probing.sources import load_backbone, random_counterpart


def test_file_state_dict_with_the_default_architecture(
    tmp_path: Path, lite0_state: dict, imagenet_small: Backbone, photos: dict[str, Image.Image]
):
    path = tmp_path / "lite0.pth"
    torch.save(lite0_state, path)
    backbone = load_backbone(f"file:{path}", resolution=SMALL)
    assert backbone.spec == f"file:{path.resolve()}:tf_efficientnet_lite0"
    assert backbone.weights_id == sha256(path) and backbone.pretrained
    assert backbone.preprocessing == imagenet_small.preprocessing
    assert backbone.source_classes == imagenet_small.source_classes
    assert len(backbone.batchnorm_layers()) == 49
    batch = batch_of(backbone.preprocessing, list(photos.values()))
    ours, theirs = backbone.features_and_logits(batch), imagenet_small.features_and_logits(batch)
    assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])
    assert random_counterpart(backbone).spec == "random:tf_efficientnet_lite0"


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_file_wrapped_state_dicts(tmp_path: Path, lite0_state: dict, wrapper: str):
    inner = lite0_state
    if wrapper == "model":  # saved from DistributedDataParallel: every name has a prefix
        inner = {f"module.{k}": v for k, v in lite0_state.items()}
    path = tmp_path / "checkpoint.pt"
    torch.save({wrapper: inner, "epoch": 7, "optimizer": {"lr": 0.1}}, path)
    backbone = load_backbone(f"file:{path}:tf_efficientnet_lite0", resolution=SMALL)
    assert same_weights(backbone.model, lite0_state)


def test_file_safetensors(tmp_path: Path, lite0_state: dict):
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(lite0_state, path)
    backbone = load_backbone(f"file:{path}", resolution=SMALL)
    assert same_weights(backbone.model, lite0_state)
    assert backbone.weights_id == sha256(path)


def test_file_without_head_gives_features_only(tmp_path: Path, lite0_state: dict):
    path = tmp_path / "ssl.pt"
    torch.save({k: v for k, v in lite0_state.items() if not k.startswith("classifier.")}, path)
    backbone = load_backbone(f"file:{path}", resolution=SMALL)
    features, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 1280) and logits is None
    assert backbone.source_classes is None and "no classification head" in backbone.description
    assert len(backbone.batchnorm_layers()) == 49


def test_file_with_another_head_size(tmp_path: Path, lite0_state: dict):
    state = dict(lite0_state, **{"classifier.weight": torch.randn(10, 1280)})
    state["classifier.bias"] = torch.zeros(10)
    path = tmp_path / "finetuned.pt"
    torch.save(state, path)
    backbone = load_backbone(f"file:{path}", resolution=SMALL)
    _, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert logits is not None and logits.shape == (2, 10)
    assert backbone.source_classes is None


def test_file_wrong_shape_names_the_tensor(tmp_path: Path, lite0_state: dict):
    state = dict(lite0_state)
    state["blocks.1.0.conv_pw.weight"] = torch.zeros(96, 8, 1, 1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(InputError) as caught:
        load_backbone(f"file:{path}")
    message = str(caught.value)
    assert "'blocks.1.0.conv_pw.weight' has shape [96, 8, 1, 1]" in message
    assert "needs [96, 16, 1, 1]" in message


def test_file_for_another_architecture_names_what_is_missing(tmp_path: Path, lite0_state: dict):
    path = tmp_path / "lite0.pt"
    torch.save(lite0_state, path)
    with pytest.raises(InputError, match=r"does not fit resnet18.*lacks tensor 'conv1.weight'"):
        load_backbone(f"file:{path}:resnet18")


class _Payload:
    """Unpickling this object calls os.mkdir: a stand-in for code a checkpoint could run."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


def test_file_pickle_that_would_run_code_is_refused_unrun(tmp_path: Path, lite0_state: dict):
    path = tmp_path / "evil.pt"
    marker = tmp_path / "was-run"
    torch.save({**lite0_state, "extra": _Payload(marker)}, path)
    with pytest.raises(InputError, match=r"refused to load .*mkdir"):
        load_backbone(f"file:{path}")
    assert not marker.exists()
    # the payload is real: an unrestricted unpickler runs it
    control = tmp_path / "control.pt"
    torch.save(_Payload(tmp_path / "control-ran"), control)
    torch.load(control, weights_only=False)
    assert (tmp_path / "control-ran").is_dir()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint at all", "not a checkpoint torch can read safely"),
        ([1, 2, 3], "holds a list, not a state dict"),
        ({"weights": torch.zeros(2), "note": "hello"}, "entry 'note' is a str"),
    ],
)
def test_file_that_is_not_a_state_dict(tmp_path: Path, content: object, message: str):
    path = tmp_path / "thing.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(InputError, match=message):
        load_backbone(f"file:{path}")


def test_file_bad_safetensors_and_missing_file(tmp_path: Path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 16)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_backbone(f"file:{broken}")
    with pytest.raises(InputError, match="no checkpoint file at"):
        load_backbone(f"file:{tmp_path / 'absent.pt'}:resnet18")
