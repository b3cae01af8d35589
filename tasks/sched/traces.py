"""Readers for the Pollux cluster traces (workloads and per-application measurements).

The traces live outside the repository (``../shared/traces/pollux`` beside the repository
root, or a folder the caller names). Every reader raises :class:`TraceError` with a one-line
message naming the file and the cause when the data is absent or malformed.

Example:
    >>> root = find_traces_dir()  # doctest: +SKIP
    >>> jobs = read_workload(root / "workloads" / "workload-1.csv")  # doctest: +SKIP
    >>> jobs[0].application  # doctest: +SKIP
    'cifar10'
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

APPLICATIONS: tuple[str, ...] = ("bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3")
_VALIDATION = re.compile(r"^validation-(\d+)\.csv$")


class TraceError(ValueError):
    """A trace file or folder is missing or malformed."""


@dataclass(frozen=True)
class WorkloadJob:
    """One row of a workload file.

    Attributes:
        name: job name, unique within the workload.
        arrival_s: submission time in seconds from the start of the trace.
        application: one of :data:`APPLICATIONS`.
        num_replicas: tuned GPU count that fixed-size baselines use.
        batch_size: tuned total batch size.
    """

    name: str
    arrival_s: float
    application: str
    num_replicas: int
    batch_size: int


@dataclass(frozen=True)
class PlacementTable:
    """``placements.csv``: measured step times per placement and per-GPU batch size."""

    placement: tuple[str, ...]
    local_bsz: np.ndarray
    step_time: np.ndarray
    sync_time: np.ndarray


@dataclass(frozen=True)
class ScalabilityTable:
    """``scalability.csv``: measured step times per (nodes, replicas, per-GPU batch)."""

    num_nodes: np.ndarray
    num_replicas: np.ndarray
    local_bsz: np.ndarray
    step_time: np.ndarray
    sync_time: np.ndarray


@dataclass(frozen=True)
class ValidationTable:
    """``validation-<B>.csv``: one row per epoch of a run at total batch size B."""

    batch_size: int
    progress: np.ndarray
    iteration: np.ndarray
    metric: np.ndarray
    grad_sqr: np.ndarray
    grad_var: np.ndarray


@dataclass(frozen=True)
class AppTraces:
    """Every measurement of one application."""

    name: str
    placements: PlacementTable
    scalability: ScalabilityTable
    validation: dict[int, ValidationTable]


def default_traces_dir(repo_root: Path | None = None) -> Path:
    """Return ``<repo_root>/../shared/traces/pollux`` (the documented default location).

    Args:
        repo_root: repository root; defaults to the one holding this package.

    Example:
        >>> default_traces_dir(Path("/work/main"))
        PosixPath('/work/shared/traces/pollux')
    """
    root = repo_root if repo_root is not None else Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "traces" / "pollux"


def find_traces_dir(path: Path | str | None = None) -> Path:
    """Resolve and check the traces folder.

    Args:
        path: folder given by the caller; ``None`` means :func:`default_traces_dir` of the
            repository, then of the working directory.

    Raises:
        TraceError: the folder is absent or has no ``workloads`` folder.

    Example:
        >>> find_traces_dir("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        TraceError: traces folder /nonexistent not found
    """
    if path is not None:
        folder = Path(path)
    else:
        # Beside the repository root; from an installed copy, beside the working directory.
        folder = default_traces_dir()
        if not folder.is_dir():
            folder = default_traces_dir(Path.cwd())
    if not folder.is_dir():
        raise TraceError(
            f"traces folder {folder} not found (give --traces DIR with the Pollux traces)"
        )
    return folder


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise TraceError(f"{path}: file not found")
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            missing = [c for c in columns if c not in header]
            if missing:
                raise TraceError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TraceError(f"{path}: unreadable ({exc})") from exc
    if not rows:
        raise TraceError(f"{path}: no rows")
    return rows


def _floats(path: Path, rows: list[dict[str, str]], column: str) -> np.ndarray:
    try:
        values = np.array([float(r[column]) for r in rows], dtype=float)
    except (TypeError, ValueError) as exc:
        raise TraceError(f"{path}: column {column} is not numeric ({exc})") from exc
    if not np.all(np.isfinite(values)):
        raise TraceError(f"{path}: column {column} has non-finite values")
    return values


def read_workload(path: Path | str) -> list[WorkloadJob]:
    """Read a workload CSV (``name,time,application,num_replicas,batch_size``).

    Args:
        path: the CSV file.

    Returns:
        Jobs in arrival order (ties keep file order).

    Raises:
        TraceError: missing file, column, bad value or unknown application.

    Example:
        >>> read_workload("workload-1.csv")[0].name  # doctest: +SKIP
        'cifar10-0'
    """
    path = Path(path)
    rows = _rows(path, ("name", "time", "application", "num_replicas", "batch_size"))
    jobs: list[WorkloadJob] = []
    for line, row in enumerate(rows, start=2):
        try:
            job = WorkloadJob(
                name=row["name"],
                arrival_s=float(row["time"]),
                application=row["application"],
                num_replicas=int(row["num_replicas"]),
                batch_size=int(row["batch_size"]),
            )
        except (TypeError, ValueError) as exc:
            raise TraceError(f"{path}:{line}: bad value ({exc})") from exc
        if job.application not in APPLICATIONS:
            raise TraceError(f"{path}:{line}: unknown application {job.application!r}")
        if job.num_replicas < 1 or job.batch_size < 1:
            raise TraceError(f"{path}:{line}: num_replicas and batch_size must be positive")
        jobs.append(job)
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise TraceError(f"{path}: duplicate job names")
    return sorted(jobs, key=lambda j: j.arrival_s)


def workload_files(path: Path | str) -> list[Path]:
    """List the workload CSVs a path names: the file itself, or the CSVs of a folder.

    Folders are sorted naturally, so ``workload-10`` follows ``workload-9``.

    Example:
        >>> workload_files("/nonexistent")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        TraceError: workload /nonexistent not found
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            path.glob("*.csv"),
            key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)],
        )
        if not files:
            raise TraceError(f"workload folder {path} has no .csv files")
        return files
    raise TraceError(f"workload {path} not found")


