"""The training loops: every arm's trunk keeps its batch-norm statistics and trains at a fraction
of its heads' rate, in fine-tuning and in self-supervision alike."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from advisor.pilot import models, train
from advisor.pilot.interrupt import StopFlag


def _trunk() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )


def _statistics(net: nn.Module) -> list[torch.Tensor]:
    return [
        t.clone()
        for m in net.modules()
        if isinstance(m, nn.BatchNorm2d)
        for t in (m.running_mean, m.running_var)
    ]


class _Pairs(Dataset):
    """Two noisy views of each of a few random images."""

    def __init__(self) -> None:
        self.images = torch.rand(16, 3, 12, 12) * 3 + 1  # far from the initial statistics

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x = self.images[i]
        return x + 0.1 * torch.randn_like(x), x + 0.1 * torch.randn_like(x)


@pytest.fixture
def fabric():
    return train.make_fabric(torch.device("cpu"), 1)


def test_fine_tuning_keeps_the_trunks_statistics_and_trains_its_weights(fabric) -> None:
    trunk = _trunk()
    model = nn.Sequential(trunk, nn.Linear(8, 2))
    before, weights = _statistics(trunk), trunk[0].weight.detach().clone()
    data = TensorDataset(torch.rand(16, 3, 12, 12) * 3 + 1, torch.randint(0, 2, (16,)))
    train.finetune(fabric, model, DataLoader(data, batch_size=4), 3, StopFlag())
    assert all(torch.equal(a, b) for a, b in zip(before, _statistics(trunk), strict=True))
    assert not torch.equal(weights, trunk[0].weight)


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_self_supervision_keeps_the_trunks_statistics_but_the_heads_learn_theirs(
    fabric, method: str
) -> None:
    trunk = _trunk()
    module = models.ssl_module(method, trunk, 8, seed=0)
    heads = [m for m in module.modules() if isinstance(m, nn.BatchNorm1d)]
    before, head_before = _statistics(trunk), [m.running_mean.clone() for m in heads]
    weights = trunk[0].weight.detach().clone()
    train.pretrain(fabric, module, DataLoader(_Pairs(), batch_size=4), 3, StopFlag())
    assert all(torch.equal(a, b) for a, b in zip(before, _statistics(trunk), strict=True))
    assert not torch.equal(weights, trunk[0].weight)
    assert heads and all(
        not torch.equal(a, m.running_mean) for a, m in zip(head_before, heads, strict=True)
    )


def test_the_trunk_trains_at_a_fraction_of_the_heads_rate(
    fabric, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[torch.optim.Optimizer] = []
    adamw = torch.optim.AdamW

    def recording(*args, **kwargs):
        made.append(adamw(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(train.torch.optim, "AdamW", recording)
    trunk = _trunk()
    model = nn.Sequential(trunk, nn.Linear(8, 2))
    data = TensorDataset(torch.rand(8, 3, 12, 12), torch.randint(0, 2, (8,)))
    train.finetune(fabric, model, DataLoader(data, batch_size=4), 1, StopFlag())
    module = models.ssl_module("simclr", _trunk(), 8, seed=0)
    train.pretrain(fabric, module, DataLoader(_Pairs(), batch_size=4), 1, StopFlag())
    expected = [(train.FINETUNE_LR, trunk), (train.SSL_LR, module.net)]
    assert len(made) == 2
    for optimizer, (rate, net) in zip(made, expected, strict=True):
        trunk_group, head_group = optimizer.param_groups
        assert trunk_group["initial_lr"] == pytest.approx(rate * train.BACKBONE_LR_FACTOR)
        assert head_group["initial_lr"] == pytest.approx(rate)
        assert {id(p) for p in trunk_group["params"]} == {id(p) for p in net.parameters()}
