"""All-reduce bus bandwidth through Tessera's launcher vs plain torch.distributed.

Both sides run ``all_reduce`` of float32 tensors between the same number of ranks in the
same run, in alternating pairs (launcher first, then plain first, ...), so the drift of a
shared host hits both alike; the ratio per size is the median over the pairs:
(a) ranks started by the launcher path on Dask PU workers (Dask rendezvous, TCPStore on
rank 0's host, gloo/NCCL as a training job gets it),
(b) plain ``torch.multiprocessing`` processes with ``init_process_group`` on a TCP URL.
Both sides pin rank ``r`` to core ``r mod cores`` (``pin_cpu_workers`` for the launcher's
workers): unpinned, whether two latency-bound ranks land on one core or two is chance, and
that swung single runs by 0.3x-2.5x on a 2-core host.
Bus bandwidth = bytes * 2 (n - 1) / n / seconds (the ring all-reduce's traffic per rank).
Target: launcher >= 90% of plain.

    uv run python bench/bench_allreduce.py          # 2 ranks, 1..64 MiB (about 2 min)
    uv run python bench/bench_allreduce.py --full   # 2 and 4 ranks, 1..256 MiB
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _plain_rank(
    rank: int, world: int, port: int, sizes: list[int], iters: int, out: object
) -> None:
    import torch
    import torch.distributed as dist

    # The same core the launcher's worker for this rank is pinned to (round-robin).
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[rank % len(cores)]})
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    res = {}
    for mib in sizes:
        x = torch.ones(mib * (1 << 20) // 4)
        dist.all_reduce(x)
        times = []
        for _ in range(iters):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(x)
            times.append(time.perf_counter() - t0)
        res[mib] = statistics.median(times)
    dist.destroy_process_group()
    if rank == 0:
        out.put(res)  # type: ignore[attr-defined]


def plain(world: int, sizes: list[int], iters: int) -> dict[int, float]:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    port = _free_port()
    procs = [
        ctx.Process(target=_plain_rank, args=(r, world, port, sizes, iters, q))
        for r in range(world)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return q.get()  # type: ignore[no-any-return]


def launcher_side(
    client: object, world: int, sizes: list[int], iters: int, gen: int
) -> dict[int, float]:
    from tasks.training.cluster import pu_workers
    from tasks.training.group import allreduce_probe
    from tasks.training.rank import RankContext
    from tasks.training.spec import JobSpec

    workers = pu_workers(client)[:world]
    futures = [
        client.submit(  # type: ignore[attr-defined]
            allreduce_probe,
            RankContext(
                job_id=0,
                name="allreduce",
                generation=gen,
                rank=r,
                world_size=world,
                spec=JobSpec(name="allreduce"),
                store_url=f"bench-{os.getpid()}",
                checkpoint_dir="",
            ),
            sizes,
            iters,
            workers=[w],
            resources={"PU": 1},
            pure=False,
        )
        for r, w in enumerate(workers)
    ]
    return futures[0].result()  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="2 and 4 ranks, 1..256 MiB")
    parser.add_argument("--pairs", type=int, default=7, help="alternating launcher/plain pairs")
    parser.add_argument("--ranks", type=int, nargs="+", help="rank counts (default 2; --full 2 4)")
    args = parser.parse_args()
    worlds = args.ranks or ([2, 4] if args.full else [2])
    sizes = [1, 4, 16, 64, 256] if args.full else [1, 4, 16, 64]
    iters = 20

    from bench._cluster import bench_cluster

    print(
        f"host: {os.cpu_count()} CPUs, ranks pinned round-robin; backend gloo; "
        f"{args.pairs} alternating pairs of runs, "
        f"each the median of >= {iters} all-reduces per size"
    )
    print(
        f"{'ranks':>5} {'MiB':>5} {'plain GB/s':>11} {'launcher GB/s':>14} "
        f"{'ratio':>6} {'(min-max over pairs)':>21}"
    )
    worst = float("inf")
    with bench_cluster(max(worlds), pin=True) as (_settings, client, _store):
        gen = 0
        for world in worlds:
            ratios: dict[int, list[float]] = {m: [] for m in sizes}
            t_plain: dict[int, list[float]] = {m: [] for m in sizes}
            t_launch: dict[int, list[float]] = {m: [] for m in sizes}
            for pair in range(args.pairs):
                gen += 1
                # Alternate which side goes first, so drift on a shared host cancels out.
                got: dict[str, dict[int, float]] = {}
                for side in "lp" if pair % 2 == 0 else "pl":
                    got[side] = (
                        launcher_side(client, world, sizes, iters, gen)
                        if side == "l"
                        else plain(world, sizes, iters)
                    )
                for mib in sizes:
                    t_launch[mib].append(got["l"][mib])
                    t_plain[mib].append(got["p"][mib])
                    ratios[mib].append(got["p"][mib] / got["l"][mib])
            for mib in sizes:
                factor = mib * (1 << 20) * 2 * (world - 1) / world / 1e9
                bw_p = factor / statistics.median(t_plain[mib])
                bw_l = factor / statistics.median(t_launch[mib])
                ratio = statistics.median(ratios[mib])
                worst = min(worst, ratio)
                spread = f"{min(ratios[mib]):.2f}-{max(ratios[mib]):.2f}"
                print(f"{world:>5} {mib:>5} {bw_p:>11.2f} {bw_l:>14.2f} {ratio:>6.2f} {spread:>21}")
    print(f"worst launcher/plain ratio (median over pairs): {worst:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
