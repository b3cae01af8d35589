"""Checkpoints are data: nothing in a file runs, any unusable one falls back, none fails loudly.

The unit cases use real files written by :func:`save_checkpoint`; the job cases run a real
one-rank job inline (gloo, real torch, real SQLite job store), damage its checkpoints the
way a crash, a bug or a hostile writer would, and run the next launch.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path

import pytest
import torch

from tasks.training.checkpoint import (
    MAGIC,
    REQUIRED,
    CheckpointError,
    load_latest,
    read_checkpoint,
    save_checkpoint,
)
from tasks.training.rank import RankContext, RankResult, run_rank
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore


class _Payload:
    """Pickles to a call of ``os.system``: what a planted checkpoint would run on load."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def plant(path: Path, state: dict[str, object]) -> str:
    """Write ``state`` as a checkpoint with a valid header and a self-computed checksum."""
    buf = io.BytesIO()
    torch.save(state, buf)
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    path.write_bytes(MAGIC + digest.encode() + b"\n" + buf.getvalue())
    return digest


class TestFilesAreData:
    def test_planted_code_is_refused_unrun_and_the_previous_one_used(self, tmp_path: Path) -> None:
        marker = tmp_path / "pwned"
        save_checkpoint(tmp_path, {"step": 1}, step=1)
        plant(tmp_path / "ckpt-0000000002.pt", {"step": 2, "x": _Payload(f"touch {marker}")})
        loaded = load_latest(tmp_path)
        assert loaded is not None and loaded.state["step"] == 1
        assert "not plain tensor data, refused" in loaded.skipped[0]
        assert not marker.exists()

    def test_checksum_valid_but_missing_keys_falls_back(self, tmp_path: Path) -> None:
        full = {"model": {}, "optimizer": {}, "epoch": 0, "position": 0, "step": 1, "rng": {}}
        save_checkpoint(tmp_path, full, step=1)
        save_checkpoint(tmp_path, {"model": {}, "step": 2}, step=2)
        loaded = load_latest(tmp_path, required=REQUIRED)
        assert loaded is not None and loaded.state["step"] == 1
        assert "missing keys ['epoch', 'optimizer', 'position', 'rng']" in loaded.skipped[0]

    def test_apply_failure_falls_back(self, tmp_path: Path) -> None:
        model = torch.nn.Linear(2, 2)
        save_checkpoint(tmp_path, {"model": model.state_dict()}, step=1)
        save_checkpoint(tmp_path, {"model": torch.nn.Linear(3, 2).state_dict()}, step=2)
        loaded = load_latest(tmp_path, apply=lambda s: model.load_state_dict(s["model"]))
        assert loaded is not None and loaded.path.name == "ckpt-0000000001.pt"
        assert "does not fit the job (RuntimeError" in loaded.skipped[0]

    def test_unrecorded_file_is_skipped(self, tmp_path: Path) -> None:
        _, digest = save_checkpoint(tmp_path, {"step": 1}, step=1)
        plant(tmp_path / "ckpt-0000000002.pt", {"step": 2})
        loaded = load_latest(tmp_path, recorded={"ckpt-0000000001.pt": digest})
        assert loaded is not None and loaded.state["step"] == 1
        assert "not recorded in the job store" in loaded.skipped[0]

    def test_none_usable_names_every_file(self, tmp_path: Path) -> None:
        for step in (1, 2):
            path, _ = save_checkpoint(tmp_path, {"step": step}, step=step)
            path.write_bytes(path.read_bytes()[:-5])
        with pytest.raises(CheckpointError) as info:
            load_latest(tmp_path)
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"no usable checkpoint in {tmp_path}")
        assert "ckpt-0000000001.pt: checksum mismatch" in message
        assert "ckpt-0000000002.pt: checksum mismatch" in message

    def test_reader_refuses_pickled_objects(self, tmp_path: Path) -> None:
        path = tmp_path / "ckpt-0000000001.pt"
        plant(path, {"step": 1, "x": _Payload("true")})
        with pytest.raises(CheckpointError, match="refused"):
            read_checkpoint(path)


