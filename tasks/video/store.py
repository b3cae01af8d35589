"""The LanceDB scene store: one table of scene rows, written by one writer at a time.

Rows are keyed by ``Scene.key`` (video content hash and scene index). A file whose content
hash is already stored is not written at all, so re-ingesting it creates no new table
version. A new or changed file is ONE ``merge_insert`` commit: its rows are upserted and
the rows of any older version of the same path deleted together
(``when_not_matched_by_source_delete``), so a crash never leaves old and new rows side by
side; the older version's thumbnails are removed after the commit. Only whole videos are
written, after every stage succeeded, so a failed file leaves no rows.

Exactly once across processes: LanceDB lets two concurrent ``merge_insert`` of the same new
key both commit, so writers are serialised here. On a local folder every write holds a file
lock (``<db>/.tessera-writer.lock``) and re-reads the latest table version under it before
deciding; on object storage (no shared lock) a commit conflict is retried from a fresh
version and a write that finds duplicates of its keys afterwards fails loudly. Give object
stores one writer (a deployment concurrency limit of one per store).

A long scene's passages (sentence groups of its speech, :mod:`tasks.video.passages`) are
rows of the same table beside their scene: ``passage`` is their index (-1 on the scene's
own row), ``scene`` their scene's index, ``start``/``end`` their own times, and the other
descriptors their scene's. A video's scene and passage rows are written in one commit and
deleted together; listings and exports read scene rows only (:data:`SCENE_ROWS`).

A native full-text index covers the descriptor text; the schema version lives in the
table's schema metadata.

On object storage the thumbnails live beside the table, under ``<uri>/thumbnails/``, and
are read and written with the store's own storage options (:func:`write_object`), so a
searcher on another host can show them; a local store keeps them in a local folder.

Example:
    >>> store = SceneStore.open("data/lancedb", dim=384)  # doctest: +SKIP
    >>> store.write_video("a.mp4", "ab12", scenes, vectors).status  # doctest: +SKIP
    'written'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from tasks.video.encode import MODALITIES, SceneVectors, descriptor_text, passage_scenes
from tasks.video.objects import (  # re-exported: callers import them from the store
    THUMBNAIL_FOLDER,
    delete_file,
    is_local_uri,
    object_filesystem,
    read_object,
    thumbnail_location,
    write_object,
)
from tasks.video.records import Scene

__all__ = [
    "SCENE_ROWS",
    "SCHEMA_VERSION",
    "THUMBNAIL_FOLDER",
    "SceneStore",
    "StoreError",
    "StoredVideo",
    "WriteResult",
    "delete_file",
    "is_local_uri",
    "object_filesystem",
    "passage_key",
    "read_object",
    "scene_key",
    "scene_rows",
    "scene_schema",
    "sql_str",
    "text_index_config",
    "thumbnail_location",
    "vector_column",
    "write_object",
]

logger = logging.getLogger(__name__)

TABLE_NAME = "scenes"
VECTOR_INDEX_MIN_ROWS = 50_000
"""From this many rows the fused vectors get an IVF-PQ index (a flat scan of 100k 384-d
vectors costs about 200 ms on a busy 2-core machine, the index about 6 ms)."""
SCHEMA_VERSION = "3"
SCENE_ROWS = "passage < 0"
"""SQL filter for the scenes' own rows (not their passages)."""
_VERSION_KEY = b"tessera.schema_version"
TEXT_INDEX_OPTIONS: dict[str, Any] = {
    "with_position": False,
    # ICU word breaks keep every script's letters and split unspaced text (Japanese,
    # Chinese) into words; ascii_folding matches "cafe" to "café".
    "base_tokenizer": "icu",
    "ascii_folding": True,
}
"""The full-text index's tokenizer settings (build a new store to apply a change)."""
LOCK_NAME = ".tessera-writer.lock"
WRITE_LOCK_TIMEOUT_S = 900.0
"""How long a writer waits for another process's write (a large file's commit included)."""
_CONFLICT_RETRIES = 5
_CONFLICT_MARKERS = ("conflict", "retryable", "concurrent", "commit")


class StoreError(RuntimeError):
    """The scene store cannot be used as asked (for example a schema from another version)."""


def vector_column(modality: str) -> str:
    """The column holding one modality's vectors.

    Example:
        >>> vector_column("ocr")
        'vec_ocr'
    """
    return f"vec_{modality}"


