"""All-reduce bus bandwidth through Tessera's launcher vs plain torch.distributed.

Both sides run ``all_reduce`` of float32 tensors between the same number of ranks in the
same run, interleaved size by size: (a) ranks started by the launcher path on Dask PU
workers (Dask rendezvous, TCPStore on rank 0's host, gloo/NCCL as a training job gets it),
(b) plain ``torch.multiprocessing`` processes with ``init_process_group`` on a TCP URL.
Bus bandwidth = bytes * 2 (n - 1) / n / seconds (the ring all-reduce's traffic per rank).
Target: launcher >= 90% of plain.

    uv run python bench/bench_allreduce.py          # 2 ranks, 1..64 MiB (about 1 min)
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
    from tasks.training.rank import RankContext, allreduce_probe
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
    args = parser.parse_args()
    worlds = [2, 4] if args.full else [2]
    sizes = [1, 4, 16, 64, 256] if args.full else [1, 4, 16, 64]
    iters = 5 if args.full else 3

    from bench._cluster import bench_cluster

    print(f"host: {os.cpu_count()} CPUs; backend gloo; median of >= {iters} per size")
    print(f"{'ranks':>5} {'MiB':>5} {'plain GB/s':>11} {'launcher GB/s':>14} {'ratio':>6}")
    worst = float("inf")
    with bench_cluster(max(worlds)) as (_settings, client, _store):
        gen = 0
        for world in worlds:
            for mib in sizes:
                gen += 1
                # Small messages are latency-bound and noisy on a shared host: more repeats.
                reps = max(iters, min(30, 64 // mib))
                t_l = launcher_side(client, world, [mib], reps, gen)[mib]
                t_p = plain(world, [mib], reps)[mib]
                factor = mib * (1 << 20) * 2 * (world - 1) / world / 1e9
                bw_p, bw_l = factor / t_p, factor / t_l
                worst = min(worst, bw_l / bw_p)
                print(f"{world:>5} {mib:>5} {bw_p:>11.2f} {bw_l:>14.2f} {bw_l / bw_p:>6.2f}")
    print(f"worst launcher/plain ratio: {worst:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
