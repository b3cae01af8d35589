"""Training workloads: built-in models that train offline, and user code by import path.

Built-ins: ``mlp`` and ``cnn`` on scikit-learn's bundled digits (8x8 images, 10 classes,
a fixed 80/20 split), and ``transformer`` on a synthetic sequence task (name the most
frequent token of a sequence). User code ``package.module:build`` is a function
``build(spec) -> Workload`` (or a tuple ``(model, train, test, loss_fn)``), which is how real
users bring their own training.

Example:
    >>> from tasks.training.spec import JobSpec
    >>> w = build_workload(JobSpec(name="x", model="mlp"))
    >>> len(w.train), len(w.test)
    (1438, 359)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset, default_collate

from tasks.training.spec import JobSpec, SpecError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Workload:
    """A model, its datasets and its loss; the metric is test accuracy unless given.

    Attributes:
        model: the module to train (one replica per rank).
        train: training set, indexable; ``TensorDataset`` is batched without copies.
        test: held-out set the metric is computed on.
        loss_fn: ``(outputs, targets) -> scalar``.
        metric_fn: ``(model, test) -> float``, larger is better; accuracy by default.
    """

    model: nn.Module
    train: Dataset[Any]
    test: Dataset[Any]
    loss_fn: LossFn
    metric_fn: Callable[[nn.Module, Dataset[Any]], float] | None = None

    def metric(self) -> float:
        """The test metric of the current model (accuracy by default)."""
        if self.metric_fn is not None:
            return float(self.metric_fn(self.model, self.test))
        return accuracy(self.model, self.test)


def batch(dataset: Dataset[Any], indices: Sequence[int] | torch.Tensor) -> tuple[Any, Any]:
    """The ``(inputs, targets)`` batch of ``dataset`` at ``indices``."""
    if isinstance(dataset, TensorDataset):
        idx = torch.as_tensor(indices, dtype=torch.long)
        x, y = (t[idx] for t in dataset.tensors)
        return x, y
    items = default_collate([dataset[int(i)] for i in indices])
    return items[0], items[1]


@torch.no_grad()
def accuracy(model: nn.Module, dataset: Dataset[Any], chunk: int = 1024) -> float:
    """Share of ``dataset`` whose argmax prediction equals the label.

    Example:
        >>> ds = TensorDataset(torch.eye(3), torch.arange(3))
        >>> accuracy(nn.Identity(), ds)
        1.0
    """
    was_training = model.training
    model.eval()
    n = len(dataset)  # type: ignore[arg-type]
    correct = 0
    for start in range(0, n, chunk):
        x, y = batch(dataset, range(start, min(n, start + chunk)))
        correct += int((model(x).argmax(dim=-1) == y).sum())
    model.train(was_training)
    return correct / max(1, n)


def digits(seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's bundled digits as float images in [0, 1], split 80/20 with ``seed``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = len(y) // 5
    test, train = perm[:n_test], perm[n_test:]
    return TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test])


def sequences(
    n: int = 4096, length: int = 16, vocab: int = 8, seed: int = 0
) -> tuple[TensorDataset, TensorDataset]:
    """Synthetic task: label each token sequence with its most frequent token.

    The answer depends on the whole sequence, so a model must attend across positions.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, length), generator=g)
    counts = torch.nn.functional.one_hot(x, vocab).sum(dim=1)
    y = counts.argmax(dim=1)
    n_test = n // 5
    return TensorDataset(x[n_test:], y[n_test:]), TensorDataset(x[:n_test], y[:n_test])


class MLP(nn.Module):
    """Two hidden layers over the flattened 8x8 digit."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))


class SmallCNN(nn.Module):
    """Two 3x3 convolutions and a linear head for 8x8 digits."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(2 * channels * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class SequenceTransformer(nn.Module):
    """A two-layer transformer encoder with mean pooling, for :func:`sequences`."""

    def __init__(self, vocab: int = 8, length: int = 16, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, length, dim))
        layer = nn.TransformerEncoderLayer(
            dim, nhead=4, dim_feedforward=2 * dim, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(dim, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x) + self.pos[:, : x.shape[1]])
        return self.head(h.mean(dim=1))


def _builtin(spec: JobSpec) -> Workload:
    # Same seed on every rank: DDP also broadcasts rank 0's weights, but equal init keeps
    # a single-PU run and a multi-PU run comparable.
    torch.manual_seed(spec.seed)
    if spec.model in ("mlp", "cnn"):
        train, test = digits(spec.seed)
        model: nn.Module = MLP() if spec.model == "mlp" else SmallCNN()
    else:
        train, test = sequences(seed=spec.seed)
        model = SequenceTransformer()
    return Workload(model, train, test, nn.functional.cross_entropy)


def load_user_code(path: str) -> Callable[[JobSpec], Any]:
    """Import ``package.module:build``; :class:`SpecError` names the path and the cause."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SpecError(f"model: cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SpecError(f"model: {module_name!r} has no callable {attr!r}")
    return fn


def build_workload(spec: JobSpec) -> Workload:
    """Build the model, datasets and loss a spec names.

    User code may return a :class:`Workload` or ``(model, train, test, loss_fn)``.
    """
    if not spec.is_user_code:
        return _builtin(spec)
    result = load_user_code(spec.model)(spec)
    if isinstance(result, Workload):
        return result
    if isinstance(result, tuple) and len(result) == 4:
        return Workload(*result)
    raise SpecError(
        f"model: {spec.model} returned {type(result).__name__}, "
        "expected a Workload or (model, train, test, loss_fn)"
    )
