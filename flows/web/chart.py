"""The PU allocation over time as plain inline SVG (no chart library, nothing fetched).

Each outer iteration records the PUs it gave every job it decided on; from one iteration to
the next a job keeps what it got, so the chart is a stacked step chart: one band per job,
time along x, PUs up y, the cluster's capacity as a dashed line.

Example:
    >>> svg = allocation_svg([{"iteration": 1, "at": 0.0, "job": "a", "pus": 2, "capacity": 4}])
    >>> svg.startswith("<svg") and 'data-job="a"' in svg
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from tasks.video.export import clock

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
"""Tableau 10: distinct for up to ten jobs, then repeated."""


def allocation_steps(
    allocations: Sequence[Mapping[str, Any]], now: float | None = None
) -> tuple[list[float], list[str], dict[str, list[int]], int]:
    """Per iteration: its time, and every job's PUs from then on.

    Args:
        allocations: rows with ``iteration``, ``at`` (epoch seconds), ``job``, ``pus`` and
            ``capacity`` (as :meth:`JobStore.allocations` gives them).
        now: where the last step ends (default: a tenth past the last iteration).

    Returns:
        ``(times, jobs, pus per job per step, capacity)``; ``times`` has one entry more
        than the steps (the end of the last one).

    Example:
        >>> rows = [{"iteration": 1, "at": 0, "job": "a", "pus": 1, "capacity": 2},
        ...         {"iteration": 2, "at": 10, "job": "b", "pus": 2, "capacity": 2}]
        >>> allocation_steps(rows, now=20)
        ([0.0, 10.0, 20.0], ['a', 'b'], {'a': [1, 0], 'b': [0, 2]}, 2)
    """
    iterations: dict[int, dict[str, Any]] = {}
    jobs: list[str] = []
    capacity = 0
    for row in sorted(allocations, key=lambda r: (r["iteration"], r["at"])):
        it = iterations.setdefault(row["iteration"], {"at": float(row["at"]), "pus": {}})
        it["pus"][row["job"]] = int(row["pus"])
        capacity = max(capacity, int(row.get("capacity") or 0))
        if row["job"] not in jobs:
            jobs.append(row["job"])
    steps = [iterations[k] for k in sorted(iterations)]
    times = [s["at"] for s in steps]
    if times:
        span = times[-1] - times[0]
        end = float(now) if now is not None else times[-1] + max(span / 10, 1.0)
        times.append(max(end, times[-1] + 1e-3))
    # A job an iteration did not decide on holds nothing from then on (it finished or left).
    per_job = {job: [s["pus"].get(job, 0) for s in steps] for job in jobs}
    return times, jobs, per_job, capacity


def allocation_svg(
    allocations: Sequence[Mapping[str, Any]],
    now: float | None = None,
    width: int = 720,
    height: int = 260,
) -> str:
    """A stacked step chart of PUs per job over time, as an ``<svg>`` element.

    Example:
        >>> "no allocations" in allocation_svg([])
        True
    """
    left, right, top, bottom = 44, 150, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="PU allocation over time">'
    )
    times, jobs, per_job, capacity = allocation_steps(allocations, now)
    if not jobs:
        return (
            head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">'
            "no allocations recorded yet: the reschedule flow records one per outer iteration"
            "</text></svg>"
        )
    t0, t1 = times[0], times[-1]
    top_pus = max(capacity, *(sum(p[i] for p in per_job.values()) for i in range(len(times) - 1)))
    top_pus = max(top_pus, 1)

    def x(t: float) -> float:
        return left + (t - t0) / max(t1 - t0, 1e-9) * plot_w

    def y(pus: float) -> float:
        return top + plot_h - pus / top_pus * plot_h

    parts = [head]
    for k in range(top_pus + 1) if top_pus <= 16 else range(0, top_pus + 1, max(1, top_pus // 8)):
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y(k):.1f}" y2="{y(k):.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y(k) + 4:.1f}" text-anchor="end">{k}</text>'
        )
    base = [0] * (len(times) - 1)
    for n, job in enumerate(jobs):
        pus = per_job[job]
        upper = [b + p for b, p in zip(base, pus, strict=True)]
        # Walk the top edge left to right as steps, then the bottom edge back.
        pts = []
        for i, u in enumerate(upper):
            pts += [(x(times[i]), y(u)), (x(times[i + 1]), y(u))]
        for i in range(len(base) - 1, -1, -1):
            pts += [(x(times[i + 1]), y(base[i])), (x(times[i]), y(base[i]))]
        colour = PALETTE[n % len(PALETTE)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        title = escape(f"{job}: " + ", ".join(str(p) for p in pus) + " PUs by iteration")
        parts.append(
            f'<polygon data-job="{escape(job)}" points="{path}" fill="{colour}" '
            f'fill-opacity="0.85"><title>{title}</title></polygon>'
        )
        ly = top + 14 + n * 18
        parts.append(
            f'<rect x="{left + plot_w + 14}" y="{ly - 10}" width="12" height="12" '
            f'fill="{colour}"/><text class="legend" x="{left + plot_w + 32}" y="{ly}">'
            f"{escape(job)}</text>"
        )
        base = upper
    if capacity:
        parts.append(
            f'<line class="capacity" x1="{left}" x2="{left + plot_w}" y1="{y(capacity):.1f}" '
            f'y2="{y(capacity):.1f}"><title>capacity {capacity} PUs</title></line>'
        )
    parts.append(
        f'<text class="axis" x="{left}" y="{height - 10}">{clock(0)}</text>'
        f'<text class="axis" x="{left + plot_w}" y="{height - 10}" text-anchor="end">'
        f"{clock(t1 - t0)}</text>"
        f'<text class="axis" x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">'
        f"time since the first outer iteration ({len(times) - 1} iterations)</text>"
        f'<text class="axis" x="12" y="{top + plot_h / 2}" '
        f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">PUs</text>'
        "</svg>"
    )
    return "".join(parts)
