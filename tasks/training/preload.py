"""Dask worker preload: import the training stack before the worker takes tasks.

``cluster up`` starts each PU worker with ``--preload tasks.training.preload``, so the
seconds torch needs to import are paid when the worker (or a restarted one) starts, not
while the other ranks of a job wait at the rendezvous.

Example:
    $ dask worker tcp://127.0.0.1:8786 --preload tasks.training.preload --resources PU=1
"""

from __future__ import annotations

from typing import Any


def dask_setup(worker: Any) -> None:
    """Import torch, torch.distributed and the built-in workloads' data loaders."""
    import sklearn.datasets  # noqa: F401
    import torch
    import torch.distributed  # noqa: F401
    from torch.nn.parallel import DistributedDataParallel  # noqa: F401

    import tasks.training.loop
    import tasks.training.rank
    import tasks.training.workloads  # noqa: F401
