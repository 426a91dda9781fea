"""The training phases on Lightning Fabric: device, precision and multi-GPU come from Fabric;
the loops are the plain ones every arm shares."""

from __future__ import annotations

import itertools
import logging
import math
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch
from lightning_fabric import Fabric
from lightning_fabric.utilities.distributed import DistributedSamplerWrapper
from torch import nn
from torch.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    Sampler,
    WeightedRandomSampler,
)
from torchvision.transforms import v2

from advisor.pilot.interrupt import StopFlag

FINETUNE_LR = 1e-4
"""The head's learning rate in fine-tuning."""
BACKBONE_LR_FACTOR = 1 / 3
"""The trunk trains at this fraction of the heads' rate, in both phases. In fine-tuning it
starts from a head already fitted on its frozen features (``units``): linear probing then
fine-tuning (Kumar et al., ICLR 2022), which keeps the pretrained features from being distorted
while a random head is still learning; there it beat both plain fine-tuning and linear probing.
The rates, the kept batch-norm statistics and the crops were chosen on the digits demo and an
MNIST subset (the variants measured are in benchmarks/README.md)."""
CROP_SCALE = (0.7, 1.0)
"""Share of the image a fine-tuning crop keeps. Crops down to a third cut small objects out of
their own label: on the digits, fine-tuning with them ended 9 points below the frozen features it
started from, with these 1 point above."""
SSL_LR = 1e-3
"""The self-supervised heads' learning rate (the trunk's is ``BACKBONE_LR_FACTOR`` of it)."""
SSL_MIN_CROP = 0.35
"""Smallest share of the image a self-supervised view keeps: lightly's default (0.08) is made
for 224 px photos; at the pilot's 64 px it left views of a digit with no digit in them, and in a
pilot's few dozen steps the features' k-NN accuracy rose less (MNIST, continued from ImageNet:
0.70 to 0.81 with it, to 0.85 with this)."""
WEIGHT_DECAY = 1e-4
WARMUP_FRACTION = 0.05
"""Optimiser and schedule shared by every arm: AdamW, linear warm-up then cosine decay.
Conventions, the same for all arms, which is what fairness needs."""

OnStep = Callable[[int], None]
"""Called after each optimiser step with the number of steps done."""