def _run(store: JobStore, job_id: int, ckpt: Path, steps: int) -> RankResult:
    job = store.get(job_id)
    generation = store.start(job_id, job.generation, 1, ["inline"])
    assert generation is not None
    ctx = RankContext(
        job_id=job_id,
        name=job.name,
        generation=generation,
        rank=0,
        world_size=1,
        spec=job.spec,
        store_url=store.url,
        checkpoint_dir=str(ckpt),
        max_steps=steps,
    )
    return run_rank(ctx)


@pytest.fixture
def trained(tmp_path: Path) -> tuple[JobStore, int, Path]:
    """A job that ran 5 steps, checkpointing every step (the newest 3 files are kept)."""
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    spec = JobSpec(name="ck", epochs=2, batch_size=32, checkpoint_every_s=0.001)
    job = store.submit(spec)
    ckpt = tmp_path / "ckpt"
    assert _run(store, job.id, ckpt, steps=5).status == "stopped"
    assert [p.name for p in sorted(ckpt.glob("ckpt-*.pt"))][-1] == "ckpt-0000000005.pt"
    return store, job.id, ckpt


class TestJobResume:
    def test_recorded_checkpoint_missing_keys_falls_back(
        self, trained: tuple[JobStore, int, Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        store, job_id, ckpt = trained
        newest = ckpt / "ckpt-0000000005.pt"
        state, _ = read_checkpoint(newest)
        del state["optimizer"]
        # Recorded by the store as rank 0 would: the checksum is right, the content is not.
        digest = plant(newest, state)
        store.add_checkpoint(
            job_id, str(newest), step=5, epoch=0, position=160, world_size=1, checksum=digest
        )
        with caplog.at_level(logging.WARNING, logger="tasks.training.checkpoint"):
            result = _run(store, job_id, ckpt, steps=1)
        assert result.status == "stopped" and result.step == 5  # resumed at 4, one step
        assert "missing keys ['optimizer']" in caplog.text

    def test_shape_mismatch_falls_back(self, trained: tuple[JobStore, int, Path]) -> None:
        store, job_id, ckpt = trained
        newest = ckpt / "ckpt-0000000005.pt"
        state, _ = read_checkpoint(newest)
        name = next(iter(state["model"]))
        state["model"][name] = torch.zeros(1)
        digest = plant(newest, state)
        store.add_checkpoint(
            job_id, str(newest), step=5, epoch=0, position=160, world_size=1, checksum=digest
        )
        assert _run(store, job_id, ckpt, steps=1).step == 5

    def test_planted_newer_file_is_ignored(self, trained: tuple[JobStore, int, Path]) -> None:
        store, job_id, ckpt = trained
        state, _ = read_checkpoint(ckpt / "ckpt-0000000005.pt")
        plant(ckpt / "ckpt-0000000099.pt", {**state, "step": 99})
        assert _run(store, job_id, ckpt, steps=1).step == 6

    def test_no_checkpoint_loads_fails_the_job_naming_the_files(
        self, trained: tuple[JobStore, int, Path]
    ) -> None:
        store, job_id, ckpt = trained
        files = sorted(ckpt.glob("ckpt-*.pt"))
        for path in files:
            path.write_bytes(path.read_bytes()[:100])
        result = _run(store, job_id, ckpt, steps=1)
        job = store.get(job_id)
        assert result.status == "failed" and job.state == "failed" and job.pus == 0
        assert job.error is not None and "no usable checkpoint" in job.error
        assert all(p.name in job.error for p in files)
        assert not store.samples(job_id) or max(s.step for s in store.samples(job_id)) == 5

    def test_deleted_checkpoints_fail_instead_of_restarting(
        self, trained: tuple[JobStore, int, Path]
    ) -> None:
        store, job_id, ckpt = trained
        for path in ckpt.glob("ckpt-*.pt"):
            path.unlink()
        result = _run(store, job_id, ckpt, steps=1)
        assert result.status == "failed"
        assert "the job store records" in (store.get(job_id).error or "")

    def test_restart_only_when_the_spec_asks(self, tmp_path: Path) -> None:
        store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
        spec = JobSpec(name="again", checkpoint_every_s=0.001, restart_on_bad_checkpoint=True)
        job = store.submit(spec)
        ckpt = tmp_path / "ckpt"
        assert _run(store, job.id, ckpt, steps=3).step == 3
        for path in ckpt.glob("ckpt-*.pt"):
            path.write_bytes(b"garbage")
        result = _run(store, job.id, ckpt, steps=1)
        assert result.status == "stopped" and result.step == 1
