"""Finding the video files to ingest under the paths and globs a user gives.

Example:
    >>> found = discover_videos(["clips/", "talk.mp4"])  # doctest: +SKIP
    >>> found.videos[0].suffix  # doctest: +SKIP
    '.mp4'
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".wmv",
        ".flv",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".3gp",
        ".ogv",
    }
)
"""File name endings treated as video when a folder is searched (any case)."""


@dataclass
class Discovery:
    """What :func:`discover_videos` found.

    Attributes:
        videos: video files, absolute, sorted, each once.
        problems: one line per path that could not be used (missing, unreadable).
    """

    videos: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_video_name(path: Path) -> bool:
    """Whether ``path`` has a common video file extension.

    Example:
        >>> is_video_name(Path("a/B.MP4")), is_video_name(Path("notes.txt"))
        (True, False)
    """
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            p = Path(root) / name
            if not name.startswith(".") and is_video_name(p):
                yield p


def discover_videos(
    paths: Iterable[str | Path], modified_since: datetime | None = None
) -> Discovery:
    """Expand files, folders (recursively) and glob patterns into video files.

    A file named explicitly is kept whatever its extension (the probe stage then says
    whether it is a video); folders and globs yield only common video extensions.

    Args:
        paths: files, folders or glob patterns (``**`` recurses).
        modified_since: keep only files modified at or after this time.

    Example:
        >>> discover_videos(["/no/such/file.mp4"]).problems
        ['/no/such/file.mp4: no such file or folder']
    """
    found = Discovery()
    seen: set[Path] = set()

    def add(p: Path) -> None:
        p = p.absolute()
        if p in seen:
            return
        if modified_since is not None:
            try:
                mtime = datetime.fromtimestamp(p.stat().st_mtime, tz=modified_since.tzinfo)
            except OSError as exc:
                found.problems.append(f"{p}: cannot stat ({exc.strerror})")
                return
            if mtime < modified_since:
                return
        seen.add(p)
        found.videos.append(p)

    for raw in paths:
        text = str(raw)
        path = Path(text).expanduser()
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                found.problems.append(f"{path}: folder is not readable (permission denied)")
                continue
            for p in _walk(path):
                add(p)
        elif path.exists() or path.is_symlink():
            add(path)
        elif glob.has_magic(text):
            matches = [Path(m) for m in glob.glob(os.path.expanduser(text), recursive=True)]
            videos = [m for m in matches if m.is_file() and is_video_name(m)]
            if not videos:
                found.problems.append(f"{text}: no video files match")
            for p in sorted(videos):
                add(p)
        else:
            found.problems.append(f"{text}: no such file or folder")
    found.videos.sort()
    return found
