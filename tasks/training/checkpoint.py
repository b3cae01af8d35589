"""Training checkpoints are data: written atomically, verified, newest usable one wins.

A checkpoint file is a header line ``TESSERA-CKPT1 <sha256 of payload>`` followed by the
``torch.save`` payload (model, optimizer, epoch, position in the epoch, RNG states, world
size, step). It is written to a temporary file in the same folder, fsynced, then renamed,
so a reader never sees half a checkpoint. The last few are kept.

Reading never runs code: the payload is loaded with ``torch.load(weights_only=True)``, which
accepts tensors and plain containers only (RNG states are saved as tensors and tuples for
that reason), so a planted file with a self-computed checksum is rejected, not executed.
When the job store's record is given, a file must also match the checksum it recorded.

A checkpoint that fails for any reason (header, checksum, not plain data, missing or
mistyped keys, or the caller's ``apply`` raising, e.g. a shape mismatch) is skipped and
the previous one tried. When files exist but none is usable, :class:`CheckpointError` names
every file and why, so a job never silently restarts from step 0.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

MAGIC = b"TESSERA-CKPT1 "
KEEP = 3
logger = logging.getLogger(__name__)


REQUIRED: dict[str, type | tuple[type, ...]] = {
    "model": dict,
    "optimizer": dict,
    "epoch": int,
    "position": int,
    "step": int,
    "rng": dict,
}
"""The keys (and types) a training checkpoint must hold to be resumed from."""


class CheckpointError(ValueError):
    """A checkpoint (or a whole folder of them) that cannot be used; the message says why."""


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


def read_checkpoint(
    path: Path, required: Mapping[str, type | tuple[type, ...]] | None = None
) -> tuple[dict[str, Any], str]:
    """Read and verify one checkpoint file as plain data; :class:`CheckpointError` if unusable.

    Args:
        path: the file.
        required: keys the state must hold, with their types (``REQUIRED`` for training).

    Example:
        >>> read_checkpoint(Path("/no/ckpt-0000000001.pt"))
        Traceback (most recent call last):
        ...
        tasks.training.checkpoint.CheckpointError: /no/ckpt-0000000001.pt: unreadable ...
    """
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
        # weights_only: tensors and plain containers only; anything else is refused unrun.
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not plain tensor data, refused ({cause})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a state dict")
    missing = sorted(k for k in (required or {}) if k not in state)
    if missing:
        raise CheckpointError(f"{path}: missing keys {missing}")
    for key, kind in (required or {}).items():
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise CheckpointError(f"{path}: {key} is a {type(state[key]).__name__}")
    return state, actual


def load_latest(
    folder: Path,
    *,
    required: Mapping[str, type | tuple[type, ...]] | None = None,
    apply: Callable[[dict[str, Any]], None] | None = None,
    recorded: Mapping[str, str] | None = None,
) -> Loaded | None:
    """The newest usable checkpoint in ``folder``; ``None`` only if it holds no checkpoint.

    Args:
        folder: the job's checkpoint folder.
        required: keys (and types) each state must hold.
        apply: called with each candidate state (load it into the model and optimizer);
            if it raises, the candidate is skipped like a corrupt file.
        recorded: file name -> checksum as the job store recorded them; when given, a file
            not recorded or with another checksum is skipped (it was not written by the job).

    Raises:
        CheckpointError: the folder holds checkpoint files and none is usable; the message
            names each file and why.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = save_checkpoint(d, {"step": 1}, step=1)
        >>> load_latest(d, required={"step": int, "model": dict})
        Traceback (most recent call last):
        ...
        tasks.training.checkpoint.CheckpointError: no usable checkpoint in ...
    """
    skipped: list[str] = []
    candidates = sorted(folder.glob("ckpt-*.pt"), reverse=True)
    for path in candidates:
        try:
            state, digest = read_checkpoint(path, required)
            if recorded is not None and recorded.get(path.name) != digest:
                why = "not recorded" if path.name not in recorded else "checksum differs from"
                raise CheckpointError(f"{path}: {why} in the job store's checkpoint list")
            if apply is not None:
                try:
                    apply(state)
                except Exception as exc:
                    cause = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    raise CheckpointError(
                        f"{path}: does not fit the job ({type(exc).__name__}: {cause[:300]})"
                    ) from None
        except CheckpointError as exc:
            logger.warning("skipping checkpoint: %s", exc)
            skipped.append(str(exc))
            continue
        if skipped:
            logger.warning("resuming from %s after skipping %d newer", path.name, len(skipped))
        return Loaded(path, digest, state, tuple(skipped))
    if candidates:
        raise CheckpointError(f"no usable checkpoint in {folder}: " + "; ".join(skipped))
    return None


def rng_states() -> dict[str, Any]:
    """The RNG states a resume restores (torch, numpy, python), as tensors and plain values.

    NumPy's state holds an ``ndarray``, which ``weights_only`` loading refuses; its key
    array is stored as a tensor instead.

    Example:
        >>> sorted(rng_states()["numpy"])
        ['cached_gaussian', 'has_gauss', 'keys', 'name', 'pos']
    """
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys).astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def restore_rng(states: dict[str, Any]) -> None:
    """Restore RNG states saved by :func:`rng_states`."""
    torch.set_rng_state(states["torch"])
    st = states["numpy"]
    keys = st["keys"].numpy().astype(np.uint32)
    np.random.set_state((st["name"], keys, st["pos"], st["has_gauss"], st["cached_gaussian"]))
    random.setstate(states["python"])
