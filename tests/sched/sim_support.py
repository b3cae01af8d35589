"""Small shared helpers for the simulator tests: a hand-made trace folder and the real one.

The hand-made application has step times linear in (nodes, replicas, per-GPU batch), so
every interpolation has a value that can be worked out by hand:
step = 0.5 x nodes + 0.25 x replicas + 0.05 x local_bsz, sync = 0.1 x nodes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from tasks.sched.apps import AppModel, load_apps
from tasks.sched.traces import read_application


def linear_step(nodes: int, replicas: int, bsz: float) -> float:
    return 0.5 * nodes + 0.25 * replicas + 0.05 * bsz


def write_app(root: Path, name: str = "cifar10") -> Path:
    """Write a tiny application folder under ``root`` and return ``root``."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["placement,local_bsz,step_time,sync_time"]
    for placement, nodes, replicas in (("1", 1, 1), ("2", 1, 2), ("11", 2, 2)):
        for bsz in (10, 20):
            rows.append(f"{placement},{bsz},{linear_step(nodes, replicas, bsz)},{0.1 * nodes}")
    (folder / "placements.csv").write_text("\n".join(rows) + "\n")
    rows = ["num_nodes,num_replicas,local_bsz,step_time,sync_time"]
    for nodes, replicas in ((2, 4), (4, 4), (4, 8)):
        for bsz in (10, 20):
            rows.append(
                f"{nodes},{replicas},{bsz},{linear_step(nodes, replicas, bsz)},{0.1 * nodes}"
            )
    (folder / "scalability.csv").write_text("\n".join(rows) + "\n")
    header = "progress,iteration,metric,grad_sqr,grad_var\n"
    (folder / "validation-10.csv").write_text(header + "100,100,0.5,1,0\n200,200,0.6,1,0\n")
    (folder / "validation-40.csv").write_text(header + "110,40,0.5,1,3\n210,80,0.6,2,6\n")
    return root


def tiny_app(root: Path, max_local_bsz: int | None = None) -> AppModel:
    """The hand-made application with 2 epochs."""
    return AppModel(read_application(write_app(root), "cifar10"), 2, max_local_bsz)


def write_workload(path: Path, rows: list[tuple[str, float, str, int, int]]) -> Path:
    lines = ["name,time,application,num_replicas,batch_size"]
    lines += [f"{n},{t},{a},{r},{b}" for n, t, a, r, b in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def real_traces() -> Path:
    """The shared Pollux traces beside the repository root, or skip the test."""
    repo = Path(__file__).resolve().parents[2]
    for candidate in (
        repo.parent / "shared" / "traces" / "pollux",
        Path("/work/shared/traces/pollux"),
    ):
        if (candidate / "workloads").is_dir():
            return candidate
    pytest.skip("Pollux traces not found at ../shared/traces/pollux beside the repository root")


@lru_cache(maxsize=1)
def _real_apps(path: str) -> dict[str, AppModel]:
    return load_apps(path)


def real_apps() -> dict[str, AppModel]:
    """Application models from the shared traces (built once per session), or skip."""
    return _real_apps(str(real_traces()))
