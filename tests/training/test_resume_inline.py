"""A one-rank job run inline: stop after N steps, corrupt its newest checkpoint, resume."""

from __future__ import annotations

from pathlib import Path

from tasks.training.checkpoint import read_checkpoint
from tasks.training.rank import RankContext, run_rank
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore


def _ctx(store: JobStore, job_id: int, gen: int, ckpt: Path, max_steps: int | None) -> RankContext:
    spec = store.get(job_id).spec
    return RankContext(
        job_id=job_id,
        name=spec.name,
        generation=gen,
        rank=0,
        world_size=1,
        spec=spec,
        store_url=store.url,
        checkpoint_dir=str(ckpt),
        max_steps=max_steps,
    )


class TestCorruptCheckpointOnResume:
    def test_resumes_from_the_previous_checkpoint(self, tmp_path: Path) -> None:
        store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
        spec = JobSpec(name="inline", epochs=3, batch_size=32, lr=0.05)
        job = store.submit(spec)
        ckpt = tmp_path / "ckpt"
        # Epoch 1 ends at step 44 (1438 // 32) and checkpoints; the stop at step 60 too.
        store.start(job.id, 0, 1, ["inline"])
        first = run_rank(_ctx(store, job.id, 1, ckpt, max_steps=60))
        assert first.status == "stopped" and first.step == 60
        assert store.get(job.id).state == "queued"
        newest = sorted(ckpt.glob("ckpt-*.pt"))[-1]
        previous_step = read_checkpoint(sorted(ckpt.glob("ckpt-*.pt"))[-2])[0]["step"]
        newest.write_bytes(newest.read_bytes()[:-100])  # torn write of the newest file

        store.start(job.id, 1, 1, ["inline"])
        resumed = run_rank(_ctx(store, job.id, 2, ckpt, max_steps=1))
        assert resumed.status == "stopped"
        assert resumed.step == previous_step + 1  # the damaged step-60 checkpoint was skipped
        assert previous_step == 1438 // 32
