"""Benchmark: the full trace simulation, 8 workloads x 3 policies (target <= 5 min, 2 cores).

Prints the mean JCT of every run beside the published one (the fidelity ratios), each
policy's information (oracle or online), unfinished jobs, and the wall time per policy over
the workloads (target: the slowest registered policy under 2 minutes for the 8 workloads).
The default run is the full one (it takes well under a minute here); ``--quick`` runs
workload 1 only, ``--full`` adds the doubling-family and other registered policies.

Example:
    $ uv run python bench/bench_sim.py [--traces DIR] [--quick | --full]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.sched.apps import load_apps
from tasks.sched.experiments import (
    FIDELITY_TOLERANCE,
    fidelity_rows,
    published_mean_jct,
    run_matrix,
)
from tasks.sched.registry import POLICIES, information
from tasks.sched.simulator import SimResult
from tasks.sched.traces import TraceError, find_traces_dir, workload_files

TARGET_S = 300.0
POLICY_TARGET_S = 120.0
BASE_POLICIES = ("fifo", "optimus", "tiresias")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="workload 1 only")
    mode.add_argument("--full", action="store_true", help="every registered policy")
    args = parser.parse_args()
    try:
        traces = find_traces_dir(args.traces)
        files = workload_files(traces / "workloads")
    except TraceError as exc:
        print(f"skipped: {exc}")
        return 0
    if args.quick:
        files = files[:1]
    policies = sorted(POLICIES) if args.full else list(BASE_POLICIES)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    started = time.perf_counter()
    apps = load_apps(traces)

    def done(r: SimResult) -> None:
        pub = published_mean_jct(r.policy, r.workload)
        ratio = f"{r.mean_jct_s / pub:6.3f}" if pub else "     -"
        print(
            f"{r.workload:12s} {r.policy:22s} {r.information:6s} mean {r.mean_jct_s:9.1f} s  "
            f"published {pub or float('nan'):9.1f} s  ratio {ratio}  "
            f"util {r.gpu_utilisation:5.1%}  restarts {r.restarts:4d}  "
            f"unfinished {r.unfinished}",
            flush=True,
        )

    results: list[SimResult] = []
    per_policy: dict[str, float] = {}
    for policy in policies:
        start = time.perf_counter()
        results += run_matrix(files, [policy], apps, on_done=done)
        per_policy[policy] = time.perf_counter() - start
    elapsed = time.perf_counter() - started
    print()
    print(f"{'policy':22s} {'info':6s} {'ours mean':>10s} {'published':>10s} {'ratio':>7s}  wall")
    for policy in policies:
        ours = [r.mean_jct_s for r in results if r.policy == policy]
        pubs = [published_mean_jct(r.policy, r.workload) for r in results if r.policy == policy]
        mean = sum(ours) / len(ours)
        label = f"{policy:22s} {information(policy):6s} {mean:10.1f}"
        wall = f"{per_policy[policy]:6.1f} s"
        if all(p is not None for p in pubs):
            pub_mean = sum(p for p in pubs if p is not None) / len(pubs)
            print(f"{label} {pub_mean:10.1f} {mean / pub_mean:7.3f}  {wall}")
        else:
            print(f"{label} {'-':>10s} {'-':>7s}  {wall}")
    rows = fidelity_rows(results)
    worst = max((abs(r["ratio"] - 1) for r in rows), default=0.0)
    ok = all(r["within_tolerance"] for r in rows)
    print(
        f"\nfidelity: {len(rows)} runs with a published mean, worst deviation {worst:.2%} "
        f"(gate {FIDELITY_TOLERANCE:.0%}): {'PASS' if ok else 'FAIL'}"
    )
    print(
        f"wall time: {elapsed:.1f} s for {len(results)} runs "
        f"(target {TARGET_S:.0f} s, ratio {elapsed / TARGET_S:.3f} of the target)"
    )
    slowest = max(per_policy, key=lambda p: per_policy[p])
    print(
        f"slowest policy: {slowest}, {per_policy[slowest]:.1f} s for {len(files)} workloads "
        f"(target {POLICY_TARGET_S:.0f} s, ratio {per_policy[slowest] / POLICY_TARGET_S:.3f})"
    )
    unfinished = [f"{r.workload}:{r.policy}" for r in results if r.unfinished]
    if unfinished:
        print(f"unfinished jobs in: {', '.join(unfinished)}")
    return 0 if ok and elapsed <= TARGET_S and not unfinished else 1


if __name__ == "__main__":
    raise SystemExit(main())
