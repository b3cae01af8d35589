"""Checkpoints: atomic, checksummed, and a corrupt newest one falls back to the previous."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tasks.training.checkpoint import (
    CheckpointError,
    load_latest,
    read_checkpoint,
    restore_rng,
    rng_states,
    save_checkpoint,
)


class TestRoundTrip:
    def test_state_and_rng_survive(self, tmp_path: Path) -> None:
        states = rng_states()
        expected = torch.rand(3)
        save_checkpoint(tmp_path, {"w": torch.arange(4), "rng": states, "step": 7}, step=7)
        loaded = load_latest(tmp_path)
        assert loaded is not None and loaded.state["step"] == 7
        assert torch.equal(loaded.state["w"], torch.arange(4))
        restore_rng(loaded.state["rng"])
        assert torch.equal(torch.rand(3), expected)

    def test_no_temporary_files_left_and_old_ones_pruned(self, tmp_path: Path) -> None:
        for step in range(6):
            save_checkpoint(tmp_path, {"step": step}, step=step, keep=3)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == [f"ckpt-{s:010d}.pt" for s in (3, 4, 5)]

    def test_empty_folder(self, tmp_path: Path) -> None:
        assert load_latest(tmp_path) is None


class TestCorruption:
    def test_flipped_byte_falls_back_to_previous(self, tmp_path: Path) -> None:
        save_checkpoint(tmp_path, {"step": 1}, step=1)
        newest, _ = save_checkpoint(tmp_path, {"step": 2}, step=2)
        raw = bytearray(newest.read_bytes())
        raw[-10] ^= 0xFF
        newest.write_bytes(bytes(raw))
        with pytest.raises(CheckpointError, match="checksum mismatch"):
            read_checkpoint(newest)
        loaded = load_latest(tmp_path)
        assert loaded is not None and loaded.state["step"] == 1
        assert "checksum mismatch" in loaded.skipped[0]

    def test_truncated_and_foreign_files_are_skipped(self, tmp_path: Path) -> None:
        save_checkpoint(tmp_path, {"step": 1}, step=1)
        newest, _ = save_checkpoint(tmp_path, {"step": 2}, step=2)
        newest.write_bytes(newest.read_bytes()[:50])
        (tmp_path / "ckpt-0000000009.pt").write_bytes(b"not a checkpoint")
        loaded = load_latest(tmp_path)
        assert loaded is not None and loaded.state["step"] == 1
        assert len(loaded.skipped) == 2
