"""A job's process group: Dask names, the TCPStore rendezvous, and what the group measures.

Rank 0 opens a ``TCPStore`` on its own host with a port the OS picks and publishes
``host:port`` through a Dask ``Variable``; the other ranks look it up, all wait for each other
under a generous startup timeout, then join gloo (CPU) or NCCL (GPU). Names of the Dask
objects carry the store's namespace, the job and the launch generation, so two stores or two
launches of one job never meet.

Example:
    >>> rendezvous_name("ab12cd34", 7, 2)
    'tessera-rdzv-ab12cd34-7-2'
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from tasks.training.context import RankContext
from tasks.training.security import require_private

__all__ = [
    "allreduce_probe",
    "busiest_core_load",
    "group_core_share",
    "join_process_group",
    "leave_process_group",
    "rendezvous_name",
    "stop_event_name",
    "store_namespace",
]


def store_namespace(store_url: str) -> str:
    """Short tag of a job store, so jobs of different stores on one cluster never collide.

    Example:
        >>> store_namespace("sqlite:////a/jobs.db") != store_namespace("sqlite:////b/jobs.db")
        True
    """
    return hashlib.sha1(store_url.encode()).hexdigest()[:8]


def stop_event_name(namespace: str, job_id: int, generation: int) -> str:
    """Dask ``Event`` that asks a job's ranks to stop."""
    return f"tessera-stop-{namespace}-{job_id}-{generation}"


def rendezvous_name(namespace: str, job_id: int, generation: int) -> str:
    """Dask ``Variable`` where rank 0 publishes its TCPStore ``host:port``."""
    return f"tessera-rdzv-{namespace}-{job_id}-{generation}"


def worker_host() -> str:
    """This Dask worker's host (where rank 0 opens the TCPStore); loopback inline."""
    try:
        from distributed import get_worker

        addr = get_worker().address  # tcp://host:port
        return addr.split("://", 1)[-1].rsplit(":", 1)[0]
    except ValueError:  # not on a Dask worker (inline runs)
        return "127.0.0.1"


# GLOO_SOCKET_IFNAME as the worker process started with: a user's choice wins.
_USER_GLOO_IFNAME = os.environ.get("GLOO_SOCKET_IFNAME")


def interface_of(host: str) -> str | None:
    """The network interface of this machine that holds address ``host`` (``None``: none).

    Example:
        >>> interface_of("127.0.0.1")
        'lo'
    """
    import psutil

    try:
        ip = socket.gethostbyname(host)
    except OSError:
        return None
    for name, addrs in psutil.net_if_addrs().items():
        if any(a.address.split("%", 1)[0] == ip for a in addrs):
            return name
    return None


def _bind_gloo(host: str) -> None:
    """Make gloo listen on, and advertise, the interface of this worker's address.

    Left alone, gloo takes the address the machine's hostname resolves to, which is often
    loopback (Debian's ``127.0.1.1 <hostname>`` in /etc/hosts): peers on other hosts are
    then told to connect to 127.0.0.1 and the full mesh never forms (seen with workers in
    separate network namespaces, tests/training/test_multihost.py). On a single host it
    could also put gloo on a public interface while the cluster is on loopback.
    """
    if _USER_GLOO_IFNAME:
        return
    name = interface_of(host)
    if name is not None:
        os.environ["GLOO_SOCKET_IFNAME"] = name


# Rank 0's store server (the listening socket) for the launch in progress in this process.
# The process group only ever holds a client of it: DDP keeps a destroyed process group
# alive inside torch, and a server held there would listen for the life of the worker.
_server: list[Any] = []


def join_process_group(ctx: RankContext) -> str:
    """Join the job's process group (NCCL on a GPU, gloo otherwise); return the backend.

    Pair it with :func:`leave_process_group` when the launch ends.
    """
    import torch
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "gloo":
        _bind_gloo(worker_host())
    dist.init_process_group(
        backend,
        store=_rendezvous(ctx),
        rank=ctx.rank,
        world_size=ctx.world_size,
        timeout=timedelta(seconds=ctx.timeout_s),
    )
    return backend


def leave_process_group() -> None:
    """Destroy this process's group and close rank 0's store server (its port with it).

    Example:
        >>> leave_process_group()  # nothing joined: a no-op
    """
    import torch.distributed as dist

    try:
        if dist.is_initialized():
            dist.destroy_process_group()
    finally:
        _server.clear()


