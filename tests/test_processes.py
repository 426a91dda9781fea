"""The OpenMP wait policy the command sets before torch loads, and the rank it reads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from advisor.processes import is_primary, wait_passively


def test_a_policy_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert not wait_passively()
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert wait_passively()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.subprocess
def test_the_command_sets_it_before_torch_loads() -> None:
    """``advisor`` itself: torch is not imported before the command's entry point has run."""
    probe = (
        "import sys, os; os.environ.pop('OMP_WAIT_POLICY', None); import advisor.cli as c; "
        "assert 'torch' not in sys.modules; c.wait_passively(); "
        "print(os.environ['OMP_WAIT_POLICY'])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PASSIVE"


@pytest.mark.parametrize(
    ("env", "primary"),
    [
        ({}, True),
        ({"LOCAL_RANK": "1"}, False),
        ({"RANK": "0", "LOCAL_RANK": "1"}, True),
        ({"SLURM_PROCID": "3"}, False),
    ],
)
def test_the_rank_comes_from_the_launchers_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], primary: bool
) -> None:
    from advisor.processes import RANK_VARIABLES

    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert is_primary() is primary
