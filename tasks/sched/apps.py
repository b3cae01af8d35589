"""Per-application models built from the Pollux traces, by the reference simulator's rules.

An :class:`AppModel` answers what the simulator and the policies ask about one application:
the measured seconds per step of a placement at a per-GPU batch size, how a total batch is
split over GPUs (with gradient accumulation), the statistical efficiency of a batch size in an
epoch, the progress needed to finish each epoch, and the true iterations still to run.

Example:
    >>> apps = load_apps(find_traces_dir())  # doctest: +SKIP
    >>> apps["cifar10"].batch_split(2048, 6)  # doctest: +SKIP
    (342, 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

from tasks.sched.traces import APPLICATIONS, AppTraces, TraceError, read_application

MAX_EPOCHS: dict[str, int] = {
    "bert": 2,
    "cifar10": 100,
    "ncf": 10,
    "imagenet": 90,
    "deepspeech2": 80,
    "yolov3": 50,
}
MAX_LOCAL_BSZ: dict[str, int] = {"yolov3": 8}
GPUS_PER_NODE = 4
# The scalability measurements stop at 16 nodes; larger spreads are looked up as 16.
_MAX_TRACE_NODES = 16
_EPS = 1e-8

Placement = tuple[int, ...]


def canonical_placement(placement: Placement) -> Placement:
    """Drop empty nodes and rotate to the lexicographically smallest rotation.

    Example:
        >>> canonical_placement((3, 0, 1))
        (1, 3)
    """
    nodes = tuple(p for p in placement if p)
    if not nodes:
        raise ValueError("placement has no GPUs")
    return min(nodes[i:] + nodes[:i] for i in range(len(nodes)))


def packed_placement(num_gpus: int, per_node: int = GPUS_PER_NODE) -> Placement:
    """GPUs packed ``per_node`` to a node, the last node holding the rest.

    Example:
        >>> packed_placement(6)
        (4, 2)
    """
    if num_gpus < 1:
        raise ValueError(f"num_gpus must be >= 1, got {num_gpus}")
    full, rest = divmod(num_gpus, per_node)
    return (per_node,) * full + ((rest,) if rest else ())


class AppModel:
    """Measured behaviour of one application.

    Attributes:
        name: application name.
        init_batch_size: smallest validated total batch size.
        max_batch_size: largest validated total batch size.
        min_local_bsz: smallest per-GPU batch measured.
        max_local_bsz: largest per-GPU batch allowed.
        max_epochs: epochs to completion.

    Example:
        >>> app = AppModel(read_application(find_traces_dir(), "bert"), 2)  # doctest: +SKIP
        >>> app.progress_at(0)  # doctest: +SKIP
        0.0
    """

    def __init__(
        self, traces: AppTraces, max_epochs: int, max_local_bsz: int | None = None
    ) -> None:
        self.name = traces.name
        self.traces = traces
        self.init_batch_size = min(traces.validation)
        self.max_batch_size = max(traces.validation)
        self.min_local_bsz = int(traces.placements.local_bsz.min())
        self.max_local_bsz = int(max_local_bsz or traces.placements.local_bsz.max())
        self.max_epochs = max_epochs
        rows = min(len(v.progress) for v in traces.validation.values())
        if rows < max_epochs:
            raise TraceError(
                f"{self.name}: validation files have {rows} epochs, fewer than {max_epochs}"
            )
        self._sizes = np.array(sorted(traces.validation), dtype=float)
        tables = [traces.validation[int(b)] for b in self._sizes]
        # Rows: batch sizes; columns: epochs.
        self._iteration = np.stack([t.iteration[:rows] for t in tables])
        self._grad_sqr = np.stack([t.grad_sqr[:rows] for t in tables])
        self._grad_var = np.stack([t.grad_var[:rows] for t in tables])
        progress = np.stack([t.progress[:rows] for t in tables]).min(axis=0)
        self._progress = np.concatenate([[0.0], progress])
        self._measured = self._measured_placements(traces)
        self._interp: LinearNDInterpolator | None = None
        self._nearest: NearestNDInterpolator | None = None
        self._step_cache: dict[tuple[Placement, int], tuple[float, float]] = {}
        self._stats_cache: dict[tuple[int, int], tuple[float, float]] = {}
        self._iter_cache: dict[tuple[int, int], float] = {}

    @staticmethod
    def _measured_placements(traces: AppTraces) -> dict[Placement, np.ndarray]:
        table = traces.placements
        out: dict[Placement, np.ndarray] = {}
        for key in sorted(set(table.placement)):
            mask = np.array([p == key for p in table.placement])
            rows = np.stack([table.local_bsz[mask], table.step_time[mask], table.sync_time[mask]])
            out[tuple(int(c) for c in key)] = rows[:, np.argsort(rows[0], kind="stable")]
        return out

    def _build_interpolator(self) -> None:
        # Per-configuration means of the placement measurements plus the scalability points.
        table = self.traces.placements
        groups: dict[tuple[float, float, float], list[tuple[float, float]]] = {}
        for key, bsz, step, sync in zip(
            table.placement, table.local_bsz, table.step_time, table.sync_time, strict=True
        ):
            cfg = (float(len(key)), float(sum(int(c) for c in key)), float(bsz))
            groups.setdefault(cfg, []).append((step, sync))
        # Sorted configurations: the triangulation, and so the interpolated values where
        # points are degenerate, depends on the point order; this is the reference's order.
        configs = sorted(groups)
        points = [list(cfg) for cfg in configs]
        values = [list(np.mean(groups[cfg], axis=0)) for cfg in configs]
        s = self.traces.scalability
        points += np.stack([s.num_nodes, s.num_replicas, s.local_bsz], axis=1).tolist()
        values += np.stack([s.step_time, s.sync_time], axis=1).tolist()
        self._interp = LinearNDInterpolator(np.array(points), np.array(values))
        self._nearest = NearestNDInterpolator(np.array(points), np.array(values))

    def step_time(self, placement: Placement, local_bsz: int) -> tuple[float, float]:
        """Seconds per step and the part spent synchronising, for one placement.

        Measured placements interpolate linearly in ``local_bsz``; others interpolate over
        (num_nodes, num_replicas, local_bsz). Points outside the measured hull take the
        nearest measurement (the reference simulator would fail there).

        Example:
            >>> app.step_time((2, 2), 64)  # doctest: +SKIP
            (0.07..., 0.02...)
        """
        key = (placement, local_bsz)
        cached = self._step_cache.get(key)
        if cached is not None:
            return cached
        canon = canonical_placement(placement)
        rows = self._measured.get(canon)
        if rows is not None:
            result = (
                float(np.interp(local_bsz, rows[0], rows[1])),
                float(np.interp(local_bsz, rows[0], rows[2])),
            )
        else:
            if self._interp is None:
                self._build_interpolator()
            assert self._interp is not None and self._nearest is not None
            bsz = min(max(local_bsz, self.min_local_bsz), self.max_local_bsz)
            point = np.array([[min(len(canon), _MAX_TRACE_NODES), sum(canon), bsz]], float)
            value = self._interp(point)[0]
            if not np.all(np.isfinite(value)):
                value = self._nearest(point)[0]
            result = (float(value[0]), float(value[1]))
        self._step_cache[key] = result
        return result

    def batch_split(self, batch_size: int, num_gpus: int) -> tuple[int, int]:
        """Per-GPU (atomic) batch and gradient-accumulation steps for a total batch.

        Example:
            >>> app.batch_split(2048, 1)  # doctest: +SKIP
            (512, 3)
        """
        local = math.ceil(batch_size / num_gpus - _EPS)
        accum = math.ceil(local / self.max_local_bsz - _EPS) - 1
        if num_gpus == 1 and batch_size > self.init_batch_size:
            accum = max(1, accum)
        atomic = math.ceil(local / (accum + 1) - _EPS)
        atomic = min(atomic, int(self.max_batch_size / (num_gpus * (accum + 1))))
        return atomic, accum

    def optimizer_step(self, placement: Placement, batch_size: int) -> tuple[float, int]:
        """Seconds per optimiser step and the batch actually run, at a target total batch.

        Example:
            >>> app.optimizer_step((4, 2), 2048)  # doctest: +SKIP
            (0.14..., 2052)
        """
        n = sum(placement)
        atomic, accum = self.batch_split(batch_size, n)
        step, sync = self.step_time(placement, atomic)
        return step + (step - sync) * accum, n * atomic * (accum + 1)

    def _bracket(self, batch_size: float) -> tuple[int, int, float]:
        b = min(max(batch_size, self._sizes[0]), self._sizes[-1])
        hi = int(np.searchsorted(self._sizes, b, side="left"))
        if self._sizes[hi] == b:
            return hi, hi, 0.0
        lo = hi - 1
        return lo, hi, (b - self._sizes[lo]) / (self._sizes[hi] - self._sizes[lo])

    def grad_stats(self, batch_size: int, epoch: int) -> tuple[float, float]:
        """Gradient squared norm and variance in ``epoch`` (0-based), interpolated in batch.

        Example:
            >>> app.grad_stats(app.init_batch_size, 0)  # doctest: +SKIP
            (8.94..., 5.06...)
        """
        key = (batch_size, epoch)
        cached = self._stats_cache.get(key)
        if cached is None:
            lo, hi, w = self._bracket(batch_size)
            sqr = (1 - w) * self._grad_sqr[lo, epoch] + w * self._grad_sqr[hi, epoch]
            var = (1 - w) * self._grad_var[lo, epoch] + w * self._grad_var[hi, epoch]
            cached = (float(sqr), float(var))
            self._stats_cache[key] = cached
        return cached

    def efficiency_gain(self, batch_size: int, epoch: int) -> float:
        """Statistical progress per optimiser step at ``batch_size`` in ``epoch``.

        Example:
            >>> app.efficiency_gain(app.init_batch_size, 0)  # doctest: +SKIP
            1.0
        """
        sqr, var = self.grad_stats(batch_size, epoch)
        scale = batch_size / self.init_batch_size
        return (var + sqr) / (var / scale + sqr)

    def progress_at(self, epoch: int) -> float:
        """P(k): cumulative progress that ends epoch ``k`` (P(0) = 0).

        Example:
            >>> app.progress_at(app.max_epochs) > app.progress_at(1)  # doctest: +SKIP
            True
        """
        return float(self._progress[epoch])

    def iterations(self, batch_size: int, epoch: int) -> float:
        """Cumulative iterations after epoch ``epoch`` (0-based row), interpolated in batch.

        Example:
            >>> app.iterations(128, 0)  # doctest: +SKIP
            390.0
        """
        # Cached: batch-choosing oracle policies ask hundreds of thousands of times per run.
        key = (batch_size, epoch)
        value = self._iter_cache.get(key)
        if value is None:
            lo, hi, w = self._bracket(batch_size)
            value = float((1 - w) * self._iteration[lo, epoch] + w * self._iteration[hi, epoch])
            self._iter_cache[key] = value
        return value

    def remaining_iterations(self, batch_size: int, epoch: int) -> float:
        """True iterations still to run (the oracle Optimus gets).

        The iteration count at the last row minus the one at the current epoch's row; in the
        last epoch that difference is 0 and, as in the reference simulator, 1 is returned so
        that the job still ranks.

        Example:
            >>> app.remaining_iterations(128, app.max_epochs - 1)  # doctest: +SKIP
            1.0
        """
        last = self.max_epochs - 1
        if epoch >= last:
            return 1.0
        return self.iterations(batch_size, last) - self.iterations(batch_size, epoch)

    def max_gpus(self, batch_size: int) -> int:
        """Most GPUs a job at a fixed total batch can use (ncf runs on one GPU).

        Example:
            >>> app.max_gpus(2048)  # doctest: +SKIP
            64
        """
        if self.name == "ncf":
            return 1
        return max(1, batch_size // self.min_local_bsz)

    @property
    def examples_per_epoch(self) -> float:
        """Training examples in one epoch: the first epoch's iterations at the initial batch.

        Example:
            >>> apps["cifar10"].examples_per_epoch  # doctest: +SKIP
            49920.0
        """
        return self.iterations(self.init_batch_size, 0) * self.init_batch_size

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The validated total batch sizes, smallest first."""
        return tuple(int(b) for b in self._sizes)


def load_apps(traces_dir: Path | str, names: tuple[str, ...] = APPLICATIONS) -> dict[str, AppModel]:
    """Build the :class:`AppModel` of each application from a traces folder.

    Example:
        >>> sorted(load_apps(find_traces_dir()))  # doctest: +SKIP
        ['bert', 'cifar10', 'deepspeech2', 'imagenet', 'ncf', 'yolov3']
    """
    return {
        name: AppModel(
            read_application(traces_dir, name), MAX_EPOCHS[name], MAX_LOCAL_BSZ.get(name)
        )
        for name in names
    }


def apps_by_name(apps: Mapping[str, AppModel], name: str) -> AppModel:
    """Look an application up with a clear error."""
    try:
        return apps[name]
    except KeyError:
        raise TraceError(f"unknown application {name!r}; known: {', '.join(apps)}") from None
