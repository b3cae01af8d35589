"""Training checkpoints: written atomically, verified by checksum, newest valid one wins.

A checkpoint file is a header line ``TESSERA-CKPT1 <sha256 of payload>`` followed by the
``torch.save`` payload (model, optimizer, epoch, position in the epoch, RNG states, world
size, step). It is written to a temporary file in the same folder, fsynced, then renamed,
so a reader never sees half a checkpoint. The last few are kept; a file whose checksum does
not match is skipped and the previous one used.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> path, digest = save_checkpoint(d, {"step": 3, "w": [1, 2]}, step=3)
    >>> load_latest(d).state["step"]
    3
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

MAGIC = b"TESSERA-CKPT1 "
KEEP = 3
logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (truncated, wrong checksum, unreadable)."""


@dataclass(frozen=True)
class Loaded:
    """A verified checkpoint and where it came from."""

    path: Path
    checksum: str
    state: dict[str, Any]
    skipped: tuple[str, ...] = ()


def checkpoint_path(folder: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives (names sort by step)."""
    return folder / f"ckpt-{step:010d}.pt"


def save_checkpoint(
    folder: Path, state: dict[str, Any], step: int, keep: int = KEEP
) -> tuple[Path, str]:
    """Write ``state`` atomically as the checkpoint of ``step``; keep the newest ``keep``.

    Returns:
        The final path and the payload's sha256 hex digest.
    """
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    final = checkpoint_path(folder, step)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + digest.encode() + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in sorted(folder.glob("ckpt-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
    return final, digest


def read_checkpoint(path: Path) -> tuple[dict[str, Any], str]:
    """Read and verify one checkpoint file; :class:`CheckpointError` if it is damaged."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None
    header, sep, payload = raw.partition(b"\n")
    if not sep or not header.startswith(MAGIC):
        raise CheckpointError(f"{path}: not a Tessera checkpoint (bad header)")
    expected = header[len(MAGIC) :].decode(errors="replace")
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise CheckpointError(f"{path}: checksum mismatch (file is corrupt or truncated)")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot unpickle ({exc})") from None
    return state, actual


def load_latest(folder: Path) -> Loaded | None:
    """The newest checkpoint in ``folder`` that verifies, or ``None`` if there is none.

    Damaged files are skipped (and named in ``Loaded.skipped``), so a corrupt newest
    checkpoint falls back to the previous one.
    """
    skipped: list[str] = []
    for path in sorted(folder.glob("ckpt-*.pt"), reverse=True):
        try:
            state, digest = read_checkpoint(path)
        except CheckpointError as exc:
            logger.warning("skipping checkpoint: %s", exc)
            skipped.append(str(exc))
            continue
        return Loaded(path, digest, state, tuple(skipped))
    return None


def rng_states() -> dict[str, Any]:
    """The RNG states a resume restores (torch, numpy, python)."""
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def restore_rng(states: dict[str, Any]) -> None:
    """Restore RNG states saved by :func:`rng_states`."""
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
