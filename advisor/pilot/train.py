"""The training phases on Lightning Fabric: device, precision and multi-GPU come from Fabric;
the loops are the plain ones every arm shares."""

from __future__ import annotations

import itertools
import logging
import math
import signal
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from lightning_fabric import Fabric
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from advisor.pilot.interrupt import StopFlag

FINETUNE_LR = 1e-3
SSL_LR = 1e-3
WEIGHT_DECAY = 1e-4
WARMUP_FRACTION = 0.05
"""Optimiser and schedule shared by every arm: AdamW, linear warm-up then cosine decay.
Conventions, the same for all arms, which is what fairness needs."""


def make_fabric(device: torch.device, devices: int) -> Fabric:
    for name in ("lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    accelerator = {"cuda": "cuda", "mps": "mps"}.get(device.type, "cpu")
    precision = "bf16-mixed" if device.type == "cuda" else "32-true"
    fabric = Fabric(accelerator=accelerator, devices=devices, precision=precision)
    fabric.launch()
    return fabric


class _Labeled(Dataset):
    def __init__(self, pixels: torch.Tensor, labels: np.ndarray, index: np.ndarray, transform):
        self.pixels, self.labels, self.index, self.transform = pixels, labels, index, transform

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        j = self.index[i]
        return self.transform(self.pixels[j]), int(self.labels[j])


class _Views(Dataset):
    def __init__(self, pixels: torch.Tensor, index: np.ndarray, transform):
        self.pixels, self.index, self.transform = pixels, index, transform

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        return self.transform(self.pixels[self.index[i]])


def finetune_transform(resolution: int, mean, std) -> v2.Compose:
    """The augmentation family every arm fine-tunes with (torchvision)."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(resolution, scale=(0.35, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(mean), list(std)),
        ]
    )


def eval_transform(mean, std) -> v2.Compose:
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


def _single_threaded(_worker: int) -> None:
    """Loader workers take one thread (the training step has the cores) and leave Ctrl-C to
    the main process, which finishes its step and saves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def loader(dataset: Dataset, batch: int, seed: int, workers: int) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=min(batch, len(dataset)),
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        worker_init_fn=_single_threaded if workers else None,
        persistent_workers=bool(workers),
        generator=torch.Generator().manual_seed(seed),
    )


def labeled_loader(pixels, labels, index, transform, batch, seed, workers) -> DataLoader:
    return loader(_Labeled(pixels, labels, index, transform), batch, seed, workers)


def views_loader(pixels, index, transform, batch, seed, workers) -> DataLoader:
    return loader(_Views(pixels, index, transform), batch, seed, workers)


def _forever(batches: DataLoader) -> Iterator:
    for _epoch in itertools.count():
        yield from batches


def _schedule(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, int(steps * WARMUP_FRACTION))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def finetune(
    fabric: Fabric, model: nn.Module, batches: DataLoader, steps: int, stop: StopFlag
) -> float:
    """Cross-entropy fine-tuning of the whole network; returns the last loss."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=FINETUNE_LR, weight_decay=WEIGHT_DECAY)
    scheduler = _schedule(optimizer, steps)
    model, optimizer = fabric.setup(model, optimizer)
    batches = fabric.setup_dataloaders(batches)
    criterion = nn.CrossEntropyLoss()
    model.train()
    loss = torch.tensor(float("nan"))
    for _step, (x, y) in zip(range(steps), _forever(batches), strict=False):
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        fabric.backward(loss)
        optimizer.step()
        scheduler.step()
        stop.check()
    return float(loss.detach())


def pretrain(
    fabric: Fabric,
    module: nn.Module,
    batches: DataLoader,
    steps: int,
    stop: StopFlag,
    at: Callable[[int], None] | None = None,
    points: tuple[int, ...] = (),
) -> float:
    """Self-supervised phase; ``at(step)`` is called at each of ``points`` (learning curve)."""
    optimizer = torch.optim.AdamW(
        [p for p in module.parameters() if p.requires_grad], lr=SSL_LR, weight_decay=WEIGHT_DECAY
    )
    scheduler = _schedule(optimizer, steps)
    model, optimizer = fabric.setup(module, optimizer)
    batches = fabric.setup_dataloaders(batches)
    loss = torch.tensor(float("nan"))
    for step, views in zip(range(steps), _forever(batches), strict=False):
        if at is not None and step in points:
            at(step)
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = model(views, step, steps)
        fabric.backward(loss)
        optimizer.step()
        scheduler.step()
        module.after_step(step, steps)
        stop.check()
    if at is not None and steps in points:
        at(steps)
    return float(loss.detach())


@torch.no_grad()
def outputs(
    fabric: Fabric, model: nn.Module, pixels: torch.Tensor, index: np.ndarray, transform, batch: int
) -> np.ndarray:
    """The model's outputs (logits or features) for the images, in eval mode, no augmentation."""
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(index), batch):
        x = torch.stack([transform(pixels[j]) for j in index[start : start + batch]])
        x = x.to(fabric.device)
        with fabric.autocast():
            chunks.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(chunks).numpy() if chunks else np.empty((0, 0))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