def _listening_store(host: str, world_size: int, timeout: timedelta) -> Any:
    """Rank 0's TCPStore, listening on ``host`` only.

    ``TCPStore`` itself binds every interface (``::``) whatever host it is given; the store
    lets anyone who reaches it join the job's group, so it gets a socket bound here instead.
    """
    import torch.distributed as dist

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(max(64, world_size))
    port = listener.getsockname()[1]
    return dist.TCPStore(
        host,
        port,
        world_size,
        is_master=True,
        timeout=timeout,
        wait_for_workers=False,
        master_listen_fd=listener.detach(),  # the store owns (and closes) the socket
    )


def _rendezvous(ctx: RankContext) -> Any:
    """Open the TCPStore: rank 0 hosts it on a free port of its worker's host, the others
    look it up. The store closes (its port too) once the process group is destroyed."""
    import torch.distributed as dist

    startup = timedelta(seconds=max(ctx.startup_timeout_s, ctx.timeout_s))
    _server.clear()
    if ctx.world_size == 1:
        host = "127.0.0.1"
        _server.append(_listening_store(host, 1, startup))
        return dist.TCPStore(host, _server[0].port, 1, is_master=False, timeout=startup)
    from distributed import Variable

    var = Variable(rendezvous_name(store_namespace(ctx.store_url), ctx.job_id, ctx.generation))
    if ctx.rank == 0:
        host = worker_host()
        # TCPStore and gloo have no TLS: off loopback only on a network said to be private.
        require_private(host, "rank rendezvous (torch TCPStore, gloo)", ctx.trusted_network)
        _server.append(_listening_store(host, ctx.world_size, startup))
        store = dist.TCPStore(
            host, _server[0].port, ctx.world_size, is_master=False, timeout=startup
        )
        var.set(f"{host}:{_server[0].port}")
    else:
        try:
            addr = var.get(timeout=startup.total_seconds())
        except TimeoutError:
            raise TimeoutError(
                f"rendezvous timed out after {startup.total_seconds():.0f} s"
            ) from None
        host, port = str(addr).rsplit(":", 1)
        store = dist.TCPStore(host, int(port), ctx.world_size, is_master=False, timeout=startup)
    # Startup barrier under the generous startup timeout; the process group's own
    # (shorter) timeout then only has to cover collectives between running ranks.
    try:
        store.set(f"ready/{ctx.rank}", "1")
        store.wait([f"ready/{r}" for r in range(ctx.world_size)], startup)
    except BaseException:
        _server.clear()  # a failed rendezvous leaves no listening port behind
        raise
    return store


def busiest_core_load(ranks: Sequence[tuple[str, Sequence[int], int]]) -> float:
    """Ranks per core on the busiest core, from each rank's ``(host, allowed cores, threads)``.

    A rank spreads its threads evenly over the cores it may run on; the ring waits for the
    rank on the busiest core, so that core's load is the job's share (at least ``1``).

    Example:
        >>> busiest_core_load([("h", [0], 1), ("h", [1], 1), ("h", [0], 1), ("h", [1], 1)])
        2.0
        >>> busiest_core_load([("a", [0, 1], 1), ("b", [0, 1], 1)])
        1.0
    """
    load: dict[tuple[str, int], float] = defaultdict(float)
    for host, cores, threads in ranks:
        for core in cores:
            load[(host, core)] += max(1, threads) / max(1, len(cores))
    return max(1.0, max(load.values(), default=1.0))


def group_core_share(threads: int) -> float:
    """The share (:func:`busiest_core_load`) of the joined gloo group; ``1`` on GPUs.

    A collective: every rank of the group must call it.
    """
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_backend() != "gloo":
        return 1.0
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    mine = (socket.gethostname(), cores or list(range(os.cpu_count() or 1)), threads)
    everyone: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    return busiest_core_load(everyone)


def allreduce_probe(ctx: RankContext, sizes_mib: list[int], iters: int = 5) -> dict[int, float]:
    """Time ``all_reduce`` of float32 tensors of each size in a process group set up exactly as
    a training job's (same rendezvous and backend); returns the median seconds per size.

    Used by ``bench/bench_allreduce.py`` to measure bus bandwidth through the launcher.
    """
    import statistics

    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, ctx.threads))
    backend = join_process_group(ctx)
    device = torch.device("cuda", 0) if backend == "nccl" else torch.device("cpu")
    out: dict[int, float] = {}
    try:
        for mib in sizes_mib:
            x = torch.ones(mib * (1 << 20) // 4, device=device)
            dist.all_reduce(x)  # warm-up (connections, buffers)
            times = []
            for _ in range(iters):
                dist.barrier()
                t0 = time.perf_counter()
                dist.all_reduce(x)
                if backend == "nccl":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            out[mib] = statistics.median(times)
    finally:
        leave_process_group()
    return out
