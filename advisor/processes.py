"""How this process runs beside others: the wait policy of its CPU threads, set before the
OpenMP runtime starts, and its rank among the processes of a multi-process pilot, known before
any training library is imported.

PyTorch runs each operation on one thread per core, and by default a thread that finishes its
share spins, waiting for the others, rather than sleeping. When another process holds a core,
the thread waiting on a descheduled partner spins away the time that partner needs: on two
cores beside another pilot training, a pilot of 20 fine-tuning steps at 32 px took 223 s with
two spinning threads, 46 s with one thread, and 30 s with two threads that sleep while they
wait (a step calibrated at 2.30 s, six times its quiet speed, was reported from such a machine).
On a quiet machine sleeping threads cost about a quarter of the speed (fine-tuning steps at
64 px: 71 images/s against 94), which a user with the machine to themselves can take back with
``OMP_WAIT_POLICY=ACTIVE``; a pilot that must keep to its budget whatever else runs is worth it.
"""

from __future__ import annotations

import os

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")
"""Where the launchers Lightning Fabric works with number their processes (torchrun, Fabric's
own, SLURM, LSF), in the order Fabric reads them."""


def wait_passively() -> bool:
    """Make OpenMP's idle threads sleep rather than spin, unless the user chose a policy.
    Takes effect only before the runtime loads (before torch is imported); returns whether it
    was set here."""
    if "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def is_primary() -> bool:
    """Whether this is the first process of a pilot as its launcher numbered it (a process no
    launcher started is): the one that prepares the output folder and prints, decided before
    the training libraries load, and checked against Fabric's own rank once it starts."""
    for name in RANK_VARIABLES:
        if name in os.environ:
            return os.environ[name] == "0"
    return True
