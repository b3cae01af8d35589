"""Finding the video files to ingest under the paths and globs a user gives.

Folders and ``**`` globs follow symbolic links into other folders, but each real folder is
visited once (by device and inode), so a link loop ends instead of recursing forever. Every
file is resolved to its real path, so two links to one file are one video.

Example:
    >>> found = discover_videos(["clips/", "talk.mp4"])  # doctest: +SKIP
    >>> found.videos[0].suffix  # doctest: +SKIP
    '.mp4'
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
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


def _walk_files(folder: Path, hidden: bool = False) -> Iterator[Path]:
    """Every file under ``folder``, following links, each real folder once (loops end)."""
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []  # reached again through a link: already walked
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if hidden or not d.startswith("."))
        for name in sorted(files):
            if hidden or not name.startswith("."):
                yield Path(root) / name


def _walk(folder: Path) -> Iterable[Path]:
    return (p for p in _walk_files(folder) if is_video_name(p))


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a glob pattern: ``**/`` spans folders, ``*`` and ``?`` stay in one.

    Example:
        >>> bool(_pattern_regex("a/**/*.mp4").match("a/b/c/x.mp4"))
        True
        >>> bool(_pattern_regex("a/*.mp4").match("a/b/x.mp4"))
        False
    """
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _glob(pattern: str) -> list[Path]:
    """Files matching ``pattern``; ``**`` walks links with loop detection, unlike ``glob``."""
    if "**" not in pattern:
        return [Path(m) for m in glob.glob(pattern)]
    parts = pattern.split("/")
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else ".")
    regex = _pattern_regex(pattern)
    hidden = any(part.startswith(".") and part not in (".", "..") for part in parts[fixed:])
    matches = []
    for path in _walk_files(Path(root), hidden=hidden):
        # Spelled as the pattern spells its fixed part ("./a", "/a", "a") so the regex applies.
        rel = os.path.relpath(path, root)
        text = os.path.join("/".join(parts[:fixed]) or "/", rel) if fixed else rel
        if regex.match(text):
            matches.append(path)
    return matches


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
        # One real path per file: two links (or a link and its target) are one video.
        p = Path(os.path.realpath(p))
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
            matches = _glob(os.path.expanduser(text))
            videos = [m for m in matches if m.is_file() and is_video_name(m)]
            if not videos:
                found.problems.append(f"{text}: no video files match")
            for p in sorted(videos):
                add(p)
        else:
            found.problems.append(f"{text}: no such file or folder")
    found.videos.sort()
    return found
