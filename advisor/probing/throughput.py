"""How fast the chosen backbone runs on this device, forward alone and in training: what the
cost forecast divides by, and what forecasts a pilot's steps before it runs.

Timed on synthetic batches, because the arithmetic of a network does not depend on its pixels,
at the pilot's input size and at the full-scale run's, so that either can be read without
carrying a rate across resolutions; on a copy of the network, because a training step changes
the weights the probes read."""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from advisor.probing.backbone import Backbone
from advisor.schema.cost import Throughput
from advisor.schema.vocabulary import FULL_SCALE_RESOLUTION, PILOT_CPU_BATCH, PILOT_CPU_RESOLUTION

CPU_TIMED_BATCH = 8
"""Images per timed batch at 224 px on a CPU: a training step of EfficientNet-Lite0 takes about
1.3 s there on two cores; at the pilot's 64 px the pilot's own batch is timed."""

GPU_TIMED_BATCH = 64

TIMED_STEPS = 3
"""Steps timed one by one after a warm-up step (which allocates memory and picks kernels); their
median is the reading, so that one step slowed by something else on the machine does not set
it."""


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a step's time is its work and not its
    enqueueing."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _seconds(step: Callable[[], None], device: torch.device) -> float:
    def one() -> float:
        start = time.perf_counter()
        step()
        _synchronize(device)
        return time.perf_counter() - start

    one()  # warm-up
    return statistics.median(one() for _ in range(TIMED_STEPS))


def rates(model: nn.Module, device: torch.device, side: int, batch: int) -> tuple[float, float]:
    """Forward and training images/s at ``side`` px."""
    x = torch.randn(batch, 3, side, side, device=device)
    autocast = torch.autocast(device.type, enabled=device.type == "cuda")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)

    def forward() -> None:
        with torch.inference_mode(), autocast:
            model(x)

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = model(x).float().square().mean()
        loss.backward()
        optimizer.step()

    model.eval()
    forward_seconds = _seconds(forward, device)
    model.train()
    train_seconds = _seconds(train, device)
    return batch / forward_seconds, batch / train_seconds


def throughput_sizes(device: torch.device) -> list[int]:
    """The input sizes timed: the pilot's on this device, and the full-scale run's."""
    pilot = PILOT_CPU_RESOLUTION if device.type == "cpu" else FULL_SCALE_RESOLUTION
    return sorted({pilot, FULL_SCALE_RESOLUTION})


_TIMED: dict[tuple[str, str, str, str, int], Throughput | None] = {}
"""Readings already taken in this process: the same network on the same device and threads is
timed once (an analysis and its pilot, or a notebook that analyses several folders)."""


def measure_throughput(
    backbone: Backbone,
    device: torch.device,
    architecture: str,
    on_size: Callable[[int], None] | None = None,
) -> Throughput | None:
    """Images/s of ``backbone`` on ``device`` at the pilot's and the full-scale input sizes;
    ``on_size(1)`` after each size is timed. A size the network cannot take (a transformer
    built for another input size) is left out; None when it takes neither."""
    key = (backbone.spec, backbone.weights_id, architecture, str(device), torch.get_num_threads())
    if key not in _TIMED:
        _TIMED[key] = _measure(backbone, device, architecture, on_size)
    elif on_size is not None:
        on_size(len(throughput_sizes(device)))
    return _TIMED[key]


def _measure(
    backbone: Backbone,
    device: torch.device,
    architecture: str,
    on_size: Callable[[int], None] | None,
) -> Throughput | None:
    # the default memory layout, as the pilot trains in: the probes leave the network
    # channels-last, which with these inputs runs several times slower on a CPU
    model = copy.deepcopy(backbone.model).to(device, memory_format=torch.contiguous_format)
    cpu = device.type == "cpu"
    sizes = throughput_sizes(device)
    if cpu:
        batches = [PILOT_CPU_BATCH if s == PILOT_CPU_RESOLUTION else CPU_TIMED_BATCH for s in sizes]
    else:
        batches = [GPU_TIMED_BATCH for _ in sizes]
    forward, train, timed, used = [], [], [], []
    for side, batch in zip(sizes, batches, strict=True):
        try:
            f, t = rates(model, device, side, batch)
        except (RuntimeError, AssertionError):  # a network built for one input size only
            continue
        finally:
            if on_size is not None:
                on_size(1)
        forward.append(float(f"{f:.4g}"))
        train.append(float(f"{t:.4g}"))
        timed.append(side)
        used.append(batch)
    if not timed:
        return None
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    threads = f", {torch.get_num_threads()} threads" if cpu else ""
    return Throughput(
        architecture=architecture,
        device=f"this machine's {name}{threads}",
        batch_sizes=used,
        resolutions=timed,
        forward=forward,
        train=train,
        basis=f"timed here on synthetic batches at {', '.join(f'{s} px' for s in timed)}, "
        "after a warm-up step",
    )
