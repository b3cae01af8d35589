"""Named scheduling policies, so the simulator, the CLI and benchmarks pick them by name.

Each entry builds a fresh policy (some, like Tiresias, keep state between calls).

Example:
    >>> get_policy("optimus").name
    'optimus'
"""

from __future__ import annotations

from collections.abc import Callable

from tasks.sched.baselines import FifoPolicy, OptimusOraclePolicy, TiresiasPolicy
from tasks.sched.doubling import DoublingPolicy
from tasks.sched.doubling_variants import DoublingVariant
from tasks.sched.policy import Policy

POLICIES: dict[str, Callable[[], Policy]] = {
    "fifo": FifoPolicy,
    "optimus": OptimusOraclePolicy,
    "tiresias": TiresiasPolicy,
    "doubling": DoublingPolicy,
    "doubling-srtf": lambda: DoublingVariant(score="rate", name="doubling-srtf"),
    "doubling-goodput": lambda: DoublingVariant(
        score="claims", goodput=True, name="doubling-goodput"
    ),
    "doubling-restart-aware": lambda: DoublingVariant(
        score="claims", restart_s=30.0, name="doubling-restart-aware"
    ),
    "doubling-srtf-goodput": lambda: DoublingVariant(
        score="rate", goodput=True, name="doubling-srtf-goodput"
    ),
    "doubling-plus": lambda: DoublingVariant(
        score="rate", goodput=True, restart_s=300.0, name="doubling-plus"
    ),
}


def get_policy(name: str) -> Policy:
    """Build the policy registered under ``name``.

    Raises:
        ValueError: unknown name; the message lists the known ones.

    Example:
        >>> get_policy("nope")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: unknown policy 'nope'; known: fifo, optimus, tiresias
    """
    try:
        factory = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(sorted(POLICIES))}") from None
    return factory()
