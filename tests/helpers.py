"""Helpers for the test suite: small images with real structure, tiny datasets, and readers of
the profile. Every dataset is built under a temporary folder; nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import huggingface_hub.constants
import jsonschema
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner, Result

from advisor.cli import app
from advisor.probing.preprocessing import Preprocessing
from advisor.schema.card import DatasetCard
from advisor.schema.profile import Profile
from advisor.services.analyze import AnalyzeSettings, analyze

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
STORED_PILOT = REPO / "tests" / "fixtures" / "pilot-result.json"
"""A finished pilot's result, kept so that the summary can be tested without training."""
HOSTILE = "<img src=x onerror=alert(1)>"
"""A class folder named like this must show as these characters, never become markup."""
STORED_ANALYSIS = REPO / "tests" / "fixtures" / "analysis-demo.json"
"""``advisor analyze`` of the digits demo with probes (its images are not kept: paths only)."""


def make_card(**changes: object) -> DatasetCard:
    """A dataset card of a mid-sized natural-image classification task, with ``changes``."""
    fields = {
        "name": "t",
        "task": "classification",
        "domain": "natural",
        "labeled_images": 5000,
        "unlabeled_images": 20000,
        "classes": 10,
        "image_size": 256,
    }
    return DatasetCard.model_validate({**fields, **changes})


def hostile_dataset(root: Path) -> Path:
    """Two classes (one named ``HOSTILE``) in train and test, with two cross-class copies (a
    conflicting label), a train/test copy (a split leak) and a truncated file."""
    data = root / "data"
    for split, offset in (("train", 0), ("test", 100)):
        for c, name in enumerate((HOSTILE, "cat")):
            for i in range(6):
                write_png(data / split / name / f"{name}_{i}.png", offset + 10 * c + i)
    for copy in ("copy.png", "copy2.png"):
        shutil.copy(data / "train" / HOSTILE / f"{HOSTILE}_0.png", data / "train" / "cat" / copy)
    shutil.copy(data / "train" / "cat" / "cat_1.png", data / "test" / "cat" / "leak.png")
    cut = (data / "train" / "cat" / "cat_2.png").read_bytes()
    (data / "train" / "cat" / "broken.png").write_bytes(cut[: len(cut) // 2])
    return data


def smooth_noise(seed: int, side: int = 64, grid: int = 6, mode: str = "RGB") -> Image.Image:
    """Random values on a ``grid`` x ``grid`` lattice upscaled bicubically to ``side``: an image
    with real, seed-specific structure (distinct seeds give perceptually distinct images)."""
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    small = rng.integers(0, 256, (grid, grid, channels), dtype=np.uint8)
    img = Image.fromarray(small if channels == 3 else small[:, :, 0])
    return img.resize((side, side), Image.Resampling.BICUBIC)


def write_png(path: Path, seed: int, side: int = 64, mode: str = "RGB") -> Path:
    """Write a structured PNG (see ``smooth_noise``), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    smooth_noise(seed, side, mode=mode).save(path, format="PNG")
    return path


def png_bytes(seed: int, side: int = 32) -> bytes:
    buf = io.BytesIO()
    smooth_noise(seed, side).save(buf, format="PNG")
    return buf.getvalue()


def make_class_folders(root: Path, counts: Mapping[str, int], seed: int = 0) -> list[Path]:
    """``root/<class>/img_<i>.png`` with ``counts[class]`` distinct images per class."""
    paths = []
    for name, n in counts.items():
        for i in range(n):
            paths.append(write_png(root / name / f"img_{i}.png", seed))
            seed += 1
    return paths


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def oversized_png_bytes(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose (valid, correctly checksummed) IHDR claims ``width`` x ``height`` 8-bit RGB
    pixels, followed by a tiny IDAT that holds only one row: decoding it all would need
    width * height * 3 bytes, so a reader that allocates the image would be caught."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * (3 * 8))
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def profile_of(
    data: Path | None,
    unlabeled: Iterable[Path] = (),
    manifest: Path | None = None,
) -> Profile:
    """The profile of a dataset through the Python API (faster than the CLI)."""
    return analyze(AnalyzeSettings(data, list(unlabeled), manifest)).profile


def problems(profile: Profile, kind: str) -> list[list[str]]:
    """The path lists of the problems of one kind, each sorted, in report order."""
    return [sorted(p.paths) for p in profile.problems if p.kind == kind]


def notice_paths(profile: Profile, kind: str) -> list[str] | None:
    """The paths of the notice of one kind (sorted), or None when there is no such notice."""
    for notice in profile.notices:
        if notice.kind == kind:
            return sorted(notice.paths)
    return None


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry below root, hidden ones included, with its size and modification time (ns)."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            result[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return result


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    """``img`` saved in ``fmt`` to bytes."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


# --- the command line -------------------------------------------------------------------------

_runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    """Run ``advisor ARGS`` in this process (stdout and stderr captured separately)."""
    return _runner.invoke(app, [str(a) for a in args])


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("advisor: error: ")
    assert len(lines[0]) > len("advisor: error: ")
    return lines[0]


def validate(document: dict, schema: dict) -> None:
    jsonschema.Draft202012Validator(schema).validate(document)


def no_nan(document: str) -> dict:
    """The JSON document, refusing NaN and infinities (which are not JSON)."""

    def refuse(constant: str) -> float:
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(document, parse_constant=refuse)


# --- backbones and weight caches --------------------------------------------------------------

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SMALL = 64  # input side for the loaders' tests: enough to run every network, cheap on the CPU
HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def use_torch_cache(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(home))  # torch.hub.get_dir() reads it at each call


def use_hf_cache(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    # huggingface_hub reads the variables once, at import: its resolved constant must follow.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))


def seeded_state(build: Callable[[], nn.Module], seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return build().state_dict()


def same_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    loaded = model.state_dict()
    return loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def batch_of(preprocessing: Preprocessing, images: list[Image.Image]) -> torch.Tensor:
    transform = preprocessing.transform()
    return torch.stack([transform(img) for img in images])


def thumb_of(data: bytes) -> np.ndarray:
    """The near-duplicate thumbnail the scan makes of an encoded image."""
    from advisor.data.images import _as_read, _inspect_bytes, thumb_shape

    facts = _as_read(_inspect_bytes(data, hashlib.blake2b(data, digest_size=16).digest())).facts
    assert facts.thumb is not None
    shape = thumb_shape(facts.width, facts.height)
    return np.frombuffer(facts.thumb, dtype=np.uint8).reshape(shape)
