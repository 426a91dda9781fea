"""The arms' networks and heads."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_a_seed_builds_the_same_self_supervised_heads_whatever_ran_before(method: str) -> None:
    from advisor.pilot import models

    def parameters() -> list[torch.Tensor]:
        torch.rand(17)  # whatever ran before moves the global random state
        module = models.ssl_module(method, torch.nn.Identity(), 8, seed=3)
        return [p.detach().clone() for p in module.parameters()]

    first, second = parameters(), parameters()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    other = models.ssl_module(method, torch.nn.Identity(), 8, seed=4)
    assert not all(torch.equal(a, b) for a, b in zip(first, other.parameters(), strict=True))
