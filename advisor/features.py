"""Sampling, batched feature extraction on the chosen device, and the on-disk feature cache.

One pass through the backbone gives what every probe needs: the penultimate features, the
source head's logits and, through pre-hooks on the batch-norm layers, the per-channel
statistics of the activations entering them (compared later with the running statistics the
backbone kept from its source data).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platformdirs
import torch
from torch.utils.data import DataLoader, Dataset

from advisor.backbones import Backbone
from advisor.errors import InputError
from advisor.images import open_rgb
from advisor.output import write_bytes_atomically

CACHE_FORMAT = "2"
"""Bumped whenever what is cached changes meaning, so old entries are never misread."""

BN_STAT_IMAGES = 256
"""Batch-norm statistics are gathered on this many images only, taken in a seeded shuffled order
so that every class is among them: the hooks cost two thirds of a forward pass while active, and
the means and variances settle within a few hundred images (the probes benchmark's 1,600
labeled shapes at 160 px: divergence 0.1033-0.1051 from three draws of 256, 0.1023-0.1044 from
512, 0.1028 from all 1,600; the first 512 in folder order, three classes of eight, gave 0.1063)."""


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then Apple's MPS, then the CPU; asking for one that is missing is an
    input error rather than a silent fallback, because the user asked for it by name."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available here (use --device cpu)")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise InputError("--device mps: Apple's MPS is not available here (use --device cpu)")
    if name not in ("cpu", "cuda", "mps"):
        raise InputError(f"--device must be auto, cpu, cuda or mps, not {name!r}")
    return torch.device(name)


def stratified_sample(labels: Sequence[str | None], limit: int, seed: int) -> list[int]:
    """Indices of at most ``limit`` labeled items, every class represented in proportion to its
    size but with at least min(size, 5) items, so that rare classes still reach the probes."""
    if limit <= 0:
        raise InputError("--sample must be a positive number of images")
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if label is not None:
            by_class.setdefault(label, []).append(index)
    total = sum(len(v) for v in by_class.values())
    if total <= limit:
        return sorted(i for members in by_class.values() for i in members)
    chosen: list[int] = []
    for members in by_class.values():
        share = max(min(len(members), 5), round(limit * len(members) / total))
        chosen += rng.choice(members, size=min(share, len(members)), replace=False).tolist()
    if len(chosen) > limit:
        chosen = rng.choice(chosen, size=limit, replace=False).tolist()
    return sorted(chosen)


def random_sample(indices: Sequence[int], limit: int, seed: int) -> list[int]:
    """At most ``limit`` of ``indices``, chosen with the seed, in their original order."""
    if len(indices) <= limit:
        return list(indices)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(list(indices), size=limit, replace=False).tolist())


@dataclass
class Extracted:
    """What one pass through a backbone gave for a list of images (row order kept)."""

    features: np.ndarray
    logits: np.ndarray | None
    bn_mean: dict[str, np.ndarray] = field(default_factory=dict)
    bn_var: dict[str, np.ndarray] = field(default_factory=dict)
    cached: bool = False


class _Images(Dataset):
    def __init__(self, paths: Sequence[str], transform: Callable) -> None:
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(open_rgb(self.paths[index]))


class _BatchNormStatistics:
    """Per-channel sums of the inputs of every batch-norm layer, accumulated in float64."""

    def __init__(self, backbone: Backbone) -> None:
        self.sums: dict[str, list] = {}
        self.handles = [
            module.register_forward_pre_hook(self._hook(name))
            for name, module in backbone.batchnorm_layers()
        ]
        self.active = bool(self.handles)

    def _hook(self, name: str) -> Callable:
        def record(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            if not self.active:
                return
            x = inputs[0].detach().float()
            count = x.shape[0] * x.shape[2] * x.shape[3]
            first, second = x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3))
            entry = self.sums.setdefault(name, [0.0, 0.0, 0])
            entry[0] = entry[0] + first.double().cpu()
            entry[1] = entry[1] + second.double().cpu()
            entry[2] += count

        return record

    def result(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        means, variances = {}, {}
        for name, (first, second, count) in self.sums.items():
            mean = first / count
            means[name] = mean.numpy()
            variances[name] = torch.clamp(second / count - mean * mean, min=0).numpy()
        return means, variances

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def extract(
    paths: Sequence[str],
    backbone: Backbone,
    device: torch.device,
    batch_size: int = 64,
    on_progress: Callable[[int], None] | None = None,
) -> Extracted:
    """Features, source logits and batch-norm input statistics of ``paths``, batched through a
    DataLoader (on a GPU: decoding in worker processes, pinned memory, autocast). Rows come back
    in the order of ``paths`` whatever order the images went through the network in."""
    layout = _memory_format(device)
    backbone.model.to(device, memory_format=layout).eval()
    workers = _loader_workers(device)
    # a fixed seed, not the analysis's: the feature cache is keyed without one
    order = np.random.default_rng(0).permutation(len(paths))
    loader = DataLoader(
        _Images(paths, backbone.preprocessing.pixels()),
        sampler=order.tolist(),
        batch_size=batch_size,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        worker_init_fn=_single_threaded if workers else None,
    )
    normalize = backbone.preprocessing.normalize()
    statistics = _BatchNormStatistics(backbone)
    features, logits = [], []
    seen = 0
    try:
        with torch.inference_mode(), torch.autocast(device.type, enabled=device.type == "cuda"):
            for batch in loader:
                statistics.active = statistics.active and seen < BN_STAT_IMAGES
                pixels = batch.to(device, non_blocking=True).contiguous(memory_format=layout)
                f, z = backbone.features_and_logits(normalize(pixels))
                features.append(f.float().cpu())
                if z is not None:
                    logits.append(z.float().cpu())
                seen += len(batch)
                if on_progress:
                    on_progress(len(batch))
    finally:
        statistics.close()
    means, variances = statistics.result()
    return Extracted(
        features=_in_order(torch.cat(features).numpy(), order),
        logits=_in_order(torch.cat(logits).numpy(), order) if logits else None,
        bn_mean=means,
        bn_var=variances,
    )


def _in_order(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Rows computed in ``order`` put back where their images are in the input."""
    placed = np.empty_like(rows)
    placed[order] = rows
    return placed


def _memory_format(device: torch.device) -> torch.memory_format:
    """Channels-last on the CPU and CUDA, where the convolution libraries have kernels for it:
    EfficientNet-Lite0 at 160 px, batch 64, on two CPU cores runs a batch in 0.32 s instead of
    0.44 s (the same outputs to 1e-5). Other devices keep the default layout."""
    return torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format


def _single_threaded(_worker: int) -> None:
    # Each decoding worker already has a core of its own; with torch's default threads, every
    # one of them would start a thread per core.
    torch.set_num_threads(1)


def _loader_workers(device: torch.device) -> int:
    """Decoding runs beside the network on a GPU, where every spare core helps. On a CPU it runs
    in this process between batches: a worker process would share the cores with the forward
    pass, and after forking, every page of this process's heap the pass writes to is copied
    once more (2,000 images at 160 px on two cores: 27.6 s with one worker, 20.8 s without;
    the untrained baseline's 128 images 4.2 s and 1.2 s)."""
    if device.type == "cpu":
        return 0
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    return min(8, max(1, cores - 1))


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
