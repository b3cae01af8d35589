"""User code for the tests, imported by path (``tests.training.userjobs:NAME``) on workers."""

from __future__ import annotations

import torch
from torch import nn

from tasks.training.spec import JobSpec
from tasks.training.workloads import Workload, digits


def build(spec: JobSpec) -> Workload:
    """A linear model on digits: the shape real user code has."""
    torch.manual_seed(spec.seed)
    train, test = digits(spec.seed)
    return Workload(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), train, test, nn.functional.cross_entropy
    )


def broken_build(spec: JobSpec) -> Workload:
    """User code whose build raises."""
    raise RuntimeError("dataset shard missing: /no/such/shard")


class _Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > 5:
            raise ValueError("loss became NaN in user forward")
        return self.lin(x.flatten(1))


def exploding_build(spec: JobSpec) -> Workload:
    """User code whose forward raises after a few steps."""
    train, test = digits(spec.seed)
    return Workload(_Exploding(), train, test, nn.functional.cross_entropy)
