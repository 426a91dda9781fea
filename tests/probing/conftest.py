"""Fixtures of the backbone tests: the packaged network, photos, and weight caches holding
weights the tests make themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import safetensors.torch
import timm
import torch
import torchvision
from helpers import HF_COMMIT, SMALL, batch_of, seeded_state, write_png
from PIL import Image
from sklearn.datasets import load_sample_images

from advisor.probing.backbone import Backbone
from advisor.probing.sources import load_backbone


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


@pytest.fixture(scope="module")
def photo_batch(imagenet: Backbone, photos: dict[str, Image.Image]) -> torch.Tensor:
    return batch_of(imagenet.preprocessing, [photos["china"], photos["flower"]])


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


@pytest.fixture(scope="module")
def backbone() -> Backbone:
    """The packaged network at 32 px: cheap enough to extract features in every test."""
    return load_backbone("imagenet", 32)


@pytest.fixture
def images(tmp_path: Path) -> list[str]:
    """Twelve distinct small images."""
    return [str(write_png(tmp_path / f"{i}.png", i, side=40)) for i in range(12)]
