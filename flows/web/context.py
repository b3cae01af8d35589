"""What the web UI reads, in one place: the scene store, one searcher, the job store.

The pages and the JSON API both call :class:`WebContext`, so there is one search path. The
encoder is loaded once, on the first search (or at start with ``preload``), and one
:class:`~tasks.video.search.SceneSearcher` answers every request. Video and thumbnail files
are found through the store by key only: a request never names a path.

Example:
    >>> ctx = WebContext(Settings())  # doctest: +SKIP
    >>> ctx.search("the word EXIT", limit=3)["results"][0]["time"]  # doctest: +SKIP
    '0:05-0:10'
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.settings import Settings
from tasks.video.export import clock, clock_range
from tasks.video.query import analyse
from tasks.video.search import SceneSearcher
from tasks.video.store import SceneStore, StoredVideo, is_local_uri, read_object

MODALITY_LABELS = {
    "transcript": "speech",
    "ocr": "on-screen text",
    "tags": "tags",
    "caption": "caption",
}
"""Modality names as the user reads them."""

_HASH_RE = re.compile(r"[0-9a-f]{6,128}")
_KEY_RE = re.compile(r"([0-9a-f]{6,128}):(\d{1,6})")
_THUMB_NAME_RE = re.compile(r"[0-9a-f]{1,128}-\d{1,6}\.jpg")


class NotFound(LookupError):
    """The store has no such video or scene (the API answers 404 with this message)."""


class FileGone(LookupError):
    """The stored video's file has moved or been deleted since ingest (404, with why)."""


@dataclass(frozen=True)
class VideoView:
    """One stored video for the library page and ``/api/videos``."""

    id: str
    name: str
    path: str
    scenes: int
    duration_s: float
    duration: str
    ingested_at: str
    available: bool
    thumbnails: list[str | None]


def video_view(v: StoredVideo) -> VideoView:
    """A stored video as the pages show it (thumbnails as URLs by scene key).

    Example:
        >>> from datetime import datetime, UTC
        >>> v = StoredVideo("/v/a.mp4", "ab12cd", 1, 65.0, datetime(2025, 1, 2, tzinfo=UTC), ("t",))
        >>> video_view(v).duration, video_view(v).thumbnails
        ('1:05', ['/media/thumb/ab12cd:0'])
    """
    return VideoView(
        id=v.video_hash,
        name=Path(v.video).name,
        path=v.video,
        scenes=v.scenes,
        duration_s=round(v.duration_s, 3),
        duration=clock(v.duration_s),
        ingested_at=v.ingested_at.strftime("%Y-%m-%d %H:%M UTC"),
        available=Path(v.video).is_file(),
        thumbnails=[
            f"/media/thumb/{v.video_hash}:{i}" if t else None for i, t in enumerate(v.thumbnails)
        ],
    )


def query_terms(part: str) -> list[str]:
    """The words of a query part worth highlighting (cue words and fillers dropped).

    Example:
        >>> query_terms("someone says the rocket launch")
        ['rocket', 'launch']
    """
    return [w for w in analyse(part).content.split() if len(w) > 1]


