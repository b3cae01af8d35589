"""Placement: the reference spread rule, Tessera's pack rule, kept assignments, errors."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.sched.placement import node_counts, place

FOUR_BY_FOUR = {f"n{i}": 4 for i in range(4)}


class TestNodeCounts:
    def test_runs_in_order_taken(self) -> None:
        assert node_counts(("a", "a", "b", "c", "c", "c")) == (2, 1, 3)
        assert node_counts(()) == ()


class TestSpread:
    def test_most_free_node_first_ties_to_earliest(self) -> None:
        got = place({"a": 3, "b": 2}, FOUR_BY_FOUR, rule="spread")
        assert got == {"a": ("n0", "n0", "n0"), "b": ("n1", "n1")}

    def test_large_job_spills_to_next_most_free(self) -> None:
        got = place({"a": 1, "b": 6}, FOUR_BY_FOUR, rule="spread")
        # a takes n0 (3 left); b takes all of n1 then 2 of n2 (n2 ties n3, earliest wins).
        assert got["b"] == ("n1",) * 4 + ("n2",) * 2

    def test_follows_the_given_job_order(self) -> None:
        got = place({"b": 2, "a": 3}, {"n0": 4, "n1": 4}, rule="spread")
        assert got == {"b": ("n0", "n0"), "a": ("n1", "n1", "n1")}


class TestPack:
    def test_small_job_takes_fullest_node_it_fits(self) -> None:
        previous = {"x": ("n0", "n0", "n0")}
        got = place({"x": 3, "y": 1}, FOUR_BY_FOUR, previous, rule="pack")
        assert got["y"] == ("n0",)

    def test_large_jobs_first_on_fewest_nodes(self) -> None:
        got = place({"s": 2, "l": 6}, {"n0": 4, "n1": 4, "n2": 4}, rule="pack")
        assert len(set(got["l"])) == 2
        assert len(set(got["s"])) == 1

    def test_fewer_nodes_than_spread_after_fragmentation(self) -> None:
        previous = {"x": ("n0",), "y": ("n1",)}
        counts = {"x": 1, "y": 1, "z": 4}
        packed = place(counts, FOUR_BY_FOUR, previous, rule="pack")
        spread = place(counts, FOUR_BY_FOUR, previous, rule="spread")
        assert len(set(packed["z"])) == 1
        assert len(set(spread["z"])) == 1  # n2 is empty: both rules find it


class TestKeepInPlace:
    @pytest.mark.parametrize("rule", ["spread", "pack"])
    def test_unchanged_count_keeps_nodes(self, rule: str) -> None:
        previous = {"a": ("n3", "n3")}
        got = place({"b": 4, "a": 2}, FOUR_BY_FOUR, previous, rule=rule)  # type: ignore[arg-type]
        assert got["a"] == ("n3", "n3")

    def test_changed_count_moves(self) -> None:
        previous = {"a": ("n3", "n3")}
        got = place({"a": 3}, FOUR_BY_FOUR, previous, rule="spread")
        assert got["a"] == ("n0", "n0", "n0")

    def test_zero_count_left_out(self) -> None:
        assert place({"a": 0}, FOUR_BY_FOUR, {"a": ("n0",)}) == {}


class TestErrors:
    def test_too_many_pus(self) -> None:
        with pytest.raises(ValueError, match="17 PUs asked but only 16 slots"):
            place({"a": 17}, FOUR_BY_FOUR)

    def test_negative(self) -> None:
        with pytest.raises(ValueError, match="negative PU count for job 'a'"):
            place({"a": -1}, FOUR_BY_FOUR)

    def test_unknown_rule(self) -> None:
        with pytest.raises(ValueError, match="unknown placement rule"):
            place({"a": 1}, FOUR_BY_FOUR, rule="random")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    slots=st.lists(st.integers(1, 8), min_size=1, max_size=6),
    counts=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    rule=st.sampled_from(["spread", "pack"]),
)
def test_every_job_gets_its_count_and_no_node_overflows(
    slots: list[int], counts: list[int], rule: str
) -> None:
    nodes = {f"n{i}": s for i, s in enumerate(slots)}
    jobs = {f"j{i}": c for i, c in enumerate(counts)}
    # Trim the request to the capacity so the call is valid.
    capacity, trimmed = sum(slots), {}
    for name, c in jobs.items():
        trimmed[name] = min(c, capacity)
        capacity -= trimmed[name]
    got = place(trimmed, nodes, rule=rule)  # type: ignore[arg-type]
    assert {n: len(a) for n, a in got.items()} == {n: c for n, c in trimmed.items() if c}
    used = Counter(node for a in got.values() for node in a)
    assert all(used[n] <= nodes[n] for n in used)
    if rule == "pack":
        # A job that fits in one node's slots always lands on one node when placed first.
        first = max(trimmed, key=lambda n: trimmed[n], default=None)
        if first and trimmed[first] and trimmed[first] <= max(slots):
            assert len(set(got[first])) == 1
