"""Trace readers: real files, and a clear one-line error for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.sched.traces import (
    TraceError,
    find_traces_dir,
    read_application,
    read_workload,
    workload_files,
)
from tests.sched.sim_support import real_traces, write_app, write_workload


class TestWorkload:
    def test_rows_sorted_by_arrival(self, tmp_path: Path) -> None:
        path = write_workload(
            tmp_path / "w.csv", [("b", 20, "ncf", 1, 256), ("a", 10, "cifar10", 2, 128)]
        )
        jobs = read_workload(path)
        assert [j.name for j in jobs] == ["a", "b"]
        assert jobs[0].arrival_s == 10.0 and jobs[0].num_replicas == 2

    def test_unknown_application(self, tmp_path: Path) -> None:
        path = write_workload(tmp_path / "w.csv", [("a", 0, "gpt5", 1, 8)])
        with pytest.raises(TraceError, match=r"w\.csv:2: unknown application 'gpt5'"):
            read_workload(path)

    def test_bad_number(self, tmp_path: Path) -> None:
        path = tmp_path / "w.csv"
        path.write_text("name,time,application,num_replicas,batch_size\na,soon,ncf,1,8\n")
        with pytest.raises(TraceError, match="bad value"):
            read_workload(path)

    def test_missing_column(self, tmp_path: Path) -> None:
        path = tmp_path / "w.csv"
        path.write_text("name,time\na,0\n")
        with pytest.raises(TraceError, match="missing column"):
            read_workload(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(TraceError, match="file not found"):
            read_workload(tmp_path / "nope.csv")

    def test_folder_sorted_naturally(self, tmp_path: Path) -> None:
        for k in (10, 2, 1):
            write_workload(tmp_path / f"workload-{k}.csv", [("a", 0, "ncf", 1, 8)])
        assert [p.stem for p in workload_files(tmp_path)] == [
            "workload-1",
            "workload-2",
            "workload-10",
        ]

    def test_empty_folder(self, tmp_path: Path) -> None:
        with pytest.raises(TraceError, match=r"no \.csv files"):
            workload_files(tmp_path)


class TestApplication:
    def test_reads_hand_made_folder(self, tmp_path: Path) -> None:
        traces = read_application(write_app(tmp_path), "cifar10")
        assert sorted(traces.validation) == [10, 40]
        assert "11" in traces.placements.placement

    def test_absent_traces_folder(self, tmp_path: Path) -> None:
        with pytest.raises(TraceError, match="not found"):
            find_traces_dir(tmp_path / "absent")

    def test_bad_placement_string(self, tmp_path: Path) -> None:
        write_app(tmp_path)
        path = tmp_path / "cifar10" / "placements.csv"
        path.write_text(path.read_text() + "x1,10,1.0,0.1\n")
        with pytest.raises(TraceError, match="bad placement"):
            read_application(tmp_path, "cifar10")

    def test_non_numeric_step_time(self, tmp_path: Path) -> None:
        write_app(tmp_path)
        path = tmp_path / "cifar10" / "scalability.csv"
        path.write_text(path.read_text() + "2,2,10,fast,0.1\n")
        with pytest.raises(TraceError, match="step_time is not numeric"):
            read_application(tmp_path, "cifar10")

    def test_real_traces(self) -> None:
        root = real_traces()
        jobs = read_workload(root / "workloads" / "workload-1.csv")
        assert len(jobs) == 160
        assert len(workload_files(root / "workloads")) == 8
