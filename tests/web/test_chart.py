"""The allocation chart: steps per outer iteration, stacked bands, capacity line."""

from __future__ import annotations

import re

from flows.web.chart import allocation_steps, allocation_svg


def _row(iteration: int, at: float, job: str, pus: int) -> dict[str, object]:
    return {"iteration": iteration, "at": at, "job": job, "pus": pus, "capacity": 4}


ROWS = [
    _row(1, 0, "a", 1),
    _row(1, 0, "b", 1),
    _row(2, 60, "a", 2),
    _row(2, 60, "b", 2),
    _row(3, 120, "b", 4),  # "a" finished: the iteration did not decide on it
]


def test_steps_hold_until_the_next_iteration() -> None:
    times, jobs, pus, capacity = allocation_steps(ROWS, now=300)
    assert times == [0.0, 60.0, 120.0, 300.0]
    assert jobs == ["a", "b"] and capacity == 4
    assert pus == {"a": [1, 2, 0], "b": [1, 2, 4]}


def test_default_end_extends_the_last_step() -> None:
    times, *_ = allocation_steps(ROWS)
    assert times[-1] == 132.0  # a tenth of the span past the last iteration


def test_bands_stack_to_the_total() -> None:
    svg = allocation_svg(ROWS, now=300, width=400, height=200)
    # plot: x from 44 to 400-150=250 over 300 s, y from 12 (4 PUs) to 166 (0 PUs)
    b = re.search(r'data-job="b" points="([^"]+)"', svg)
    assert b is not None
    tops = {round(float(p.split(",")[1]), 1) for p in b.group(1).split()[:6]}
    # b sits on a: its top edge is at 2 PUs, then 4, then 4 (a holds nothing)
    assert tops == {89.0, 12.0}
    assert 'class="capacity"' in svg and "<title>capacity 4 PUs</title>" in svg
    assert ">5:00<" in svg  # the time axis ends at now - first iteration


def test_job_names_are_escaped() -> None:
    svg = allocation_svg([_row(1, 0, "<script>", 1)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
