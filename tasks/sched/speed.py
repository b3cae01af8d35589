"""The training speed function of a ring all-reduce job.

One optimiser step on ``n`` PUs spread over ``nodes`` nodes with a per-PU batch ``b`` costs::

    step_s(n, nodes, b) = c0 + c1 * b                        # forward/backward on one PU
                        + c_dist                             # once distributed (n > 1)
                        + 2 (n - 1) / n * g_link             # ring all-reduce volume / bandwidth
                        + 2 (n - 1) * l_link                 # one latency per ring hop

where ``g_link`` is the gradient size divided by the link bandwidth and ``l_link`` the per-hop
latency, both taken for the intra-node link when the job sits on one node and for the
inter-node link otherwise (a ring is as fast as its slowest hop). A job on one PU does not
synchronise. ``c_dist`` is what a rank pays per step for being one of several, whatever their
number: DDP's gradient bucketing and hooks, launching the collectives, the communication threads
competing with the compute. Pollux's throughput model has the same constant (its
``alpha_sync``); on CPU workers a small model's two-PU compute measured 20-65% above its
one-PU step, so a model without it cannot fit one and two PUs at once.

PUs that are CPU workers may outnumber the cores they run on (four PU workers on a 2-core
host). Then each rank gets only part of a core, and every part of its step, the arithmetic of
the reduction included, slows down by the ``share``: the ranks per core on the job's busiest
host (``1`` when every rank has a core or a device of its own). Ring all-reduce waits for the
slowest rank, so the whole step scales::

    step_s(n, nodes, b, share) = share * step_s(n, nodes, b)

Samples are divided by their measured share before the fit, so the coefficients describe a rank
with a core to itself, and a prediction multiplies back by the share the placement will have.
All seven coefficients are non-negative and the model is linear in them, so it is
fitted by non-negative least squares; a prior enters the fit as weak pseudo-observations, so a
job with no or few samples predicts from the prior and moves to the data as samples arrive.

Example:
    >>> model = SpeedModel.fit([SpeedSample(n=1, nodes=1, per_pu_batch=32, step_s=0.10)])
    >>> round(model.step_seconds(1, 1, 32), 3)
    0.1
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

__all__ = [
    "SpeedModel",
    "SpeedParams",
    "SpeedSample",
    "core_share",
    "nodes_for",
    "per_configuration",
    "sync_features",
]


@dataclass(frozen=True)
class SpeedSample:
    """One measured training step.

    Attributes:
        n: PUs the job ran on.
        nodes: distinct nodes those PUs were on.
        per_pu_batch: examples per PU per step.
        step_s: seconds per optimiser step.
        sync_s: seconds of that step spent in the all-reduce, when measured.
        share: ranks per core on the job's busiest host (``>= 1``; ``1``: no sharing).
    """

    n: int
    nodes: int
    per_pu_batch: float
    step_s: float
    sync_s: float | None = None
    share: float = 1.0

    def __post_init__(self) -> None:
        if self.n < 1 or not 1 <= self.nodes <= self.n:
            raise ValueError(
                f"speed sample: need 1 <= nodes <= n, got n={self.n} nodes={self.nodes}"
            )
        if not (self.step_s > 0 and math.isfinite(self.step_s)):
            raise ValueError(f"speed sample: step_s must be positive, got {self.step_s}")
        if not (self.share >= 1 and math.isfinite(self.share)):
            raise ValueError(f"speed sample: share must be at least 1, got {self.share}")
        if self.per_pu_batch <= 0:
            raise ValueError(
                f"speed sample: per_pu_batch must be positive, got {self.per_pu_batch}"
            )


@dataclass(frozen=True)
class SpeedParams:
    """Coefficients of the speed function (seconds; all non-negative).

    Attributes:
        c0: fixed seconds per step (kernel launches, optimiser update).
        c1: seconds per example on one PU.
        g_intra: gradient bytes / intra-node bandwidth (seconds for one full gradient).
        l_intra: per-hop latency inside a node.
        g_inter: gradient bytes / inter-node bandwidth.
        l_inter: per-hop latency across nodes.
        c_dist: fixed seconds per step of a rank in a job on more than one PU, outside the
            ring's volume and hops (DDP bookkeeping, collective launches, comm threads).
    """

    c0: float = 0.01
    c1: float = 1e-3
    g_intra: float = 0.02
    l_intra: float = 1e-4
    g_inter: float = 0.1
    l_inter: float = 5e-4
    c_dist: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array(
            [self.c0, self.c1, self.g_intra, self.l_intra, self.g_inter, self.l_inter, self.c_dist],
            dtype=float,
        )

    @classmethod
    def from_gradient(
        cls,
        gradient_bytes: float,
        *,
        c0: float = 0.01,
        c1: float = 1e-3,
        intra_bytes_per_s: float = 10e9,
        inter_bytes_per_s: float = 1.25e9,
        intra_latency_s: float = 1e-5,
        inter_latency_s: float = 5e-5,
    ) -> SpeedParams:
        """A prior from the model size and nominal link speeds.

        Example:
            >>> SpeedParams.from_gradient(100e6, inter_bytes_per_s=1e9).g_inter
            0.1
        """
        return cls(
            c0=c0,
            c1=c1,
            g_intra=gradient_bytes / intra_bytes_per_s,
            l_intra=intra_latency_s,
            g_inter=gradient_bytes / inter_bytes_per_s,
            l_inter=inter_latency_s,
        )


def nodes_for(n: int, pus_per_node: int) -> int:
    """Fewest nodes that hold ``n`` PUs when packed ``pus_per_node`` to a node.

    Example:
        >>> nodes_for(6, 4)
        2
    """
    return max(1, -(-n // pus_per_node))


def core_share(ranks_on_node: int, cores_per_node: int | None, threads: int = 1) -> float:
    """Ranks per core on a node whose ``cores_per_node`` cores hold ``ranks_on_node`` ranks.

    The OS spreads the ranks' threads evenly over the cores; ``cores_per_node=None`` means
    each PU is a device of its own (share ``1``).

    Example:
        >>> core_share(4, 2), core_share(3, 2), core_share(2, 2), core_share(8, None)
        (2.0, 1.5, 1.0, 1.0)
    """
    if not cores_per_node:
        return 1.0
    return max(1.0, ranks_on_node * max(1, threads) / cores_per_node)


def sync_features(n: int, nodes: int) -> tuple[float, float, float, float]:
    """Regressors of the all-reduce part: (volume, hops) for the intra and inter link.

    Example:
        >>> sync_features(4, 1)
        (1.5, 6.0, 0.0, 0.0)
    """
    if n <= 1:
        return (0.0, 0.0, 0.0, 0.0)
    volume, hops = 2.0 * (n - 1) / n, 2.0 * (n - 1)
    return (volume, hops, 0.0, 0.0) if nodes <= 1 else (0.0, 0.0, volume, hops)


# Columns of the design matrix: the compute part (fitted to ``step_s - sync_s`` when the sync
# is measured) and the ring's link part (fitted to ``sync_s``), in SpeedParams' order.
_COMPUTE = [0, 1, 6]  # c0, c1, c_dist
_LINK = [2, 3, 4, 5]  # g_intra, l_intra, g_inter, l_inter


def per_configuration(samples: Sequence[SpeedSample]) -> list[SpeedSample]:
    """One sample per configuration ``(n, nodes, per_pu_batch)``: the median of its samples.

    A job reports samples per interval of wall time, so a slow or long-running configuration
    would outweigh the others in a least-squares fit, and one stalled interval (a pause, a
    busy neighbour) would pull its configuration's mean; the median per configuration gives
    every measured placement one robust vote.

    Example:
        >>> s = [SpeedSample(2, 1, 32, t) for t in (0.010, 0.011, 0.090)]
        >>> per_configuration(s)[0].step_s
        0.011
    """
    groups: dict[tuple[int, int, float], list[SpeedSample]] = {}
    for s in samples:
        groups.setdefault((s.n, s.nodes, s.per_pu_batch), []).append(s)
    out = []
    for (n, nodes, batch), group in groups.items():
        syncs = [s.sync_s for s in group]
        out.append(
            SpeedSample(
                n=n,
                nodes=nodes,
                per_pu_batch=batch,
                step_s=statistics.median(s.step_s for s in group),
                sync_s=None if None in syncs else statistics.median(syncs),  # type: ignore[type-var]
                share=statistics.median(s.share for s in group),
            )
        )
    return out


def _design(samples: Sequence[SpeedSample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.array(
        [
            (1.0, s.per_pu_batch, *sync_features(s.n, s.nodes), 1.0 if s.n > 1 else 0.0)
            for s in samples
        ],
        dtype=float,
    )
    # Normalised to a rank with a core of its own (see the module docstring).
    share = np.array([s.share for s in samples], dtype=float)
    step = np.array([s.step_s for s in samples], dtype=float) / share
    sync = np.array([s.sync_s if s.sync_s is not None else np.nan for s in samples], dtype=float)
    return rows, step, sync / share


def _nnls_with_prior(a: np.ndarray, y: np.ndarray, prior: np.ndarray, weight: float) -> np.ndarray:
    """Non-negative least squares of ``a @ x ~ y``, pulled weakly towards ``prior``.

    Each coefficient gets one pseudo-row ``weight * x_i / s_i = weight * prior_i / s_i`` with
    ``s_i`` the coefficient's natural scale, so the prior only decides directions the data
    leaves open. Columns are scaled to unit norm first: the coefficients span five orders of
    magnitude and NNLS is sensitive to that.

    The natural scale is the prior itself, or for a prior of zero the size at which the
    coefficient alone would explain the data (``rms(y) / rms(column)``): a zero prior then
    says "none unless the data shows some", rather than pinning the coefficient to zero.
    """
    k = a.shape[1]
    if a.shape[0] == 0:
        return prior.copy()
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    y_rms = float(np.sqrt(np.mean(y**2)))
    alone = y_rms / (norms / np.sqrt(a.shape[0]))
    scale = np.where(np.abs(prior) > 0, np.abs(prior), np.maximum(alone, 1e-9))
    # A pseudo-row in scaled coordinates: weight * rms(y) * (x_i / scale_i - prior_i / scale_i).
    strength = weight * (y_rms or 1.0)
    reg = np.diag(strength / (scale * norms))
    a_aug = np.vstack([a / norms, reg])
    y_aug = np.concatenate([y, strength * prior / scale])
    x_scaled, _ = nnls(a_aug, y_aug, maxiter=50 * k)
    return np.asarray(x_scaled / norms, dtype=float)


@dataclass(frozen=True)
class SpeedModel:
    """A fitted speed function; cheap to evaluate (pure Python arithmetic).

    Example:
        >>> m = SpeedModel(SpeedParams(c0=0.0, c1=0.01, g_intra=0.1, l_intra=0.0,
        ...                            g_inter=0.4, l_inter=0.0))
        >>> round(m.step_seconds(4, 1, 8), 6)  # 0.08 compute + 1.5 * 0.1 ring volume
        0.23
    """

    params: SpeedParams
    samples_used: int = 0

    @classmethod
    def fit(
        cls,
        samples: Sequence[SpeedSample],
        prior: SpeedParams | None = None,
        *,
        prior_weight: float = 1e-3,
    ) -> SpeedModel:
        """Fit the coefficients to measured steps.

        Samples are reduced to one per configuration first (:func:`per_configuration`).
        When every sample carries its sync seconds, the compute part (``c0``, ``c1``,
        ``c_dist``) is fitted to ``step_s - sync_s`` and the link part to ``sync_s``
        separately, which keeps the two from trading off against each other; otherwise one
        joint fit to ``step_s``.

        Args:
            samples: measured steps; may be empty (the prior is returned).
            prior: coefficients assumed before data; ``SpeedParams()`` when omitted.
            prior_weight: strength of the prior relative to the data's scale.

        Example:
            >>> true = SpeedParams(0.02, 0.002, 0.05, 0.0, 0.3, 0.001)
            >>> pts = [SpeedSample(n, k, b, SpeedModel(true).step_seconds(n, k, b))
            ...        for n, k in [(1, 1), (2, 1), (4, 1), (8, 2), (16, 4)] for b in (16, 64)]
            >>> round(SpeedModel.fit(pts).params.g_inter, 2)
            0.3
        """
        base = prior or SpeedParams()
        if not samples:
            return cls(base, 0)
        rows, step, sync = _design(per_configuration(samples))
        p = base.as_array()
        if not np.isnan(sync).any():
            x = p.copy()
            x[_COMPUTE] = _nnls_with_prior(
                rows[:, _COMPUTE], step - sync, p[_COMPUTE], prior_weight
            )
            multi = rows[:, _LINK].any(axis=1)
            if multi.any():
                x[_LINK] = _nnls_with_prior(
                    rows[multi][:, _LINK], sync[multi], p[_LINK], prior_weight
                )
        else:
            x = _nnls_with_prior(rows, step, p, prior_weight)
        # Coefficients no sample could inform (e.g. inter-node before any multi-node run)
        # keep the prior instead of drifting to whatever NNLS left there.
        informed = np.abs(rows).sum(axis=0) > 0
        x = np.where(informed, x, p)
        return cls(SpeedParams(*(float(v) for v in x)), len(samples))

    def sync_seconds(self, n: int, nodes: int, share: float = 1.0) -> float:
        """Predicted all-reduce seconds per step."""
        vi, hi, vx, hx = sync_features(n, nodes)
        p = self.params
        return share * (vi * p.g_intra + hi * p.l_intra + vx * p.g_inter + hx * p.l_inter)

    def step_seconds(self, n: int, nodes: int, per_pu_batch: float, share: float = 1.0) -> float:
        """Predicted seconds per optimiser step on ``n`` PUs over ``nodes`` nodes.

        Args:
            n: PUs.
            nodes: nodes they span.
            per_pu_batch: examples per PU per step.
            share: ranks per core on the busiest host (:func:`core_share`).

        Example:
            >>> SpeedModel(SpeedParams(0.1, 0.0, 0.0, 0.0, 0.0, 0.0)).step_seconds(1, 1, 32)
            0.1
        """
        # Inlined (not via sync_seconds): policies call this tens of thousands of times per
        # decision, and the call overhead was most of a 10,000-job decision.
        p = self.params
        t = p.c0 + p.c1 * per_pu_batch
        if n > 1:
            volume, hops = 2.0 * (n - 1) / n, 2.0 * (n - 1)
            t += p.c_dist
            if nodes <= 1:
                t += volume * p.g_intra + hops * p.l_intra
            else:
                t += volume * p.g_inter + hops * p.l_inter
        return t * share

    def throughput(self, n: int, nodes: int, per_pu_batch: float, share: float = 1.0) -> float:
        """Examples per second on ``n`` PUs."""
        return n * per_pu_batch / self.step_seconds(n, nodes, per_pu_batch, share)
