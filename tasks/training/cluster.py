"""The Dask cluster training runs on: start a local one, find it again, stop it.

``cluster_up`` starts a real ``dask scheduler`` process and one single-threaded ``dask
worker`` process per PU with the resource ``PU=1`` (on a GPU host one worker per GPU, pinned
by ``CUDA_VISIBLE_DEVICES``, with ``PU=1,GPU=1``, the dask-cuda layout). CPU workers float
over the host's cores by default; ``pin_cpu_workers`` pins each to one core, round-robin
(``taskset``, like Slurm's ``--cpu-bind=cores``), which only pays on a host that runs
nothing else: on a 2-core machine that also ran the scheduler, pinning slowed 2-PU steps
by 30-40%. Either way, ranks that outnumber the cores share them, which the speed
function's ``share`` models. The processes outlive the command; the address and process
ids go to ``<data_dir>/state/cluster.json`` so later commands (and the reschedule flow in
another process) find the cluster. An existing cluster is used by setting ``dask_address``
instead.

Example:
    >>> from tasks.settings import Settings
    >>> cluster_address(Settings(dask_address="tcp://10.0.0.5:8786"))
    'tcp://10.0.0.5:8786'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from tasks.settings import Settings


class ClusterError(RuntimeError):
    """The cluster cannot be started, found or reached."""


@dataclass(frozen=True)
class ClusterInfo:
    """A cluster this project started (or was pointed at)."""

    address: str
    pus: int
    gpus: int
    pids: tuple[int, ...]
    started_at: float
    dashboard: str = ""


def state_file(settings: Settings) -> Path:
    """Where the address of the local cluster is remembered."""
    return settings.data_dir / "state" / "cluster.json"


def dashboard_link(client: Any) -> str:
    """The scheduler's dashboard address (where its scheduler listens), or "" if it has none.

    Example:
        >>> dashboard_link(client)  # doctest: +SKIP
        'http://127.0.0.1:40851/status'
    """
    info = client.scheduler_info(n_workers=0)
    port = info.get("services", {}).get("dashboard")
    if not port:
        return ""
    host = client.scheduler.address.split("://", 1)[-1].rsplit(":", 1)[0]
    return f"http://{host}:{port}/status"


def read_cluster(settings: Settings) -> ClusterInfo | None:
    """The cluster recorded by ``cluster up``, if any."""
    path = state_file(settings)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    known = {f.name for f in fields(ClusterInfo)}  # files of older versions lack new fields
    return ClusterInfo(
        **{k: v for k, v in data.items() if k in known} | {"pids": tuple(data["pids"])}
    )


def cluster_address(settings: Settings) -> str | None:
    """The scheduler address to use: ``dask_address`` if set, else the recorded cluster."""
    if settings.dask_address:
        return settings.dask_address
    info = read_cluster(settings)
    return info.address if info else None


def _gpu_count() -> int:
    try:
        import torch

        return int(torch.cuda.device_count())
    except Exception:
        return 0


HOST_CORES_ENV = "TESSERA_HOST_CORES"
# Dask configuration of the PU workers (see the file for why).
PU_WORKER_CONFIG = Path(__file__).resolve().parent / "dask"


def _usable_cores() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None, core: int | None = None
) -> subprocess.Popen[bytes]:
    # taskset before exec, so every thread and child process of the worker inherits the core.
    pin = ["taskset", "-c", str(core)] if core is not None else []
    # A new session: the cluster must outlive the CLI command that started it.
    with log.open("ab") as out:
        return subprocess.Popen(
            [*pin, sys.executable, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def cluster_up(
    settings: Settings, pus: int, host: str = "127.0.0.1", timeout_s: float = 120.0
) -> ClusterInfo:
    """Start a scheduler and ``pus`` PU workers (or one per GPU on a GPU host).

    Raises:
        ClusterError: a cluster is already recorded and reachable, or it did not start.
    """
    if pus < 1:
        raise ClusterError(f"--pus: must be at least 1, got {pus}")
    from tasks.training.security import (
        InsecureNetworkError,
        certificates,
        dask_security,
        require_private,
        tls_cli_args,
    )

    files = certificates(settings)
    if files is None:
        try:
            require_private(host, "Dask cluster", settings.trusted_network)
        except InsecureNetworkError as exc:
            raise ClusterError(str(exc)) from None
    tls = tls_cli_args(files) if files is not None else []
    security = dask_security(settings)
    existing = read_cluster(settings)
    if existing is not None and is_reachable(existing.address, security):
        raise ClusterError(f"a cluster is already up at {existing.address}; run `cluster down`")
    state = settings.data_dir / "state"
    state.mkdir(parents=True, exist_ok=True)
    scratch = (settings.data_dir / "dask").resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    sched_file = state / "dask-scheduler.json"
    sched_file.unlink(missing_ok=True)
    procs = [
        _spawn(
            [
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                host,
                "--port",
                "0",
                # Every socket binds to --host: a dashboard on 0.0.0.0 would expose the
                # cluster beyond the interface the user chose.
                "--dashboard-address",
                f"{host}:0",
                "--scheduler-file",
                str(sched_file),
                *(["--protocol", "tls", *tls] if tls else []),
            ],
            state / "dask-scheduler.log",
        )
    ]
    deadline = time.monotonic() + timeout_s
    while not sched_file.is_file():
        if procs[0].poll() is not None or time.monotonic() > deadline:
            _kill([p.pid for p in procs])
            raise ClusterError(f"scheduler did not start; see {state / 'dask-scheduler.log'}")
        time.sleep(0.2)
    address = json.loads(sched_file.read_text())["address"]
    gpus = _gpu_count()
    slots = gpus if gpus > 0 else pus
    cores = _usable_cores()
    pin = gpus == 0 and settings.pin_cpu_workers and shutil.which("taskset") is not None
    for i in range(slots):
        env = dict(os.environ)
        env[HOST_CORES_ENV] = str(len(cores))
        env.setdefault("DASK_CONFIG", str(PU_WORKER_CONFIG))  # a user's own config wins
        resources = "PU=1"
        name = f"pu-{i}"
        if gpus > 0:
            env["CUDA_VISIBLE_DEVICES"] = str(i)
            resources, name = "PU=1,GPU=1", f"gpu-{i}"
        procs.append(
            _spawn(
                [
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--host",
                    host,
                    "--dashboard-address",
                    f"{host}:0",
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--resources",
                    resources,
                    "--name",
                    name,
                    "--memory-limit",
                    "0",
                    "--local-directory",
                    str(scratch),
                    "--preload",
                    "tasks.training.preload",
                    *tls,
                ],
                state / f"dask-worker-{i}.log",
                env,
                core=cores[i % len(cores)] if pin else None,
            )
        )
    info = ClusterInfo(address, slots, gpus, tuple(p.pid for p in procs), time.time())
    try:
        from distributed import Client

        with Client(address, timeout=timeout_s, security=security) as client:
            client.wait_for_workers(slots, timeout=timeout_s)
            info = replace(info, dashboard=dashboard_link(client))
    except Exception as exc:
        _kill(list(info.pids))
        raise ClusterError(f"workers did not join {address}: {exc}") from None
    state_file(settings).write_text(json.dumps(asdict(info)))
    return info


def is_reachable(address: str, security: Any = None, timeout_s: float = 5.0) -> bool:
    """Whether a scheduler answers at ``address`` (with ``security`` for a TLS cluster)."""
    try:
        from distributed import Client

        with Client(address, timeout=timeout_s, security=security):
            return True
    except Exception:
        return False


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)


def cluster_down(settings: Settings, timeout_s: float = 30.0) -> ClusterInfo | None:
    """Shut down the recorded cluster (scheduler, nannies, workers); ``None`` if none."""
    info = read_cluster(settings)
    if info is None:
        return None
    try:
        from distributed import Client

        with Client(info.address, timeout=5) as client:
            client.shutdown()
    except Exception:
        pass  # already gone: the process-group kill below cleans up
    deadline = time.monotonic() + timeout_s
    alive = list(info.pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        if alive:
            time.sleep(0.2)
    _kill(alive)
    state_file(settings).unlink(missing_ok=True)
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of this process counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def connect(settings: Settings, timeout_s: float = 30.0) -> Any:
    """A Dask ``Client`` to the configured or recorded cluster.

    Raises:
        ClusterError: no cluster is configured or it does not answer.
    """
    address = cluster_address(settings)
    if address is None:
        raise ClusterError(
            "no Dask cluster: run `tessera cluster up --pus N` or set TESSERA_DASK_ADDRESS"
        )
    from distributed import Client

    from tasks.training.security import dask_security

    try:
        return Client(address, timeout=timeout_s, security=dask_security(settings))
    except Exception as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("-")
    return (stem, int(number)) if number.isdigit() else (name, -1)


def pu_workers(client: Any) -> list[str]:
    """Addresses of the workers that offer a PU, in a stable order (by name, pu-2 < pu-10).

    With ``pin_cpu_workers``, consecutive workers sit on different cores, so a job packed
    onto a run of them gets a core per rank while cores last.
    """
    info = client.scheduler_info(n_workers=-1)["workers"]
    pus = [
        (_natural(str(w.get("name"))), addr)
        for addr, w in info.items()
        if w.get("resources", {}).get("PU")
    ]
    return [addr for _, addr in sorted(pus)]


def _host_cores() -> int:
    env = os.environ.get(HOST_CORES_ENV)
    return int(env) if env else os.cpu_count() or 1


def cores_per_node(client: Any) -> int | None:
    """CPU cores per host that the PU workers share; ``None`` when the PUs are GPUs.

    ``cluster up`` tells its workers their host's cores before pinning them; on other
    clusters a worker reports ``os.cpu_count()``. The smallest host counts (a ring runs at
    the pace of its slowest rank).
    """
    info = client.scheduler_info(n_workers=-1)["workers"]
    pus = [a for a, w in info.items() if w.get("resources", {}).get("PU")]
    if not pus or any(info[a].get("resources", {}).get("GPU") for a in pus):
        return None
    return int(min(client.run(_host_cores, workers=pus).values()))
