"""The arms' networks: one architecture for all, pretrained or untrained, with lightly's
self-supervised heads, losses and views."""

from __future__ import annotations

import copy
import warnings

import torch
from lightly.loss import NegativeCosineSimilarity, NTXentLoss
from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead, SimCLRProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.transforms import (
    BYOLTransform,
    BYOLView1Transform,
    BYOLView2Transform,
    SimCLRTransform,
)
from lightly.utils.scheduler import cosine_schedule
from torch import nn

from advisor.errors import InputError
from advisor.pilot import train
from advisor.probing.backbone import Backbone
from advisor.probing.sources import random_counterpart

warnings.filterwarnings("ignore", message="The function `to_tensor", category=UserWarning)
"""lightly's view transforms call a torchvision function that torchvision now marks deprecated;
the warning is theirs to fix and would otherwise repeat once per image on stderr."""


def trunk(backbone: Backbone, pretrained: bool, seed: int) -> tuple[nn.Module, int]:
    """A trainable copy of the network that outputs its penultimate features, and their size.
    The untrained copy depends only on ``seed``, so scratch and ssl start from the same weights."""
    source = backbone if pretrained else random_counterpart(backbone, seed)
    model = copy.deepcopy(source.model)
    name = next(
        (n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None
    )
    if name is None:
        raise InputError(f"{backbone.spec}: no final linear layer to replace with a new head")
    head = model.get_submodule(name)
    parent_name, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attribute, nn.Identity())
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model.train(), head.in_features


def classifier(net: nn.Module, dim: int, classes: int, seed: int) -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(dim, classes)
    return nn.Sequential(net, head)


class SimCLR(nn.Module):
    def __init__(self, net: nn.Module, dim: int) -> None:
        super().__init__()
        self.net = net
        self.head = SimCLRProjectionHead(dim, 512, 128)
        # negatives from every process's share of the batch, so that a batch split across
        # processes has the same negatives as in one process
        self.criterion = NTXentLoss(temperature=0.5, gather_distributed=True)

    def forward(self, views: list[torch.Tensor], step: int, steps: int) -> torch.Tensor:
        """The loss of a batch of view pairs (computed in forward, so that Fabric's wrapper,
        and with it mixed precision and DDP, sees the whole computation)."""
        z0, z1 = (self.head(self.net(view)) for view in views)
        return self.criterion(z0, z1)

    def after_step(self, step: int, steps: int) -> None:
        """SimCLR has no momentum encoder to update."""


class BYOL(nn.Module):
    def __init__(self, net: nn.Module, dim: int) -> None:
        super().__init__()
        self.net = net
        self.projection = BYOLProjectionHead(dim, 1024, 256)
        self.prediction = BYOLPredictionHead(256, 1024, 256)
        self.net_momentum = copy.deepcopy(net)
        self.projection_momentum = copy.deepcopy(self.projection)
        deactivate_requires_grad(self.net_momentum)
        deactivate_requires_grad(self.projection_momentum)
        self.criterion = NegativeCosineSimilarity()

    def _online(self, x: torch.Tensor) -> torch.Tensor:
        return self.prediction(self.projection(self.net(x)))

    def _target(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.projection_momentum(self.net_momentum(x)).detach()

    def forward(self, views: list[torch.Tensor], step: int, steps: int) -> torch.Tensor:
        x0, x1 = views
        p0, p1 = self._online(x0), self._online(x1)
        return 0.5 * (self.criterion(p0, self._target(x1)) + self.criterion(p1, self._target(x0)))

    def after_step(self, step: int, steps: int) -> None:
        momentum = cosine_schedule(step, max(steps, 1), 0.99, 1.0)
        update_momentum(self.net, self.net_momentum, m=momentum)
        update_momentum(self.projection, self.projection_momentum, m=momentum)


def ssl_module(method: str, net: nn.Module, dim: int, seed: int) -> SimCLR | BYOL:
    """The trunk with the method's heads, initialised from ``seed`` alone (the global random
    state untouched), so that a seed's self-supervised arm is the same run every time."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SimCLR(net, dim) if method == "simclr" else BYOL(net, dim)


def views(method: str, resolution: int, mean, std):
    """lightly's view pair for the method, normalised like the backbone's weights expect."""
    normalize = {"mean": list(mean), "std": list(std)}
    if method == "simclr":
        return SimCLRTransform(
            input_size=resolution, min_scale=train.SSL_MIN_CROP, normalize=normalize
        )
    return BYOLTransform(
        view_1_transform=BYOLView1Transform(
            input_size=resolution, min_scale=train.SSL_MIN_CROP, normalize=normalize
        ),
        view_2_transform=BYOLView2Transform(
            input_size=resolution, min_scale=train.SSL_MIN_CROP, normalize=normalize
        ),
    )