def make_fabric(device: torch.device, devices: int, num_nodes: int = 1) -> Fabric:
    """Fabric on the device, started: with more than one process (``devices`` per node times
    ``num_nodes``) data-parallel DDP, whose launcher starts the other processes on this node by
    running the same command again (or finds them started by torchrun or SLURM, through
    Fabric's cluster environments); each then continues from here as its own rank."""
    for name in ("lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Fabric's and lightly's gathers call a torch function torch has deprecated, once a step
    warnings.filterwarnings("ignore", message=r".*all_gather is deprecated")
    accelerator = {"cuda": "cuda", "mps": "mps"}.get(device.type, "cpu")
    precision = "bf16-mixed" if device.type == "cuda" else "32-true"
    fabric = Fabric(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy="ddp" if devices * num_nodes > 1 else "auto",
        precision=precision,
    )
    fabric.launch()
    if accelerator == "cpu" and fabric.world_size > 1 and "OMP_NUM_THREADS" not in os.environ:
        # the processes on this machine share its cores (Fabric's launcher leaves each with all)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(max(1, (cores or 1) // max(1, fabric.world_size // num_nodes)))
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


def finetune_transform(resolution: int, mean, std, strong: bool = False) -> v2.Compose:
    """The augmentation family every arm fine-tunes with (torchvision); ``strong`` adds
    RandAugment (two random operations at torchvision's default magnitude), which the
    ``tl+st`` student sees on its pseudo-labeled images: the noise on the student's input that
    makes it learn more than its teacher knew (FixMatch; Noisy Student). Without it the student
    fell behind (``selftrain``'s protocol: +0.8 on digits and -1.3 on MNIST against ``tl``,
    with it +1.0 and +0.3)."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(resolution, scale=CROP_SCALE, antialias=True),
            v2.RandomHorizontalFlip(),
            *([v2.RandAugment()] if strong else []),
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


def loader(
    dataset: Dataset,
    batch: int,
    seed: int,
    workers: int,
    sampler: Sampler | None = None,
    shard: tuple[int, int] = (0, 1),
) -> DataLoader:
    """Shuffled batches of ``dataset``, or drawn by ``sampler`` when one is given. ``shard``:
    this process's rank and the number of processes; with more than one, each process draws
    its share of every batch (the batch is the same size in all, so that the steps are the
    one-process run's), from the same seeded order."""
    rank, world = shard
    if world > 1:
        batch = max(1, batch // world)
        if sampler is None:
            sampler = DistributedSampler(
                dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
            )
        else:  # every process draws the same sequence (same seed) and keeps its positions
            sampler = DistributedSamplerWrapper(sampler, num_replicas=world, rank=rank)
    return DataLoader(
        dataset,
        batch_size=min(batch, len(sampler) if sampler is not None else len(dataset)),
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=True,
        num_workers=workers,
        worker_init_fn=_single_threaded if workers else None,
        persistent_workers=bool(workers),
        generator=torch.Generator().manual_seed(seed),
    )


def labeled_loader(
    pixels, labels, index, transform, batch, seed, workers, shard=(0, 1)
) -> DataLoader:
    return loader(_Labeled(pixels, labels, index, transform), batch, seed, workers, shard=shard)


def mixed_loader(
    pixels: torch.Tensor,
    labeled: tuple[np.ndarray, np.ndarray, object],
    pseudo: tuple[np.ndarray, np.ndarray, object],
    share: float,
    batch: int,
    seed: int,
    workers: int,
    shard: tuple[int, int] = (0, 1),
) -> DataLoader:
    """Batches of labeled and pseudo-labeled images, each ``(labels, index, transform)`` (an
    index may repeat an image), drawn with replacement so that on average ``share`` of a batch
    is pseudo-labeled whatever the two sets' sizes; the batch itself stays the size every arm
    trains with."""
    labels, index, transform = labeled
    pseudo_labels, pseudo_index, strong = pseudo
    if not len(pseudo_index):
        return labeled_loader(pixels, labels, index, transform, batch, seed, workers, shard)
    both = ConcatDataset(
        [
            _Labeled(pixels, labels, index, transform),
            _Labeled(pixels, pseudo_labels, pseudo_index, strong),
        ]
    )
    weights = np.concatenate(
        [
            np.full(len(index), (1 - share) / len(index)),
            np.full(len(pseudo_index), share / len(pseudo_index)),
        ]
    )
    sampler = WeightedRandomSampler(
        weights.tolist(), len(both), replacement=True, generator=torch.Generator().manual_seed(seed)
    )
    return loader(both, batch, seed, workers, sampler, shard)


def views_loader(pixels, index, transform, batch, seed, workers, shard=(0, 1)) -> DataLoader:
    return loader(_Views(pixels, index, transform), batch, seed, workers, shard=shard)


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


def _rates(trunk: nn.Module, heads, rate: float) -> list[dict]:
    """Parameter groups: the heads at ``rate``, the trunk at ``BACKBONE_LR_FACTOR`` of it."""
    trunk_params = [p for p in trunk.parameters() if p.requires_grad]
    return [
        {"params": trunk_params, "lr": rate * BACKBONE_LR_FACTOR},
        {"params": list(heads), "lr": rate},
    ]


def _train_keeping_statistics(model: nn.Module) -> None:
    """Train mode, except that every 2-d batch-norm layer (the trunk's) normalises with the
    statistics it has and leaves them as they are; the heads' 1-d ones learn theirs."""
    model.train()
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.eval()


def finetune(
    fabric: Fabric,
    model: nn.Sequential,
    batches: DataLoader,
    steps: int,
    stop: StopFlag,
    on_step: OnStep | None = None,
    halfway: Callable[[], None] | None = None,
) -> float:
    """Cross-entropy fine-tuning of the whole network (``model``: the trunk, then the head), the
    trunk at a fraction of the head's rate, its batch-norm statistics kept as the arm started
    with them; returns the last loss.

    Why keep them: in train mode, batch-norm layers normalise each batch of 32 by its own
    statistics while their running averages, which evaluation uses, lag behind; in a pilot's few
    dozen steps that mismatch was the whole story. With the statistics kept, fine-tuning the
    pretrained network ended at 89% on the digits and 83% on MNIST (frozen features: 88% and
    84%); in train mode at 18% and 28%. Re-estimating the statistics on the fine-tuning images
    first (AdaBN) was worse still for the pretrained start (48%, 61%).

    ``halfway`` is called once, after half the steps (a reading of the network so far)."""
    optimizer = torch.optim.AdamW(
        _rates(model[0], model[1].parameters(), FINETUNE_LR), weight_decay=WEIGHT_DECAY
    )
    scheduler = _schedule(optimizer, steps)
    model, optimizer = fabric.setup(model, optimizer)
    batches = fabric.setup_dataloaders(batches, use_distributed_sampler=False)
    criterion = nn.CrossEntropyLoss()
    _train_keeping_statistics(model)
    loss = torch.tensor(float("nan"))
    for step, (x, y) in zip(range(steps), _forever(batches), strict=False):
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        fabric.backward(loss)
        optimizer.step()
        scheduler.step()
        if halfway is not None and step + 1 == steps // 2:
            halfway()
            _train_keeping_statistics(model)
        if on_step is not None:
            on_step(step + 1)
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
    on_step: OnStep | None = None,
) -> float:
    """Self-supervised phase, the trunk (``module.net``) at a fraction of the heads' rate and
    its batch-norm statistics kept, as in fine-tuning; ``at(step)`` is called at each of
    ``points`` (learning curve).

    Why keep them here too: with batch statistics of 32 augmented views, a pilot's few dozen
    steps of SimCLR lowered the features' k-NN accuracy (digits, continued from ImageNet: 0.66
    to 0.38; from scratch: 0.61 to 0.24); with the statistics kept and the trunk at a third of
    the rate they raised it (0.66 to 0.77; 0.61 to 0.71)."""
    trunk = module.net
    heads = [p for name, p in module.named_parameters() if not name.startswith("net.")]
    optimizer = torch.optim.AdamW(
        _rates(trunk, [p for p in heads if p.requires_grad], SSL_LR), weight_decay=WEIGHT_DECAY
    )
    scheduler = _schedule(optimizer, steps)
    model, optimizer = fabric.setup(module, optimizer)
    batches = fabric.setup_dataloaders(batches, use_distributed_sampler=False)
    loss = torch.tensor(float("nan"))
    for step, views in zip(range(steps), _forever(batches), strict=False):
        if at is not None and step in points:
            at(step)
        _train_keeping_statistics(model)
        optimizer.zero_grad(set_to_none=True)
        loss = model(views, step, steps)
        fabric.backward(loss)
        optimizer.step()
        scheduler.step()
        module.after_step(step, steps)
        if on_step is not None:
            on_step(step + 1)
        stop.check()
    if at is not None and steps in points:
        at(steps)
    return float(loss.detach())


@torch.no_grad()
def outputs(
    fabric: Fabric, model: nn.Module, pixels: torch.Tensor, index: np.ndarray, transform, batch: int
) -> np.ndarray:
    """The model's outputs (logits or features) for the images, in eval mode, no augmentation.
    With more than one process each computes every ``world``-th image and the outputs are
    gathered, so that every process holds them all, in order."""
    world, rank = fabric.world_size, fabric.global_rank
    if world == 1 or not len(index):
        return _outputs(fabric, model, pixels, index, transform, batch)
    share = -(-len(index) // world)
    mine = np.resize(index, share * world)[rank::world]  # the tail padded with repeats
    local = torch.from_numpy(_outputs(fabric, model, pixels, mine, transform, batch))
    gathered = fabric.all_gather(local.to(fabric.device)).cpu()  # (world, share, width)
    return gathered.transpose(0, 1).reshape(share * world, -1)[: len(index)].numpy()


def _outputs(
    fabric: Fabric, model: nn.Module, pixels: torch.Tensor, index: np.ndarray, transform, batch: int
) -> np.ndarray:
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