def read_application(traces_dir: Path | str, name: str) -> AppTraces:
    """Read ``placements.csv``, ``scalability.csv`` and every ``validation-<B>.csv``.

    Args:
        traces_dir: the Pollux traces folder.
        name: application folder name.

    Raises:
        TraceError: a file is absent or malformed.

    Example:
        >>> read_application(find_traces_dir(), "cifar10").validation.keys()  # doctest: +SKIP
        dict_keys([128, 256, 512, 1024, 2048, 4096])
    """
    folder = Path(traces_dir) / name
    if not folder.is_dir():
        raise TraceError(f"application folder {folder} not found")
    p_path = folder / "placements.csv"
    p_rows = _rows(p_path, ("placement", "local_bsz", "step_time", "sync_time"))
    for row in p_rows:
        if not row["placement"].isdigit() or "0" in row["placement"]:
            raise TraceError(f"{p_path}: bad placement {row['placement']!r}")
    placements = PlacementTable(
        placement=tuple(r["placement"] for r in p_rows),
        local_bsz=_floats(p_path, p_rows, "local_bsz"),
        step_time=_floats(p_path, p_rows, "step_time"),
        sync_time=_floats(p_path, p_rows, "sync_time"),
    )
    s_path = folder / "scalability.csv"
    s_cols = ("num_nodes", "num_replicas", "local_bsz", "step_time", "sync_time")
    s_rows = _rows(s_path, s_cols)
    scalability = ScalabilityTable(*(_floats(s_path, s_rows, c) for c in s_cols))
    validation: dict[int, ValidationTable] = {}
    for path in folder.iterdir():
        match = _VALIDATION.match(path.name)
        if not match:
            continue
        cols = ("progress", "iteration", "metric", "grad_sqr", "grad_var")
        rows = _rows(path, cols)
        validation[int(match.group(1))] = ValidationTable(
            int(match.group(1)), *(_floats(path, rows, c) for c in cols)
        )
    if not validation:
        raise TraceError(f"{folder}: no validation-<B>.csv files")
    return AppTraces(name, placements, scalability, dict(sorted(validation.items())))


def workload_variant(
    jobs: list[WorkloadJob], load: float = 1.0, seed: int | None = None
) -> list[WorkloadJob]:
    """A workload at another load, optionally resampled: the load-sensitivity check.

    Arrival times are divided by ``load`` (2.0: jobs arrive twice as fast). With ``seed``,
    the jobs are first drawn with replacement from the workload's rows (arrival time and all),
    so a resampled workload keeps the mix and the arrival pattern of the original; the drawn
    jobs are renamed ``<application>-<k>`` in arrival order, so names stay unique.

    Raises:
        ValueError: ``load`` is not positive.

    Example:
        >>> jobs = [WorkloadJob("a-0", 100.0, "cifar10", 1, 128)]
        >>> workload_variant(jobs, load=2.0)[0].arrival_s
        50.0
    """
    if not load > 0:
        raise ValueError(f"load must be positive, got {load}")
    picked = list(jobs)
    if seed is not None and picked:
        import random

        rng = random.Random(seed)
        drawn = sorted((rng.choice(jobs) for _ in jobs), key=lambda j: j.arrival_s)
        picked = [
            WorkloadJob(
                f"{j.application}-{k}", j.arrival_s, j.application, j.num_replicas, j.batch_size
            )
            for k, j in enumerate(drawn)
        ]
    return [
        WorkloadJob(j.name, j.arrival_s / load, j.application, j.num_replicas, j.batch_size)
        for j in picked
    ]


def variant_name(stem: str, load: float = 1.0, seed: int | None = None) -> str:
    """The label of a workload variant; the original's own name at load 1 without a seed.

    Example:
        >>> variant_name("workload-1", 1.5), variant_name("workload-1")
        ('workload-1@1.5x', 'workload-1')
    """
    name = stem if load == 1.0 else f"{stem}@{load:g}x"
    return name if seed is None else f"{name}~seed{seed}"