class WebContext:
    """The stores and the searcher behind every page and API call.

    Args:
        settings: the settings in force (``lancedb_uri``, ``job_store_url``, models).
        searcher: an already loaded searcher to use (tests share one); else loaded lazily.
    """

    def __init__(self, settings: Settings, searcher: SceneSearcher | None = None) -> None:
        self.settings = settings
        self._searcher = searcher
        self._lock = threading.Lock()
        self._store = searcher.store if searcher is not None else None
        self._videos: tuple[int, list[StoredVideo]] | None = None

    # -- stores ---------------------------------------------------------------------------

    @property
    def store(self) -> SceneStore:
        """The scene store (opened on first use; it sees other processes' writes)."""
        if self._store is None:
            self._store = SceneStore.open(
                self.settings.lancedb_uri,
                storage_options=self.settings.lancedb_storage_options,
            )
        return self._store

    @property
    def searcher(self) -> SceneSearcher:
        """The one searcher; the first call loads the encoder (a few seconds)."""
        with self._lock:
            if self._searcher is None:
                self._searcher = SceneSearcher.open(self.settings, self.settings.lancedb_uri)
                self._store = self._searcher.store
            return self._searcher

    def _refresh(self) -> None:
        # An ingest or `tessera videos remove` in another process writes new table versions;
        # an open LanceDB table keeps reading its own until told to look (a table created
        # after start is found by SceneStore.table itself).
        with self._lock:
            table = self.store.table
            if table is not None:
                table.checkout_latest()

    def _stored(self) -> list[StoredVideo]:
        # Listing reads a column of every row (17 ms at 1,200 rows): once per table version.
        self._refresh()
        version = self.store.version()
        cached = self._videos
        if cached is None or cached[0] != version:
            cached = self._videos = (version, self.store.videos())
        return cached[1]

    # -- videos and scenes ----------------------------------------------------------------

    def videos(self) -> list[VideoView]:
        """Every ingested video, by path."""
        return [video_view(v) for v in self._stored()]

    def stored_video(self, video_id: str) -> StoredVideo:
        """The stored video with content hash ``video_id``; :class:`NotFound` otherwise."""
        if not _HASH_RE.fullmatch(video_id):
            raise NotFound(f"no video {video_id!r}: video ids are content hashes")
        for v in self._stored():
            if v.video_hash == video_id:
                return v
        raise NotFound(f"no video {video_id!r} in the store")

    def scenes(self, video_id: str) -> list[dict[str, Any]]:
        """A video's scenes with their descriptors, in order."""
        v = self.stored_video(video_id)
        return [self._scene(row) for row in self.store.scenes_of(v.video)]

    def scene(self, key: str) -> dict[str, Any]:
        """One scene by its store key ``<content hash>:<index>``."""
        match = _KEY_RE.fullmatch(key)
        if not match:
            raise NotFound(f"no scene {key!r}: scene keys are '<video id>:<scene>'")
        v = self.stored_video(match.group(1))
        for row in self.store.scenes_of(v.video):
            if row["key"] == key:
                return self._scene(row)
        raise NotFound(f"no scene {key!r} in the store")

    @staticmethod
    def _scene(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": row["key"],
            "video_id": row["video_hash"],
            "scene": int(row["scene"]),
            "start": round(float(row["start"]), 3),
            "end": round(float(row["end"]), 3),
            "time": clock_range(row["start"], row["end"]),
            "transcript": row.get("transcript") or "",
            "ocr": row.get("ocr") or "",
            "tags": list(row.get("tags") or []),
            "caption": row.get("caption") or "",
            "thumbnail": f"/media/thumb/{row['key']}" if row.get("thumbnail") else None,
        }

    def video_file(self, video_id: str) -> Path:
        """The file of a stored video, found by its id only.

        Raises:
            NotFound: no such video in the store.
            FileGone: the file has moved or been deleted since ingest.
        """
        path = Path(self.stored_video(video_id).video)
        if not path.is_file():
            raise FileGone(f"{path}: moved or deleted since ingest (re-ingest it where it is now)")
        return path

    def thumbnail_file(self, key: str) -> Path:
        """The thumbnail file of a scene, found by its store key only."""
        match = _KEY_RE.fullmatch(key)
        if not match:
            raise NotFound(f"no scene {key!r}: scene keys are '<video id>:<scene>'")
        v = self.stored_video(match.group(1))
        index = int(match.group(2))
        thumb = v.thumbnails[index] if index < len(v.thumbnails) else None
        if thumb and not is_local_uri(thumb):
            return self._cached_object(thumb, key)
        if not thumb or not Path(thumb).is_file():
            raise FileGone(f"scene {key} has no thumbnail file")
        return Path(thumb)

    def _cached_object(self, uri: str, key: str) -> Path:
        """A thumbnail in object storage, as a local file (fetched once with the store's
        credentials; served from ``<data_dir>/cache/thumbnails`` after that).

        The names are ``<content hash>-<scene>.jpg`` and a video's thumbnails never change
        under the same hash, so a cached copy cannot go stale; a removed video's scenes are
        not found in the store above, so its cached copies are never served.
        """
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        if not _THUMB_NAME_RE.fullmatch(name):
            raise FileGone(f"scene {key}: thumbnail {name!r} is not one Tessera wrote")
        target = self.settings.data_dir / "cache" / "thumbnails" / name
        if target.is_file():
            return target
        try:
            data = read_object(uri, self.store.storage_options)
        except OSError as exc:
            raise FileGone(f"scene {key}: thumbnail {uri} cannot be read ({exc})") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        # Temporary name, then rename: a concurrent request never serves half a JPEG.
        tmp = target.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        return target

    # -- search ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        video: str | None = None,
        modality: str | None = None,
    ) -> dict[str, Any]:
        """Search, then filter by video id and matched modality; the one search path.

        Returns:
            ``{"query", "parts", "split", "results", "seconds", "empty_store"}``; each result
            is the searcher's dict plus ``key``, ``video_id``, ``name``, ``time``,
            ``available``, ``thumbnail_url``, ``video_url`` and ``terms`` (per part, the
            words to highlight).

        Raises:
            EmptyQueryError: the query has no words.
            ValueError: an unknown modality filter.
        """
        if modality is not None and modality not in MODALITY_LABELS:
            raise ValueError(
                f"unknown modality {modality!r}: use one of {', '.join(MODALITY_LABELS)}"
            )
        searcher = self.searcher
        start = time.perf_counter()
        by_path = {v.video: v.video_hash for v in self._stored()}
        # Filters are applied to a deeper result list so that they still fill ``limit``.
        deep = limit if video is None and modality is None else max(limit * 5, 50)
        found = searcher.search(query, deep)
        results = []
        for r in found:
            video_id = by_path.get(r["video"], "")
            if video is not None and video_id != video:
                continue
            if modality is not None and not any(modality in m["modalities"] for m in r["matched"]):
                continue
            results.append(self._decorate(r, video_id))
            if len(results) == limit:
                break
        parts = list(dict.fromkeys(m["part"] for r in found for m in r["matched"]))
        return {
            "query": query,
            "parts": parts,
            "split": len(parts) > 1 or (bool(parts) and parts[0] != query.strip()),
            "results": results,
            "seconds": round(time.perf_counter() - start, 4),
            "empty_store": not by_path,
        }

    @staticmethod
    def _decorate(r: dict[str, Any], video_id: str) -> dict[str, Any]:
        key = f"{video_id}:{r['scene']}"
        return {
            **r,
            "key": key,
            "video_id": video_id,
            "name": Path(r["video"]).name,
            "time": clock_range(r["start"], r["end"]),
            "available": Path(r["video"]).is_file(),
            "thumbnail_url": f"/media/thumb/{key}" if r.get("thumbnail") else None,
            "video_url": f"/media/video/{video_id}",
            "terms": sorted({t for m in r["matched"] for t in query_terms(m["part"])}),
        }

    # -- jobs -----------------------------------------------------------------------------

    def jobs(self) -> dict[str, Any]:
        """The training jobs and the recorded allocations, for the jobs page."""
        from tasks.training.store import JobStore

        store = JobStore(self.settings.job_store_url)
        try:
            jobs = [
                {
                    "name": j.name,
                    "model": j.spec.model,
                    "state": j.state,
                    "pus": j.pus,
                    "epoch": j.epoch,
                    "epochs": j.spec.epochs,
                    "progress": round(min(1.0, j.epoch / max(1, j.spec.epochs)), 4),
                    "accuracy": None if j.metric is None else round(j.metric, 4),
                    "launches": j.generation,
                    "error": j.error,
                }
                for j in store.jobs()
            ]
            allocations = [
                {
                    "iteration": a.iteration,
                    "at": a.at,
                    "job": a.job,
                    "pus": a.pus,
                    "capacity": a.capacity,
                    "policy": a.policy,
                }
                for a in store.allocations()
            ]
        finally:
            store.close()
        return {"jobs": jobs, "allocations": allocations}