def scene_schema(dim: int) -> pa.Schema:
    """The Arrow schema of the scene table for ``dim``-dimensional vectors.

    Example:
        >>> scene_schema(4).field("vector").type
        FixedSizeListType(fixed_size_list<item: float>[4])
    """
    vec = pa.list_(pa.float32(), dim)
    fields = [
        pa.field("key", pa.string(), nullable=False),
        pa.field("video", pa.string(), nullable=False),
        pa.field("video_hash", pa.string(), nullable=False),
        pa.field("scene", pa.int32(), nullable=False),
        pa.field("passage", pa.int32(), nullable=False),
        pa.field("start", pa.float64()),
        pa.field("end", pa.float64()),
        pa.field("transcript", pa.string()),
        pa.field("ocr", pa.string()),
        pa.field("ocr_confidence", pa.float32()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("caption", pa.string()),
        pa.field("thumbnail", pa.string(), nullable=True),
        pa.field("language", pa.string()),
        pa.field("text", pa.string()),
        pa.field("vector", vec),
        *[pa.field(vector_column(m), vec) for m in MODALITIES],
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields, metadata={_VERSION_KEY: SCHEMA_VERSION.encode()})


def sql_str(value: str) -> str:
    """``value`` as a quoted SQL string literal for a LanceDB filter.

    Example:
        >>> sql_str("it's.mp4")
        "'it''s.mp4'"
    """
    return "'" + value.replace("'", "''") + "'"


def passage_key(scene_key: str, passage: int) -> str:
    """The row key of a scene's passage.

    Example:
        >>> passage_key("ab12:3", 0)
        'ab12:3:0'
    """
    return f"{scene_key}:{passage}"


def scene_key(row_key: str) -> str:
    """The key of the scene a row belongs to (itself for a scene row).

    Example:
        >>> scene_key("ab12:3:0"), scene_key("ab12:3")
        ('ab12:3', 'ab12:3')
    """
    return ":".join(row_key.split(":", 2)[:2])


def scene_rows(
    scenes: Sequence[Scene], vectors: Sequence[SceneVectors], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Table rows for ``scenes`` and their vectors: each scene's row, then its passages'.

    Example:
        >>> scene_rows([], [])
        []
    """
    if len(scenes) != len(vectors):
        raise ValueError(f"{len(scenes)} scenes but {len(vectors)} vector sets")
    stamp = now or datetime.now(UTC)
    rows = []
    for scene, vec in zip(scenes, vectors, strict=True):
        if len(vec.passages) != len(scene.passages):
            raise ValueError(
                f"{scene.key}: {len(scene.passages)} passages but {len(vec.passages)} vector sets"
            )
        rows.append(_row(scene, vec, scene.key, -1, stamp))
        for j, (ps, pvec) in enumerate(zip(passage_scenes(scene), vec.passages, strict=True)):
            rows.append(_row(ps, pvec, passage_key(scene.key, j), j, stamp))
    return rows


def _row(
    scene: Scene, vec: SceneVectors, key: str, passage: int, stamp: datetime
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": key,
        "video": scene.video,
        "video_hash": scene.video_hash,
        "scene": scene.index,
        "passage": passage,
        "start": float(scene.start_s),
        "end": float(scene.end_s),
        "transcript": scene.transcript,
        "ocr": scene.ocr,
        "ocr_confidence": float(scene.ocr_confidence),
        "tags": list(scene.tags),
        "caption": scene.caption,
        "thumbnail": scene.thumbnail,
        "language": scene.language,
        "text": descriptor_text(scene, labelled=False),
        "vector": np.asarray(vec.fused, np.float32),
        "ingested_at": stamp,
    }
    for m in MODALITIES:
        row[vector_column(m)] = np.asarray(vec.modalities[m], np.float32)
    return row


@dataclass(frozen=True)
class WriteResult:
    """What writing one video did.

    Attributes:
        status: ``written`` (new rows), ``unchanged`` (hash already stored, nothing written).
        scenes: rows written for the video (0 when unchanged).
        replaced: rows of an older version of the same path that were deleted.
    """

    video: str
    video_hash: str
    status: Literal["written", "unchanged"]
    scenes: int
    replaced: int = 0


class SceneStore:
    """The scene table at a LanceDB URI (a folder, or ``s3://``, ``gs://``, ``az://``).

    Args:
        db: an open LanceDB connection.
        dim: vector dimension; needed only to create the table on first write.
    """

    def __init__(
        self,
        db: Any,
        dim: int | None = None,
        lock_timeout_s: float = WRITE_LOCK_TIMEOUT_S,
        storage_options: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        # Kept for the thumbnails beside the table (same bucket, same credentials).
        self.storage_options: dict[str, str] = dict(storage_options or {})
        self.dim = dim
        self.lock_timeout_s = lock_timeout_s
        self._table: Any = None
        self._dirty = False
        self._text_index = False

    @classmethod
    def open(
        cls,
        uri: str,
        dim: int | None = None,
        lock_timeout_s: float = WRITE_LOCK_TIMEOUT_S,
        storage_options: Mapping[str, str] | None = None,
    ) -> SceneStore:
        """Connect to the store at ``uri`` (the table is created on the first write).

        Args:
            uri: a folder, or an object-store URI (``s3://bucket/prefix``).
            dim: vector dimension, needed only to create the table.
            lock_timeout_s: how long a local writer waits for another's lock.
            storage_options: LanceDB object-store options (credentials, endpoint, region;
                ``Settings.lancedb_storage_options``); ignored by local folders.

        Example:
            >>> SceneStore.open("/tmp/scenes-doctest").count()
            0
        """
        import lancedb

        if is_local_uri(uri):
            Path(uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        options = dict(storage_options or {})
        db = lancedb.connect(uri, storage_options=options or None)
        return cls(db, dim, lock_timeout_s, storage_options=options)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold this store's writer lock (local folders) and see the latest table version.

        Every write decision (is this hash stored? which rows are stale?) is made inside,
        so two processes ingesting the same files write each scene once.

        Example:
            >>> with SceneStore.open("/tmp/scenes-doctest").writing():
            ...     pass
        """
        uri = str(self.db.uri)
        if not is_local_uri(uri):
            self._refresh()
            yield
            return
        from filelock import FileLock, Timeout

        lock = FileLock(Path(uri.removeprefix("file://")) / LOCK_NAME)
        try:
            lock.acquire(timeout=self.lock_timeout_s)
        except Timeout:
            raise StoreError(
                f"{uri}: another writer held the store for {self.lock_timeout_s:.0f} s "
                f"({lock.lock_file}); is an ingest stuck?"
            ) from None
        try:
            self._refresh()
            yield
        finally:
            lock.release()

    def _refresh(self) -> None:
        """Move to the table's latest version (another process may have committed)."""
        if self._table is not None:
            self._table.checkout_latest()
            self._text_index = False

    @property
    def table(self) -> Any:
        """The scene table, or ``None`` before anything was written."""
        if self._table is None and TABLE_NAME in self._table_names():
            table = self.db.open_table(TABLE_NAME)
            found = (table.schema.metadata or {}).get(_VERSION_KEY, b"?").decode()
            if found != SCHEMA_VERSION:
                raise StoreError(
                    f"scene table at {self.db.uri} has schema version {found}, this Tessera "
                    f"writes version {SCHEMA_VERSION}: re-ingest into a new --db"
                )
            self._table = table
        return self._table

    def _table_names(self) -> list[str]:
        lister = getattr(self.db, "list_tables", None)
        names = lister() if lister else self.db.table_names()
        return list(getattr(names, "tables", names))

    def _create(self, dim: int) -> Any:
        self._table = self.db.create_table(TABLE_NAME, schema=scene_schema(dim), exist_ok=True)
        return self._table

    def count(self, where: str | None = None) -> int:
        """Rows in the store, scenes and passages (optionally only those matching ``where``).

        Example:
            >>> SceneStore.open("/tmp/scenes-doctest").count(SCENE_ROWS)
            0
        """
        return 0 if self.table is None else int(self.table.count_rows(where))

    def version(self) -> int:
        """The table version (0 before the table exists)."""
        return 0 if self.table is None else int(self.table.version)

    def has_hash(self, video_hash: str) -> bool:
        """Whether a video with this content hash is stored.

        Example:
            >>> SceneStore.open("/tmp/scenes-doctest").has_hash("00ff")
            False
        """
        return self.count(f"video_hash = {sql_str(video_hash)}") > 0

    def stored_hashes(self) -> set[str]:
        """Every content hash in the store (backfill skips these files)."""
        if self.table is None or self.count() == 0:
            return set()
        col = self.table.search().select(["video_hash"]).limit(None).to_arrow()["video_hash"]
        return set(col.unique().to_pylist())

    def write_video(
        self,
        video: str,
        video_hash: str,
        scenes: Sequence[Scene],
        vectors: Sequence[SceneVectors],
    ) -> WriteResult:
        """Upsert one video's scenes; replace an older version of the same path.

        Nothing is written when ``video_hash`` is already stored, which keeps re-ingesting
        an unchanged file free of new table versions.

        Example:
            >>> store.write_video("a.mp4", "ab12", scenes, vectors)  # doctest: +SKIP
            WriteResult(video='a.mp4', video_hash='ab12', status='written', scenes=3, replaced=0)
        """
        if not scenes:
            raise ValueError(f"{video}: no scenes to write")
        rows = scene_rows(scenes, vectors)
        with self.writing():
            for attempt in range(_CONFLICT_RETRIES + 1):
                if self.has_hash(video_hash):
                    return WriteResult(video, video_hash, "unchanged", 0)
                table = (
                    self.table if self.table is not None else self._create(len(rows[0]["vector"]))
                )
                stale = f"video = {sql_str(video)} AND video_hash != {sql_str(video_hash)}"
                # Passage rows share their scene's thumbnail: the scene rows name them all.
                old_thumbs = self._thumbnails(f"{stale} AND {SCENE_ROWS}")
                replaced = len(old_thumbs)
                try:
                    self._commit(table, rows, video)
                    break
                except Exception as exc:
                    if attempt == _CONFLICT_RETRIES or not _is_conflict(exc):
                        raise
                    logger.warning("%s: commit conflict, retrying (%s)", video, exc)
                    time.sleep(0.2 * 2**attempt)
                    self._refresh()
            self._check_once(video, [r["key"] for r in rows])
            self._dirty = True
        keep = {r["thumbnail"] for r in rows}
        _remove_thumbnails(
            sorted({t for t in old_thumbs.values() if t and t not in keep}),
            old_thumbs,
            self.storage_options,
        )
        written = sum(1 for r in rows if r["passage"] < 0)
        return WriteResult(video, video_hash, "written", written, replaced)

    @staticmethod
    def _commit(table: Any, rows: list[dict[str, Any]], video: str) -> None:
        """Upsert ``rows`` and delete the path's other rows in one commit (one version)."""
        data = pa.Table.from_pylist(rows, schema=table.schema)
        (
            table.merge_insert("key")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(f"video = {sql_str(video)}")
            .execute(data)
        )

    def _thumbnails(self, where: str) -> dict[str, str | None]:
        """``video_hash`` of each matching row's thumbnail path (key -> path)."""
        if self.table is None or self.count(where) == 0:
            return {}
        rows = self.table.search().where(where).select(["key", "thumbnail"]).limit(None).to_list()
        return {r["key"]: r["thumbnail"] for r in rows}

    def _check_once(self, video: str, keys: Sequence[str]) -> None:
        """Fail loudly if a racing writer (object storage) duplicated this video's keys."""
        found = self.count("key IN (" + ", ".join(sql_str(k) for k in keys) + ")")
        if found != len(keys):
            raise StoreError(
                f"{self.db.uri}: {video}: {found} rows for {len(keys)} scenes after the "
                "write; another writer committed it concurrently (give the store one writer)"
            )

    def has_text_index(self) -> bool:
        """Whether the full-text index on the descriptor text exists."""
        if self._text_index:
            return True
        if self.table is None:
            return False
        self._text_index = any(tuple(ix.columns) == ("text",) for ix in self.table.list_indices())
        return self._text_index

    def has_vector_index(self) -> bool:
        """Whether the fused scene vectors have an ANN index (large tables only)."""
        if self.table is None:
            return False
        return any(tuple(ix.columns) == ("vector",) for ix in self.table.list_indices())

    def finish_batch(self) -> bool:
        """After a batch of writes: (re)build the full-text index and ``optimize()``.

        Does nothing when the batch wrote nothing, so an idempotent re-ingest leaves the
        table version alone. Returns whether anything was done.
        """
        if not self._dirty or self.table is None:
            return False
        with self.writing():
            table = self.table
            if not self.has_text_index():
                table.create_index("text", config=text_index_config(), replace=True)
                self._text_index = True
            if not self.has_vector_index() and self.count() >= VECTOR_INDEX_MIN_ROWS:
                from lancedb.index import IvfPq

                table.create_index("vector", config=IvfPq(distance_type="cosine"), replace=True)
            table.optimize()
        self._dirty = False
        return True

    def scenes_of(self, video: str) -> list[dict[str, Any]]:
        """The stored scene rows of one video path (no passages), in order, without vectors."""
        if self.table is None:
            return []
        cols = ["key", "video", "video_hash", "scene", "start", "end", "transcript", "ocr"]
        rows = (
            self.table.search()
            .where(f"video = {sql_str(video)} AND {SCENE_ROWS}")
            .select([*cols, "tags", "thumbnail"])
            .limit(None)
            .to_list()
        )
        return sorted(rows, key=lambda r: r["scene"])

    # -- library: list and remove whole videos ------------------------------------------

    def videos(self) -> list[StoredVideo]:
        """Every stored video, one entry per content hash, by path.

        Reads only the small columns (no vectors), so listing a large store stays cheap.

        Example:
            >>> SceneStore.open("/tmp/scenes-doctest").videos()
            []
        """
        if self.table is None or self.count() == 0:
            return []
        cols = ["video", "video_hash", "scene", "end", "thumbnail", "ingested_at"]
        rows = self.table.search().where(SCENE_ROWS).select(cols).limit(None).to_arrow().to_pylist()
        found: dict[str, dict[str, Any]] = {}
        for row in sorted(rows, key=lambda r: (r["video_hash"], r["scene"])):
            entry = found.setdefault(
                row["video_hash"],
                {"video": row["video"], "end": 0.0, "thumbs": [], "at": row["ingested_at"]},
            )
            entry["end"] = max(entry["end"], float(row["end"] or 0.0))
            entry["thumbs"].append(row["thumbnail"])
            entry["at"] = min(entry["at"], row["ingested_at"])
        return sorted(
            (
                StoredVideo(v["video"], h, len(v["thumbs"]), v["end"], v["at"], tuple(v["thumbs"]))
                for h, v in found.items()
            ),
            key=lambda v: (v.video, v.video_hash),
        )

    def find_video(self, ref: str) -> StoredVideo | None:
        """The stored video whose path, file name, content hash or hash prefix is ``ref``.

        Raises:
            StoreError: ``ref`` names more than one stored video.

        Example:
            >>> SceneStore.open("/tmp/scenes-doctest").find_video("talk.mp4") is None
            True
        """
        hits = [
            v
            for v in self.videos()
            if ref in (v.video, v.video_hash, v.video.rsplit("/", 1)[-1])
            or (len(ref) >= 6 and v.video_hash.startswith(ref))
        ]
        exact = [v for v in hits if ref in (v.video, v.video_hash)]
        if len(exact) == 1 or len(hits) == 1:
            return (exact or hits)[0]
        if hits:
            names = ", ".join(f"{v.video} ({v.video_hash[:8]})" for v in hits)
            raise StoreError(f"{ref!r} names {len(hits)} stored videos: {names}; give the hash")
        return None

    def remove_video(self, video: StoredVideo) -> int:
        """Delete every row of ``video`` (scenes and passages) in one write; returns its scenes.

        The thumbnail files are the caller's to delete (the store holds only their paths);
        the rows go first, so a search never returns a scene whose thumbnail is gone.

        Example:
            >>> store.remove_video(store.find_video("talk.mp4"))  # doctest: +SKIP
            6
        """
        where = f"video_hash = {sql_str(video.video_hash)}"
        with self.writing():
            scenes = self.count(f"{where} AND {SCENE_ROWS}")
            if self.count(where):
                self.table.delete(where)
        return scenes


@dataclass(frozen=True)
class StoredVideo:
    """One ingested video as the store holds it.

    Attributes:
        video: the path it was ingested from.
        video_hash: its content hash (the store key of its scenes, with the scene index).
        scenes: how many scenes are stored.
        duration_s: end of its last scene.
        ingested_at: when its first scene was written.
        thumbnails: each scene's thumbnail path (``None`` where there is none), in order.
    """

    video: str
    video_hash: str
    scenes: int
    duration_s: float
    ingested_at: datetime
    thumbnails: tuple[str | None, ...]


def text_index_config() -> Any:
    """The LanceDB full-text index config of the descriptor text.

    Example:
        >>> text_index_config().base_tokenizer
        'icu'
    """
    from lancedb.index import FTS

    return FTS(**TEXT_INDEX_OPTIONS)


def _is_conflict(exc: BaseException) -> bool:
    """Whether a failed commit lost a race with another writer (worth a fresh attempt)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return any(m in text for m in _CONFLICT_MARKERS)


def _remove_thumbnails(
    paths: Sequence[str],
    stale: dict[str, str | None],
    storage_options: Mapping[str, str] | None = None,
) -> None:
    """Delete the thumbnails of replaced rows (only files named after their own row's hash).

    The name check keeps a row that points elsewhere from deleting files Tessera never wrote.
    """
    owners = {path: key.split(":", 1)[0] for key, path in stale.items() if path}
    for path in paths:
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith(owners.get(path, "\0")[:16]):
            continue
        try:
            delete_file(path, storage_options)
        except OSError as exc:
            logger.warning("cannot remove stale thumbnail %s: %s", path, exc)
