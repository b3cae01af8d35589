"""Probe a video file: streams, duration, frame rate and content hash, or a one-line error.

Example:
    >>> info = probe_video(Path("clip.mp4"))  # doctest: +SKIP
    >>> info.duration_s, info.has_audio  # doctest: +SKIP
    (24.0, True)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from tasks.video.records import BadVideoError, VideoInfo

__all__ = ["VIDEO_EXTENSIONS", "content_hash", "probe_video"]

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
)

_CHUNK = 1 << 20
_TAIL_S = 3.0
"""A file whose video packets stop more than this before the header's duration is truncated."""
logger = logging.getLogger(__name__)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, read in 1 MiB chunks so large videos stay out of memory.

    Example:
        >>> content_hash(Path("/dev/null"))[:12]
        'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _cause(stderr: str, path: Path) -> str:
    """ffprobe's complaints as one line, without its ``[demuxer @ 0x..]`` and path prefixes."""
    causes: list[str] = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line:
            line = line.split("]", 1)[1].strip()
        line = line.removeprefix(f"{path}:").strip()
        if line and line not in causes:
            causes.append(line)
    return "; ".join(causes[:3]) or "unknown error"


def _ffprobe(path: Path, *extra: str) -> dict[str, Any]:
    cmd = ["ffprobe", "-v", "error", "-of", "json", *extra, str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise RuntimeError("ffprobe not found on PATH (make setup installs ffmpeg)") from exc
    except subprocess.TimeoutExpired as exc:
        raise BadVideoError(f"{path}: ffprobe timed out") from exc
    if done.returncode != 0:
        raise BadVideoError(f"{path}: not a readable video ({_cause(done.stderr, path)})")
    return json.loads(done.stdout or "{}")


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "0"):
        return 0.0
    num, _, den = text.partition("/")
    return float(num) / float(den or 1) if float(den or 1) else 0.0


def _video_end(path: Path, interval: str | None = None) -> float | None:
    """End time (s) of the last video packet the demuxer can read, or ``None`` if none.

    Demuxing reads the packets' bytes, so a file cut short stops where its data stops,
    whatever its header (an mp4 index written up front) claims.
    """
    cmd = ["ffprobe", "-v", "error", "-of", "json", "-select_streams", "v:0"]
    cmd += ["-show_entries", "packet=pts_time,dts_time,duration_time"]
    if interval:
        cmd += ["-read_intervals", interval]
    try:
        done = subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None
    ends = [
        float(p.get("pts_time") or p.get("dts_time")) + float(p.get("duration_time") or 0.0)
        for p in json.loads(done.stdout or "{}").get("packets", [])
        if p.get("pts_time") or p.get("dts_time")
    ]
    return max(ends) if ends else None


def measured_duration(path: Path, header_s: float) -> float:
    """The playable duration: the header's, unless the packets stop well before it.

    Only the last seconds are read for an intact file; a truncated one is demuxed whole to
    find where its data ends, and a warning names the file and both durations.

    Example:
        >>> measured_duration(Path("clip.mp4"), 24.0)  # doctest: +SKIP
        24.0
    """
    tail = _video_end(path, f"{max(0.0, header_s - _TAIL_S):.3f}%")
    if tail is not None and tail >= header_s - _TAIL_S:
        return header_s
    end = _video_end(path)
    if end is None or end <= 0:
        raise BadVideoError(f"{path}: no readable video packets (header says {header_s:.1f} s)")
    if end >= header_s - _TAIL_S:
        return header_s
    logger.warning(
        "%s: truncated: header says %.1f s, video data ends at %.1f s; using %.1f s",
        path,
        header_s,
        end,
        end,
    )
    return end


def probe_video(path: Path) -> VideoInfo:
    """Describe a video with ffprobe and check that its first frame decodes.

    Args:
        path: a video file.

    Returns:
        The file's :class:`VideoInfo`, with the SHA-256 of its bytes as ``content_hash``.

    Raises:
        BadVideoError: one line ``"<path>: <cause>"`` when the path is missing or unreadable,
            the file is empty, is not a video, or cannot be decoded (e.g. truncated).

    Example:
        >>> probe_video(Path("notes.txt"))  # doctest: +SKIP
        Traceback (most recent call last):
        BadVideoError: notes.txt: not a readable video (Invalid data found when processing input)
    """
    path = Path(path)
    if not path.exists():
        raise BadVideoError(f"{path}: no such file")
    if not path.is_file():
        raise BadVideoError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise BadVideoError(f"{path}: permission denied")
    size = path.stat().st_size
    if size == 0:
        raise BadVideoError(f"{path}: empty file (0 bytes)")
    meta = _ffprobe(path, "-show_format", "-show_streams")
    streams = meta.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not s.get("disposition", {}).get("attached_pic", 0)
        ),
        None,
    )
    if video is None:
        raise BadVideoError(f"{path}: no video stream")
    duration = float(meta.get("format", {}).get("duration") or video.get("duration") or 0.0)
    if duration <= 0:
        raise BadVideoError(f"{path}: unknown or zero duration")
    # A header can be intact while the frames are not: decode the first frame to be sure.
    frames = _ffprobe(
        path, "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries", "frame=pts"
    )
    if not frames.get("frames"):
        raise BadVideoError(f"{path}: no decodable video frames")
    # An intact header over cut-off data (a torn copy) would store its full duration.
    duration = measured_duration(path, duration)
    try:
        digest = content_hash(path)
    except OSError as exc:
        raise BadVideoError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return VideoInfo(
        path=path,
        content_hash=digest,
        duration_s=duration,
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")) or 25.0,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )
