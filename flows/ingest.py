"""Ingest and backfill flows: video files -> described, encoded scenes in LanceDB.

``ingest`` takes files and folders, ``backfill`` a folder or glob (optionally only files
modified since a time). Both run the per-file stages (:mod:`tasks.video.ingest`) as Prefect
tasks on Dask (a local cluster of ``settings.local_workers`` processes, or the cluster at
``settings.dask_address``), write each finished file through the one store writer in the
flow process, and publish a table artifact (file, scenes, seconds, status). Stages that can
use a GPU carry the Dask resource ``GPU=1`` when the cluster has GPU workers.

Example:
    >>> if __name__ == "__main__":  # doctest: +SKIP
    ...     ingest(["clips/"], settings=Settings(lancedb_uri="/tmp/scenes"))

``ingest_flow`` and ``backfill_flow`` are the Prefect flows (deployments, the UI); their
parameters are plain values, never the settings object, which can hold credentials.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.states import Failed

from flows.ingest_cluster import cluster_kwargs, current_cluster
from flows.runtime import run_settings, settings_for_runs
from tasks.settings import Settings
from tasks.video.discover import discover_videos
from tasks.video.ingest import FileWork, describe_task, encode_task, probe_task

STAGES: tuple[str, ...] = ("probe", "describe", "encode", "store")
"""The stages a file passes, in order (progress reporting counts these)."""

ProgressHook = Callable[[str, str, FileWork | None], None]
"""``hook(file, stage, work)``: ``stage`` finished for ``file`` (``work`` once known)."""

_progress: ProgressHook | None = None


@contextlib.contextmanager
def progress_to(hook: ProgressHook) -> Iterator[None]:
    """Report stage completions of the flows run inside this block to ``hook``.

    The CLI draws its progress bars from these calls; a hook is process-local, which is
    fine because the flow body (not the Dask workers) emits them.
    """
    global _progress
    previous, _progress = _progress, hook
    try:
        yield
    finally:
        _progress = previous


def _emit(path: str, stage: str, work: FileWork | None) -> None:
    if _progress is not None:
        _progress(path, stage, work)


@dataclass(frozen=True)
class FileReport:
    """One row of the ingest report (and of the Prefect table artifact)."""

    file: str
    status: str
    scenes: int
    seconds: float
    error: str = ""
    stages: dict[str, float] | None = None
    video_s: float = 0.0

    def row(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "scenes": self.scenes,
            "seconds": round(self.seconds, 2),
            "status": self.status if not self.error else f"{self.status}: {self.error}",
        }


def make_task_runner(settings: Settings) -> Any:
    """A ``DaskTaskRunner`` on ``settings.dask_address``, else on the local cluster of the
    enclosing :func:`flows.ingest_cluster.warm_cluster`, else on a new local cluster.

    Example:
        >>> make_task_runner(Settings(dask_address="tcp://10.0.0.5:8786")).address
        'tcp://10.0.0.5:8786'
    """
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        from tasks.training.security import dask_security

        security = dask_security(settings)
        client_kwargs = {"security": security} if security is not None else None
        return DaskTaskRunner(address=settings.dask_address, client_kwargs=client_kwargs)
    warm = current_cluster()
    if warm is not None:  # started (and warming up) before the Prefect API was waited on
        return DaskTaskRunner(address=warm.address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster", cluster_kwargs=cluster_kwargs(settings)
    )


def _gpu_workers() -> bool:
    """Whether the Dask cluster this flow runs on has workers offering a ``GPU`` resource.

    The ``DaskTaskRunner`` connects lazily (on the first submit), so its client is asked
    for here, before any task is submitted.
    """
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    try:
        runner_client = getattr(ctx.task_runner, "client", None) if ctx else None
        if runner_client is None:
            from distributed import get_client

            runner_client = get_client()
        workers = runner_client.scheduler_info(n_workers=-1).get("workers", {})
    except Exception:  # not on Dask (e.g. a thread-pool task runner): nothing to route
        return False
    return any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values())


@flow(name="ingest-files", log_prints=False)
def ingest_files(files: list[str]) -> list[FileReport]:
    """Run every file's stages on Dask and write finished files to the store.

    Args:
        files: video files (already discovered); the store and models come from the run's
            settings (:func:`flows.runtime.run_settings`).
    """
    import dask
    from prefect.futures import as_completed

    from tasks.video.store import SceneStore

    logger = get_run_logger()
    settings = run_settings()
    store = SceneStore.open(settings.lancedb_uri, storage_options=settings.lancedb_storage_options)
    stored = frozenset(store.stored_hashes())
    gpu = _gpu_workers()
    started = {f: time.perf_counter() for f in files}
    stage_of: dict[Any, tuple[str, str]] = {}
    for path in files:
        probed = probe_task.submit(path)
        annotation = {"resources": {"GPU": 1}} if gpu else {}
        with dask.annotate(**annotation):
            described = describe_task.submit(probed, settings, stored)  # type: ignore[call-overload]
        encoded = encode_task.submit(described, settings)
        stage_of.update({probed: (path, "probe"), described: (path, "describe")})
        stage_of[encoded] = (path, "encode")

    reports: dict[str, FileReport] = {}
    bar = create_progress_artifact(
        progress=0.0, key="ingest-progress", description=f"{len(files)} files: stored so far"
    )
    for future in as_completed(list(stage_of)):
        path, stage = stage_of[future]
        work: FileWork = future.result()
        _emit(path, stage, work)
        if stage != "encode":
            continue
        reports[path] = _finish(store, work, started[path])
        _emit(path, "store", work)
        update_progress_artifact(bar, progress=100.0 * len(reports) / len(files))  # type: ignore[arg-type]
        report = reports[path]
        if report.error:
            logger.warning(report.error)
        else:
            logger.info("%s: %s, %d scenes", path, report.status, report.scenes)
    if store.finish_batch():
        logger.info("store optimised: %d scenes in %s", store.count(), settings.lancedb_uri)
    return [reports[f] for f in files]


def _finish(store: Any, work: FileWork, started: float) -> FileReport:
    """The single writer: upsert a described file, or report why it stops here."""
    info = work.info
    if work.status == "pending" and info is not None:
        t0 = time.perf_counter()
        try:
            result = store.write_video(str(info.path), info.content_hash, work.scenes, work.vectors)
        except Exception as exc:
            work = work.failed("store", exc)
        else:
            work.stage_seconds["store"] = time.perf_counter() - t0
            return FileReport(
                work.path,
                result.status,
                result.scenes,
                time.perf_counter() - started,
                stages=dict(work.stage_seconds),
                video_s=info.duration_s,
            )
    return FileReport(
        work.path,
        work.status,
        0,
        time.perf_counter() - started,
        error=work.error,
        stages=dict(work.stage_seconds),
        video_s=info.duration_s if info is not None else 0.0,
    )


def _publish(title: str, reports: list[FileReport], problems: list[str]) -> None:
    rows = [r.row() for r in reports]
    rows += [
        {"file": p.split(": ", 1)[0], "scenes": 0, "seconds": 0.0, "status": p} for p in problems
    ]
    written = sum(r.status == "written" for r in reports)
    create_table_artifact(
        key=title,
        table=rows,
        description=f"{written} written, {len(rows) - written} other of {len(rows)} inputs",
    )


def _run(paths: list[str], settings: Settings, modified_since: datetime | None, key: str) -> Any:
    """Discover, ingest on Dask, publish the report; a Failed state when any input failed
    (the reports are its data), so a partial failure is not green in the Prefect UI."""
    logger = get_run_logger()
    found = discover_videos(paths, modified_since=modified_since)
    for problem in found.problems:
        logger.warning(problem)
        _emit(problem.split(": ", 1)[0], "discover", None)
    reports: list[FileReport] = []
    if found.videos:
        runner = ingest_files.with_options(task_runner=make_task_runner(settings))
        with settings_for_runs(settings):
            reports = runner([str(v) for v in found.videos])
    _publish(key, reports, found.problems)
    failed = [FileReport(p.split(": ", 1)[0], "failed", 0, 0.0, error=p) for p in found.problems]
    everything = reports + failed
    bad = [r for r in everything if r.error]
    if bad:
        return Failed(
            message=f"{len(bad)} of {len(everything)} inputs failed: "
            + "; ".join(r.error for r in bad[:3]),
            data=everything,
        )
    return everything


def _reports(state: Any) -> list[FileReport]:
    """The reports of a finished ingest or backfill run, whether it failed or not."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return list(value)


@flow(name="ingest")
def ingest_flow(
    paths: list[str], db: str | None = None, dask_address: str | None = None
) -> list[FileReport]:
    """Ingest video files and folders (recursively) into the scene store.

    Args:
        paths: files and folders.
        db: LanceDB URI (default: the setting).
        dask_address: an existing Dask scheduler (default: the setting, else a local cluster).
    """
    settings = run_settings().with_overrides(db, dask_address)
    return _run(paths, settings, None, "ingest-report")


@flow(name="backfill")
def backfill_flow(
    source: str,
    modified_since: datetime | None = None,
    db: str | None = None,
    dask_address: str | None = None,
) -> list[FileReport]:
    """Ingest every video under a folder or glob that is not stored yet.

    Files whose content hash is already stored are skipped without decoding; bad files are
    reported and passed over. A table artifact lists every file with its outcome; the run
    fails when any file failed.

    Args:
        source: a folder (searched recursively) or a glob such as ``/media/**/*.mp4``.
        modified_since: only files modified at or after this time.
        db: LanceDB URI (default: the setting).
        dask_address: an existing Dask scheduler (default: the setting, else a local cluster).
    """
    settings = run_settings().with_overrides(db, dask_address)
    return _run([source], settings, modified_since, "backfill-report")


def ingest(
    paths: list[str],
    db: str | None = None,
    dask_address: str | None = None,
    settings: Settings | None = None,
) -> list[FileReport]:
    """Run the ingest flow and return every input's report (failed ones included).

    Args:
        paths: files and folders.
        db: LanceDB URI (default: the setting).
        dask_address: an existing Dask scheduler (default: the setting, else a local cluster).
        settings: settings to use instead of the process's own (never a flow parameter).

    Example:
        >>> reports = ingest(["talk.mp4"])  # doctest: +SKIP
        >>> reports[0].status  # doctest: +SKIP
        'written'
    """
    with settings_for_runs(settings):
        return _reports(ingest_flow(paths, db, dask_address, return_state=True))


def backfill(
    source: str,
    modified_since: datetime | None = None,
    db: str | None = None,
    dask_address: str | None = None,
    settings: Settings | None = None,
) -> list[FileReport]:
    """Run the backfill flow and return every file's report (failed ones included).

    Example:
        >>> backfill("/media/archive", modified_since=datetime(2026, 1, 1))  # doctest: +SKIP
    """
    with settings_for_runs(settings):
        state = backfill_flow(source, modified_since, db, dask_address, return_state=True)
        return _reports(state)
