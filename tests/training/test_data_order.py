"""Resumable data order: a relaunch at another world size trains each sample at most once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tasks.training.loop import epoch_permutation, rank_slice


def _trained(n: int, per_rank: int, plan: list[tuple[int, int]], seed: int = 0) -> list[int]:
    """Indices trained in one epoch when the job runs ``steps`` steps at each world size."""
    perm = epoch_permutation(n, seed, 0)
    position, seen = 0, []
    for world, steps in plan:
        for _ in range(steps):
            if position + per_rank * world > n:
                break
            for rank in range(world):
                seen += perm[rank_slice(position, rank, per_rank)].tolist()
            position += per_rank * world
    while position + per_rank * plan[-1][0] <= n:  # the last launch finishes the epoch
        for rank in range(plan[-1][0]):
            seen += perm[rank_slice(position, rank, per_rank)].tolist()
        position += per_rank * plan[-1][0]
    return seen


class TestResumeOrder:
    def test_one_then_two_then_four(self) -> None:
        seen = _trained(1438, 16, [(1, 7), (2, 5), (4, 100)])
        assert len(seen) == len(set(seen))
        assert 1438 - len(seen) < 16 * 4  # only the final partial global batch is skipped

    @given(
        per_rank=st.integers(1, 40),
        plan=st.lists(st.tuples(st.integers(1, 8), st.integers(0, 30)), min_size=1, max_size=5),
    )
    def test_any_plan_never_repeats_and_skips_less_than_one_batch(
        self, per_rank: int, plan: list[tuple[int, int]]
    ) -> None:
        n = 500
        seen = _trained(n, per_rank, plan)
        assert len(seen) == len(set(seen))
        assert n - len(seen) < per_rank * plan[-1][0]
