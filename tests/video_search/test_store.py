"""The LanceDB scene store: upserts, idempotence, replacement, schema, FTS index."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tasks.video.encode import Encoder
from tasks.video.records import Passage, Scene
from tasks.video.store import (
    SCENE_ROWS,
    SCHEMA_VERSION,
    SceneStore,
    StoreError,
    scene_key,
    scene_schema,
    sql_str,
)
from tests.video_search.conftest import VIDEO, catalogue_scenes


def dialogue_scenes(video_hash: str = "dd44") -> list[Scene]:
    """A short scene, then a 25-s dialogue with two passages."""
    return [
        Scene(VIDEO, video_hash, 0, 0.0, 5.0, ocr="AIRPORT", thumbnail=f"/t/{video_hash}-0.jpg"),
        Scene(
            VIDEO,
            video_hash,
            1,
            5.0,
            30.0,
            transcript="Where is the car? Behind the station. Did you lock it? Yes.",
            ocr="RENTAL DESK",
            thumbnail=f"/t/{video_hash}-1.jpg",
            passages=[
                Passage(5.3, 12.0, "Where is the car? Behind the station."),
                Passage(14.0, 21.5, "Did you lock it? Yes."),
            ],
        ),
    ]


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


class TestPassages:
    """A long scene's passages are rows beside it, written and deleted with their video."""

    def _write(self, store: SceneStore, encoder: Encoder, video_hash: str = "dd44") -> None:
        scenes = dialogue_scenes(video_hash)
        result = store.write_video(VIDEO, video_hash, scenes, encoder.encode_scenes(scenes))
        assert (result.status, result.scenes) == ("written", 2)
        store.finish_batch()

    def test_passage_rows_carry_their_times_and_the_scene_descriptors(
        self, store_uri: str, encoder: Encoder
    ) -> None:
        store = SceneStore.open(store_uri)
        self._write(store, encoder)
        assert (store.count(), store.count(SCENE_ROWS)) == (4, 2)
        rows = store.table.search().where("passage >= 0").limit(None).to_list()
        rows.sort(key=lambda r: r["passage"])
        assert [r["key"] for r in rows] == ["dd44:1:0", "dd44:1:1"]
        assert [(r["scene"], r["start"], r["end"]) for r in rows] == [
            (1, 5.3, 12.0),
            (1, 14.0, 21.5),
        ]
        assert {r["ocr"] for r in rows} == {"RENTAL DESK"}
        assert rows[1]["transcript"] == "Did you lock it? Yes."
        assert {scene_key(r["key"]) for r in rows} == {"dd44:1"}

    def test_listings_see_scenes_only(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        self._write(store, encoder)
        assert [r["key"] for r in store.scenes_of(VIDEO)] == ["dd44:0", "dd44:1"]
        [video] = store.videos()
        assert (video.scenes, video.duration_s) == (2, 30.0)
        assert video.thumbnails == ("/t/dd44-0.jpg", "/t/dd44-1.jpg")

    def test_remove_deletes_passages_too(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        self._write(store, encoder)
        video = store.find_video("dd44")
        assert video is not None
        assert store.remove_video(video) == 2
        assert store.count() == 0

    def test_changed_file_replaces_passages(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        self._write(store, encoder, "dd44")
        scenes = catalogue_scenes(video_hash="ee55")[:2]
        result = store.write_video(VIDEO, "ee55", scenes, encoder.encode_scenes(scenes))
        assert (result.scenes, result.replaced) == (2, 2)
        assert store.count() == 2 and store.stored_hashes() == {"ee55"}

    def test_rewrite_of_stored_hash_creates_no_version(
        self, store_uri: str, encoder: Encoder
    ) -> None:
        store = SceneStore.open(store_uri)
        self._write(store, encoder)
        version = store.version()
        scenes = dialogue_scenes()
        again = store.write_video(VIDEO, "dd44", scenes, encoder.encode_scenes(scenes))
        assert again.status == "unchanged" and store.version() == version

    def test_passages_without_vectors_write_nothing(self, store_uri: str, encoder: Encoder) -> None:
        store = SceneStore.open(store_uri)
        scenes = dialogue_scenes()
        vectors = encoder.encode_scenes([*scenes[:1], Scene(VIDEO, "dd44", 1, 5.0, 30.0)])
        with pytest.raises(ValueError, match="2 passages but 0 vector sets"):
            store.write_video(VIDEO, "dd44", scenes, vectors)
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
