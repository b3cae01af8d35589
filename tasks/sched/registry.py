"""Named scheduling policies, so the simulator, the CLI and benchmarks pick them by name.

Each entry builds a fresh policy (some, like Tiresias, keep state between calls). A policy
is ``oracle`` (it plans with the simulator's true remaining work and step times, which no
running cluster has: an upper bound) or ``online`` (it plans from estimates a running system
can form, or from nothing but the jobs' requests and attained service).

Example:
    >>> get_policy("optimus").name
    'optimus'
"""

from __future__ import annotations

from collections.abc import Callable

from tasks.sched.baselines import FifoPolicy, OptimusOraclePolicy, TiresiasPolicy
from tasks.sched.doubling import DoublingPolicy
from tasks.sched.doubling_variants import DoublingVariant
from tasks.sched.online import information_of
from tasks.sched.policy import Policy

# Restart charge of ``doubling-online`` in restarts: 200 s against the simulator's 30 s
# restarts, chosen on workloads 1-4 (docs/sched-core.md). A cluster whose restarts take a
# second charges a few seconds.
ONLINE_RESTART_FACTOR = 200.0 / 30.0

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
    # Online: plan from estimates fitted to each job's own observations (no oracle).
    "doubling-online-claims": lambda: DoublingVariant(
        score="claims", information="online", name="doubling-online-claims"
    ),
    "doubling-online": lambda: DoublingVariant(
        score="rate",
        goodput=True,
        restart_factor=ONLINE_RESTART_FACTOR,
        information="online",
        name="doubling-online",
    ),
}
DEFAULT_ONLINE = "doubling-online"
"""The best online policy: the reschedule flow's default."""


def information(name: str) -> str:
    """``"oracle"`` or ``"online"``: what the registered policy plans with.

    Example:
        >>> information("optimus"), information("doubling-online")
        ('oracle', 'online')
    """
    return information_of(get_policy(name))


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
