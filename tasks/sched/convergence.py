"""How many epochs a job still needs.

Two sources, the second refining the first:

- an epoch budget (``max_epochs - epochs_done``), always available and always an upper bound;
- a fit of the job's loss (or metric) history to Optimus's curve
  ``loss(k) = 1 / (b0 * k + b1) + b2`` (``k`` in epochs, ``b0, b1 > 0``), from which the epoch
  where the curve flattens (its per-epoch improvement falls under a fraction of the total
  improvement still available) or reaches a target is solved in closed form.

The estimate is bounded to ``[min_epochs, budget]`` and is recomputed from the full history at
each outer iteration, so one noisy epoch cannot move it far.

Example:
    >>> curve = LossCurve(b0=0.5, b1=1.0, b2=0.1)
    >>> round(curve(0), 3), round(curve(2), 3)
    (1.1, 0.6)
    >>> remaining_epochs(3.0, 10, history=None)
    7.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = ["LossCurve", "fit_loss_curve", "remaining_epochs"]


@dataclass(frozen=True)
class LossCurve:
    """Optimus's convergence curve ``1 / (b0 * k + b1) + b2`` (decreasing in ``k``).

    For a metric that grows (accuracy), the fit works on the negated metric, so ``b2`` is then
    minus the metric's plateau.
    """

    b0: float
    b1: float
    b2: float

    def __call__(self, k: float) -> float:
        return 1.0 / (self.b0 * k + self.b1) + self.b2

    def epoch_reaching(self, value: float) -> float:
        """Epoch at which the curve falls to ``value``; ``inf`` when it never does.

        Example:
            >>> LossCurve(1.0, 1.0, 0.0).epoch_reaching(0.25)
            3.0
        """
        gap = value - self.b2
        if gap <= 0:
            return math.inf
        return max(0.0, (1.0 / gap - self.b1) / self.b0)

    def epoch_flat(self, rel_tol: float) -> float:
        """First epoch whose one-epoch improvement is under ``rel_tol`` of the initial gap.

        The improvement from ``k`` to ``k+1`` is ``b0 / ((b0 k + b1)(b0 (k+1) + b1))``; with
        ``u = b0 k + b1`` that is ``b0 / (u (u + b0))``, so the threshold is a quadratic in ``u``.

        Example:
            >>> round(LossCurve(1.0, 1.0, 0.0).epoch_flat(0.01), 2)
            8.51
        """
        target = rel_tol * (1.0 / self.b1)
        # u^2 + b0 u - b0 / target = 0
        u = (-self.b0 + math.sqrt(self.b0**2 + 4.0 * self.b0 / target)) / 2.0
        return max(0.0, (u - self.b1) / self.b0)


def fit_loss_curve(
    epochs: Sequence[float], values: Sequence[float], *, increasing: bool = False
) -> LossCurve:
    """Fit ``1 / (b0 k + b1) + b2`` to a loss (or, with ``increasing``, a metric) history.

    Seeds from a grid over ``b2`` below the smallest loss, where ``1 / (loss - b2)`` is linear
    in ``k``, then refines all three by bounded least squares.

    Args:
        epochs: epoch index of each value (fractions allowed).
        values: the loss or metric after each of those epochs.
        increasing: the values should grow (a metric like accuracy).

    Raises:
        ValueError: fewer than three points, or lengths differ.

    Example:
        >>> ks = [1, 2, 3, 4, 5, 6]
        >>> c = fit_loss_curve(ks, [1 / (0.5 * k + 1) + 0.2 for k in ks])
        >>> round(c.b0, 2), round(c.b1, 2), round(c.b2, 2)
        (0.5, 1.0, 0.2)
    """
    if len(epochs) != len(values):
        raise ValueError(f"loss history: {len(epochs)} epochs but {len(values)} values")
    if len(values) < 3:
        raise ValueError(f"loss history: need at least 3 points to fit, got {len(values)}")
    k = np.asarray(epochs, dtype=float)
    y = np.asarray(values, dtype=float)
    if increasing:
        y = -y
    if not np.isfinite(y).all():
        raise ValueError("loss history: values must be finite")

    lo, span = float(y.min()), float(np.ptp(y)) or 1.0
    best: tuple[float, np.ndarray] | None = None
    for b2 in lo - span * np.geomspace(1e-3, 10.0, 25):
        z = 1.0 / (y - b2)
        b0, b1 = np.polyfit(k, z, 1)
        b0, b1 = max(b0, 1e-9), max(b1, 1e-9)
        err = float(np.sum((1.0 / (b0 * k + b1) + b2 - y) ** 2))
        if best is None or err < best[0]:
            best = (err, np.array([b0, b1, b2]))
    assert best is not None

    def residual(theta: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (theta[0] * k + theta[1]) + theta[2] - y)

    sol = least_squares(
        residual,
        best[1],
        bounds=([1e-12, 1e-12, -np.inf], [np.inf, np.inf, lo]),
        x_scale="jac",
    )
    b0, b1, b2 = (float(v) for v in sol.x)
    return LossCurve(b0, b1, b2)


def remaining_epochs(
    epochs_done: float,
    max_epochs: float,
    history: tuple[Sequence[float], Sequence[float]] | None = None,
    *,
    increasing: bool = False,
    target: float | None = None,
    rel_tol: float = 0.01,
    min_epochs: float = 0.1,
) -> float:
    """Epochs still to train: the budget, tightened by the fitted curve when there is one.

    Args:
        epochs_done: epochs trained so far.
        max_epochs: the job's epoch budget (the most it will ever run).
        history: ``(epochs, values)`` of the loss or metric; fewer than three points uses the
            budget alone.
        increasing: the history is a metric that grows.
        target: stop at this loss (metric) value instead of at the flattening point.
        rel_tol: the flattening point: one epoch improves by less than this fraction of the
            curve's initial distance to its plateau.
        min_epochs: floor while the budget is not spent, so an optimistic fit never declares
            a running job finished.

    Example:
        >>> ks = list(range(1, 11))
        >>> hist = (ks, [1 / (0.5 * k + 1) + 0.2 for k in ks])
        >>> round(remaining_epochs(10, 90, hist), 1)  # flat at epoch ~11.7 of 90
        1.7
    """
    budget = max(0.0, max_epochs - epochs_done)
    if budget == 0.0:
        return 0.0
    if history is None or len(history[0]) < 3:
        return budget
    try:
        curve = fit_loss_curve(history[0], history[1], increasing=increasing)
    except (ValueError, np.linalg.LinAlgError):
        return budget
    if target is not None:
        end = curve.epoch_reaching(-target if increasing else target)
    else:
        end = curve.epoch_flat(rel_tol)
    if not math.isfinite(end):
        return budget
    return float(min(budget, max(min_epochs, end - epochs_done)))
