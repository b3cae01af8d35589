"""The LanceDB scene store: upserts, idempotence, replacement, schema, FTS index."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tasks.video.encode import Encoder
from tasks.video.store import SCHEMA_VERSION, SceneStore, StoreError, scene_schema, sql_str
from tests.video_search.conftest import VIDEO, catalogue_scenes


def _write(store: SceneStore, encoder: Encoder, video_hash: str, n: int | None = None):  # type: ignore[no-untyped-def]
    scenes = catalogue_scenes(video_hash=video_hash)[:n]
    result = store.write_video(VIDEO, video_hash, scenes, encoder.encode_scenes(scenes))
    store.finish_batch()
    return result


class TestUpsert:
    def test_first_write_creates_rows_and_text_index(
        self, store_uri: str, encoder: Encoder
    ) -> None:
        store = SceneStore.open(store_uri)
        result = _write(store, encoder, "aa11")
        assert (result.status, result.scenes) == ("written", 6)
        assert store.count() == 6
        assert store.has_hash("aa11")
        assert store.has_text_index()
        hits = store.table.search("umbrella", query_type="fts").select(["key"]).to_list()
        assert [h["key"] for h in hits] == ["aa11:2"]

    def test_rewrite_of_stored_hash_creates_no_version(
        self, store_uri: str, encoder: Encoder
    ) -> None:
        store = SceneStore.open(store_uri)
        _write(store, encoder, "aa11")
        rows, version = store.count(), store.version()
        again = SceneStore.open(store_uri)
        result = _write(again, encoder, "aa11")
        assert result.status == "unchanged"
        assert (again.count(), again.version()) == (rows, version)

    def test_changed_file_replaces_old_scenes(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        _write(store, encoder, "aa11")
        result = _write(store, encoder, "bb22", n=2)
        assert (result.status, result.scenes, result.replaced) == ("written", 2, 6)
        assert store.count() == 2
        assert store.stored_hashes() == {"bb22"}
        assert [r["key"] for r in store.scenes_of(VIDEO)] == ["bb22:0", "bb22:1"]
        # The full-text index follows the replacement: old rows are gone from it too.
        hits = store.table.search("umbrella", query_type="fts").select(["key"]).to_list()
        assert hits == []

    def test_mismatched_vectors_write_nothing(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        scenes = catalogue_scenes()
        with pytest.raises(ValueError, match="6 scenes but 1 vector sets"):
            store.write_video(VIDEO, "aa11", scenes, encoder.encode_scenes(scenes[:1]))
        assert store.count() == 0


class TestSchema:
    def test_schema_version_in_metadata(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        _write(store, encoder, "aa11", n=1)
        meta = store.table.schema.metadata
        assert meta[b"tessera.schema_version"] == SCHEMA_VERSION.encode()

    def test_foreign_schema_version_is_refused(self, store_uri: str) -> None:
        import lancedb

        schema = scene_schema(4).with_metadata({b"tessera.schema_version": b"0"})
        lancedb.connect(store_uri).create_table("scenes", schema=schema)
        with pytest.raises(StoreError, match="schema version 0"):
            SceneStore.open(store_uri).count()

    def test_row_has_thumbnail_and_vectors(self, store_uri: str, encoder: Encoder) -> None:
        scenes = catalogue_scenes()[:1]
        scenes[0].thumbnail = "/thumbs/aa11-0.jpg"
        store = SceneStore.open(store_uri)
        store.write_video(VIDEO, "aa11", scenes, encoder.encode_scenes(scenes))
        row = store.table.search().limit(1).to_list()[0]
        assert row["thumbnail"] == "/thumbs/aa11-0.jpg"
        assert len(row["vector"]) == encoder.dim
        assert pa.types.is_fixed_size_list(store.table.schema.field("vec_ocr").type)


class TestSql:
    def test_quotes_are_escaped(self) -> None:
        assert sql_str("it's") == "'it''s'"
