"""Batched feature extraction on the chosen device.

One pass through the backbone gives what every probe needs: the penultimate features, the
source head's logits and, through pre-hooks on the batch-norm layers, the per-channel
statistics of the activations entering them (compared later with the running statistics the
backbone kept from its source data).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from advisor.data.images import open_rgb
from advisor.probing.backbone import Backbone

BN_STAT_IMAGES = 256
"""Batch-norm statistics are gathered on this many images only, taken in a seeded shuffled order
so that every class is among them: the hooks cost two thirds of a forward pass while active, and
the means and variances settle within a few hundred images (the probes benchmark's 1,600
labeled shapes at 160 px: divergence 0.1033-0.1051 from three draws of 256, 0.1023-0.1044 from
512, 0.1028 from all 1,600; the first 512 in folder order, three classes of eight, gave 0.1063)."""


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
