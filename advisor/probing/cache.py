"""Extracted features and finished probe documents on disk, under the user cache folder (never in
the data folder), so that a second analysis of the same data skips the network and the
arithmetic."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import platformdirs
import torch

from advisor.errors import InputError
from advisor.output import write_bytes_atomically
from advisor.probing.backbone import Backbone
from advisor.probing.extraction import BN_STAT_IMAGES, Extracted, extract

CACHE_FORMAT = "2"
"""Bumped whenever what is cached changes meaning, so old entries are never misread."""


def cache_key(parts: Iterable[str], *digest_groups: Iterable[bytes]) -> str:
    """A cache key: SHA-256 over text parts (each terminated, so parts cannot run together)
    and then the content digests of the images involved, group by group."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() + b"\0")
    for group in digest_groups:
        for digest in group:
            h.update(digest)
        h.update(b"\0")
    return h.hexdigest()


def _store_quietly(folder: Path, name: str, data: bytes) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(folder / name, data)
    except (OSError, InputError):
        pass  # a cache that cannot be written only costs speed next time


class FeatureCache:
    """Extracted features on disk, under the user cache folder (never in the data folder), keyed
    by the content of every image, the backbone's weights and spec, and the preprocessing, so
    that a second analysis of the same data skips the network."""

    def __init__(self, root: Path | None = None) -> None:
        override = os.environ.get("ADVISOR_CACHE_DIR")
        base = root or (
            Path(override) if override else platformdirs.user_cache_path("pretrain-advisor")
        )
        self.root = base / "features"

    @staticmethod
    def key(digests: Sequence[bytes], backbone: Backbone) -> str:
        parts = (
            CACHE_FORMAT,
            backbone.spec,
            backbone.weights_id,
            backbone.preprocessing.key(),
            str(BN_STAT_IMAGES),
        )
        return cache_key(parts, digests)

    def load(self, key: str) -> Extracted | None:
        path = self.root / f"{key}.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                names = [str(n) for n in data["bn_names"]]
                logits = data["logits"] if data["has_logits"] else None
                return Extracted(
                    features=data["features"],
                    logits=logits,
                    bn_mean={n: data[f"bn_mean_{i}"] for i, n in enumerate(names)},
                    bn_var={n: data[f"bn_var_{i}"] for i, n in enumerate(names)},
                    cached=True,
                )
        except (OSError, ValueError, KeyError):
            return None  # a damaged entry is recomputed, not trusted

    def save(self, key: str, extracted: Extracted) -> None:
        names = sorted(extracted.bn_mean)
        arrays = {
            "features": extracted.features,
            "logits": extracted.logits if extracted.logits is not None else np.zeros(0),
            "has_logits": np.array(extracted.logits is not None),
            "bn_names": np.array(names),
        }
        for i, name in enumerate(names):
            arrays[f"bn_mean_{i}"] = extracted.bn_mean[name]
            arrays[f"bn_var_{i}"] = extracted.bn_var[name]
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        _store_quietly(self.root, f"{key}.npz", buffer.getvalue())


class ResultCache:
    """Finished probe documents beside the features, keyed by everything they were computed
    from, so a repeated analysis skips the probes' arithmetic as well as the network."""

    def __init__(self, features: FeatureCache) -> None:
        self.root = features.root.parent / "probes"

    def load(self, key: str) -> str | None:
        path = self.root / f"{key}.json"
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except OSError:
            return None

    def save(self, key: str, text: str) -> None:
        _store_quietly(self.root, f"{key}.json", text.encode("utf-8"))


def extract_cached(
    paths: Sequence[str],
    digests: Sequence[bytes],
    backbone: Backbone,
    device: torch.device,
    cache: FeatureCache | None,
    on_progress: Callable[[int], None] | None = None,
) -> Extracted:
    """``extract`` behind the cache (``cache=None`` bypasses it)."""
    if cache is None:
        return extract(paths, backbone, device, on_progress=on_progress)
    key = FeatureCache.key(digests, backbone)
    hit = cache.load(key)
    if hit is not None:
        if on_progress:
            on_progress(len(paths))
        return hit
    extracted = extract(paths, backbone, device, on_progress=on_progress)
    cache.save(key, extracted)
    return extracted
