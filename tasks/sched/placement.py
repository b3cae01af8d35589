"""From PU counts to node assignments.

A placement gives each job one node name per PU, in the order the PUs were taken, so a
job with 6 PUs might get ``("n0", "n0", "n0", "n0", "n3", "n3")``. Nodes are anything with
slots: cluster nodes with 4 GPUs in the simulator, hosts with PU workers in the live
scheduler. Jobs whose count did not change keep their nodes (moving them would restart
them for nothing); the others are placed by one of two rules:

- ``spread`` (the reference simulator's): each PU goes to the node with the most free slots
  at the time, ties to the earliest node; jobs are placed in the order given.
- ``pack`` (Tessera's): each job goes onto the fewest nodes, best fit: a job that fits on
  one node takes the fullest node it fits on; larger jobs take the emptiest nodes and finish
  on the best-fitting one. Larger jobs are placed first.

Example:
    >>> place({"a": 2, "b": 4}, {"n0": 4, "n1": 4}, rule="pack")
    {'a': ('n1', 'n1'), 'b': ('n0', 'n0', 'n0', 'n0')}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

PlacementRule = Literal["spread", "pack"]
Assignment = tuple[str, ...]


def node_counts(assignment: Assignment) -> tuple[int, ...]:
    """PUs per node in the order the nodes were taken (consecutive runs of one node).

    Example:
        >>> node_counts(("n0", "n0", "n2"))
        (2, 1)
    """
    counts: list[int] = []
    for i, node in enumerate(assignment):
        if i and node == assignment[i - 1]:
            counts[-1] += 1
        else:
            counts.append(1)
    return tuple(counts)


def _take_spread(count: int, free: dict[str, int]) -> list[str]:
    taken: list[str] = []
    while len(taken) < count:
        # max() keeps the first of equal keys, so ties go to the earliest node.
        node = max(free, key=lambda n: free[n])
        num = min(free[node], count - len(taken))
        if num <= 0:
            raise ValueError("not enough free slots")
        taken.extend([node] * num)
        free[node] -= num
    return taken


def _take_pack(count: int, free: dict[str, int]) -> list[str]:
    taken: list[str] = []
    remaining = count
    while remaining > 0:
        fits = [n for n in free if free[n] >= remaining]
        if fits:
            node = min(fits, key=lambda n: free[n])
            num = remaining
        else:
            node = max(free, key=lambda n: free[n])
            num = free[node]
            if num <= 0:
                raise ValueError("not enough free slots")
        taken.extend([node] * num)
        free[node] -= num
        remaining -= num
    return taken


def place(
    counts: Mapping[str, int],
    nodes: Mapping[str, int],
    previous: Mapping[str, Assignment] | None = None,
    rule: PlacementRule = "pack",
) -> dict[str, Assignment]:
    """Assign nodes to the PUs of each job.

    Args:
        counts: PUs per job; jobs with 0 get nothing.
        nodes: slots per node, in a fixed node order (ties go to earlier nodes).
        previous: the last assignment; a job keeps it when its count is unchanged and its
            nodes still exist.
        rule: ``"spread"`` (reference) or ``"pack"`` (Tessera).

    Returns:
        Job name to one node name per PU; jobs with 0 PUs are left out.

    Raises:
        ValueError: more PUs asked than slots exist, or a negative count.

    Example:
        >>> place({"a": 3}, {"n0": 2, "n1": 2}, rule="spread")
        {'a': ('n0', 'n0', 'n1')}
    """
    if rule not in ("spread", "pack"):
        raise ValueError(f"unknown placement rule {rule!r}; use 'spread' or 'pack'")
    bad = [name for name, c in counts.items() if c < 0]
    if bad:
        raise ValueError(f"negative PU count for job {bad[0]!r}")
    total = sum(counts.values())
    if total > sum(nodes.values()):
        raise ValueError(f"{total} PUs asked but only {sum(nodes.values())} slots exist")
    previous = previous or {}
    free = dict(nodes)
    result: dict[str, Assignment] = {}
    for name, count in counts.items():
        old = previous.get(name)
        if count and old is not None and len(old) == count and all(n in free for n in old):
            result[name] = old
            for node in old:
                free[node] -= 1
    if any(v < 0 for v in free.values()):
        raise ValueError("previous assignments overlap beyond node capacity")
    todo = [n for n, c in counts.items() if c and n not in result]
    if rule == "pack":
        todo.sort(key=lambda n: -counts[n])
    take = _take_pack if rule == "pack" else _take_spread
    for name in todo:
        result[name] = tuple(take(counts[name], free))
    return {name: result[name] for name in counts if name in result}
