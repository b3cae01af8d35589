"""The scene store on S3-compatible object storage: a real S3 API server, real LanceDB.

One moto server (its S3 API on 127.0.0.1, started once per session) stands in for the
bucket a cluster shares. Credentials and endpoint reach LanceDB and the thumbnail writer
only through ``Settings.lancedb_storage_options``, as on a real cluster. The checks read
what another host would: search runs in a separate process that knows nothing but the
environment, and thumbnails are read back through the S3 API, never from a local folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.settings import Settings
from tasks.video.store import (
    SceneStore,
    delete_file,
    object_filesystem,
    read_object,
    thumbnail_location,
    write_object,
)
from tests.video_search.conftest import Library, catalogue_scenes

BUCKET = "tessera-scenes"
JPEG_MAGIC = b"\xff\xd8\xff"


@pytest.fixture(scope="session")
def s3_options() -> Iterator[dict[str, str]]:
    """A moto S3 server on loopback with one bucket; LanceDB-style storage options for it."""
    from moto.server import ThreadedMotoServer

    # No credential or region lookups off this host (EC2 metadata, ~/.aws).
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        options = {
            "aws_access_key_id": "tessera-test",
            "aws_secret_access_key": "tessera-test-secret",
            "aws_endpoint": f"http://127.0.0.1:{port}",
            "aws_region": "us-east-1",
            "allow_http": "true",
        }
        import pyarrow.fs as pafs

        fs, _ = object_filesystem(f"s3://{BUCKET}", options)
        assert isinstance(fs, pafs.S3FileSystem)
        # A separate client, allowed to create buckets, as the operator would set it up.
        pafs.S3FileSystem(
            access_key=options["aws_access_key_id"],
            secret_key=options["aws_secret_access_key"],
            endpoint_override=options["aws_endpoint"],
            region=options["aws_region"],
            allow_bucket_creation=True,
        ).create_dir(BUCKET)
        yield options
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_settings(tmp_path_factory: pytest.TempPathFactory, s3_options: dict[str, str]) -> Settings:
    """Settings with the store in the bucket; the local thumbnail folder must stay empty."""
    base = tmp_path_factory.mktemp("s3state")
    return Settings(
        data_dir=base,
        lancedb_uri=f"s3://{BUCKET}/tessera",
        lancedb_storage_options=s3_options,
        thumbnail_dir=base / "thumbnails",
    )


@pytest.fixture(scope="module")
def s3_ingest(library: Library, s3_settings: Settings) -> SceneStore:
    """The silent sample video ingested into the bucket (the in-process ingest path)."""
    from flows.web.sample import ingest_here
    from tasks.video.encode import Encoder

    encoder = Encoder.load(s3_settings.embedding_model)
    return ingest_here([library.no_audio], s3_settings, encoder)


def _s3_keys(options: dict[str, str], prefix: str) -> list[str]:
    """Every object key under ``prefix`` in the bucket, listed through the S3 API."""
    import pyarrow.fs as pafs

    fs, path = object_filesystem(f"s3://{BUCKET}/{prefix}", options)
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


def _env(settings: Settings) -> dict[str, str]:
    """The environment a searcher on another host would get: URI and options, nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(
        TESSERA_DATA_DIR=str(settings.data_dir),
        TESSERA_LANCEDB_URI=settings.lancedb_uri,
        TESSERA_LANCEDB_STORAGE_OPTIONS=json.dumps(settings.lancedb_storage_options),
        TESSERA_THUMBNAIL_DIR=str(settings.thumbnail_dir),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


class TestSettings:
    def test_storage_options_come_from_json_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(
            "TESSERA_LANCEDB_STORAGE_OPTIONS",
            '{"aws_secret_access_key": "hunter2", "aws_region": "eu-west-1"}',
        )
        assert Settings().lancedb_storage_options == {
            "aws_secret_access_key": "hunter2",
            "aws_region": "eu-west-1",
        }

    def test_config_masks_secret_options(self) -> None:
        s = Settings(
            lancedb_uri="s3://b/t",
            lancedb_storage_options={
                "aws_access_key_id": "AKIDEXAMPLE",
                "aws_secret_access_key": "hunter2",
                "aws_session_token": "tok123",
                "password": "pw456",
                "aws_endpoint": "http://user:pw789@127.0.0.1:9000",
                "aws_region": "eu-west-1",
            },
        )
        shown = s.public_dict()["lancedb_storage_options"]
        text = json.dumps(s.public_dict())
        for secret in ("AKIDEXAMPLE", "hunter2", "tok123", "pw456", "pw789"):
            assert secret not in text
        assert shown["aws_region"] == "eu-west-1"
        assert shown["aws_secret_access_key"] == "***"
        assert shown["aws_endpoint"] == "http://user:***@127.0.0.1:9000"
        # The settings themselves still hold the real values for the store to use.
        assert s.lancedb_storage_options["aws_secret_access_key"] == "hunter2"

    def test_thumbnails_go_beside_an_object_store_only(self, tmp_path: Path) -> None:
        assert thumbnail_location(f"s3://{BUCKET}/tessera", tmp_path) == (
            f"s3://{BUCKET}/tessera/thumbnails"
        )
        assert thumbnail_location(str(tmp_path / "lancedb"), tmp_path / "t") == str(tmp_path / "t")


class TestObjects:
    def test_write_read_delete_through_the_s3_api(self, s3_options: dict[str, str]) -> None:
        uri = f"s3://{BUCKET}/objects-test/a-0.jpg"
        write_object(uri, b"\xff\xd8\xffdata", s3_options)
        assert read_object(uri, s3_options) == b"\xff\xd8\xffdata"
        assert delete_file(uri, s3_options) is True
        assert delete_file(uri, s3_options) is False
        assert _s3_keys(s3_options, "objects-test") == []

    def test_unknown_bucket_fails_loudly(self, s3_options: dict[str, str]) -> None:
        # An error, never a silent fallback to a local file of the same name.
        with pytest.raises(OSError):
            read_object(f"s3://no-such-bucket-{os.getpid()}/x.jpg", s3_options)


class TestS3Store:
    def test_ingest_writes_scenes_and_thumbnails_to_the_bucket(
        self, s3_ingest: SceneStore, s3_settings: Settings, s3_options: dict[str, str]
    ) -> None:
        store = SceneStore.open(
            s3_settings.lancedb_uri, storage_options=s3_settings.lancedb_storage_options
        )
        assert store.count() == 2
        keys = _s3_keys(s3_options, "tessera")
        assert any(k.startswith(f"{BUCKET}/tessera/scenes.lance/_versions/") for k in keys)
        thumbs = [k for k in keys if k.startswith(f"{BUCKET}/tessera/thumbnails/")]
        assert len(thumbs) == 2
        # Nothing went to a local folder: a searcher on another host could not read it.
        local = s3_settings.thumbnail_dir
        assert not local.exists() or not any(local.iterdir())

    def test_thumbnails_are_s3_uris_readable_through_the_api(
        self, s3_ingest: SceneStore, s3_settings: Settings, s3_options: dict[str, str]
    ) -> None:
        [video] = s3_ingest.videos()
        assert len(video.thumbnails) == 2
        for thumb in video.thumbnails:
            assert thumb is not None
            assert thumb.startswith(f"s3://{BUCKET}/tessera/thumbnails/{video.video_hash[:16]}-")
            assert read_object(thumb, s3_options).startswith(JPEG_MAGIC)

    def test_search_from_another_process_reads_the_bucket(
        self, s3_ingest: SceneStore, s3_settings: Settings, s3_options: dict[str, str]
    ) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "search", "EXIT GATE", "--json", "-k", "2"],
            env=_env(s3_settings),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
        best = results[0]
        assert best["scene"] == 1 and "EXIT" in (best.get("ocr") or "").upper()
        thumb = best["thumbnail"]
        assert thumb.startswith(f"s3://{BUCKET}/tessera/thumbnails/")
        # The other process gave a URI; its bytes come back through the S3 API.
        assert read_object(thumb, s3_options).startswith(JPEG_MAGIC)

    def test_web_ui_serves_thumbnails_from_the_bucket(
        self, s3_ingest: SceneStore, s3_settings: Settings, s3_options: dict[str, str]
    ) -> None:
        from fastapi.testclient import TestClient

        from flows.web.app import create_app

        [video] = s3_ingest.videos()
        thumb = video.thumbnails[1]
        assert thumb is not None
        app = create_app(s3_settings, prefect_url="http://127.0.0.1:9")
        with TestClient(app) as client:
            first = client.get(f"/media/thumb/{video.video_hash}:1")
            assert first.status_code == 200, first.text
            assert first.content == read_object(thumb, s3_options)
            # Served from the local cache after the first fetch: same bytes.
            assert client.get(f"/media/thumb/{video.video_hash}:1").content == first.content
            assert client.get(f"/media/thumb/{video.video_hash}:9").status_code == 404

    def test_reingest_writes_nothing(
        self, s3_ingest: SceneStore, s3_settings: Settings, library: Library
    ) -> None:
        from flows.web.sample import ingest_here
        from tasks.video.encode import Encoder

        options = s3_settings.lancedb_storage_options
        before = SceneStore.open(s3_settings.lancedb_uri, storage_options=options)
        rows, version = before.count(), before.version()
        keys = _s3_keys(options, "tessera")
        ingest_here([library.no_audio], s3_settings, Encoder.load(s3_settings.embedding_model))
        after = SceneStore.open(s3_settings.lancedb_uri, storage_options=options)
        assert (after.count(), after.version()) == (rows, version)
        assert _s3_keys(options, "tessera") == keys

    def test_replaced_video_deletes_its_old_thumbnails_in_the_bucket(
        self, s3_options: dict[str, str]
    ) -> None:
        from tasks.video.encode import Encoder

        uri = f"s3://{BUCKET}/replace-test"
        store = SceneStore.open(uri, storage_options=s3_options)
        encoder = Encoder.load(Settings().embedding_model)
        thumbs = thumbnail_location(uri, "unused")

        def version(video_hash: str) -> list[Any]:
            scenes = catalogue_scenes(video="/videos/v.mp4", video_hash=video_hash)[:2]
            for scene in scenes:
                scene.thumbnail = f"{thumbs}/{video_hash}-{scene.index}.jpg"
                write_object(scene.thumbnail, JPEG_MAGIC, s3_options)
            return scenes

        old = version("aa11")
        store.write_video("/videos/v.mp4", "aa11", old, encoder.encode_scenes(old))
        new = version("bb22")
        result = store.write_video("/videos/v.mp4", "bb22", new, encoder.encode_scenes(new))
        assert (result.status, result.replaced) == ("written", 2)
        assert _s3_keys(s3_options, "replace-test/thumbnails") == [
            f"{BUCKET}/replace-test/thumbnails/bb22-0.jpg",
            f"{BUCKET}/replace-test/thumbnails/bb22-1.jpg",
        ]


_S3_RACER = """
import json, sys, time
sys.path.insert(0, sys.argv[4])
from tests.video_search.test_exactly_once import fake_video
from tasks.video.store import SceneStore, StoreError

uri, start, options = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
store = SceneStore.open(uri, storage_options=options)
while time.time() < start:
    time.sleep(0.001)
for i in range(%d):
    scenes, vectors = fake_video(i)
    try:
        store.write_video(scenes[0].video, scenes[0].video_hash, scenes, vectors)
    except StoreError as exc:
        print("DUPLICATE", scenes[0].video, flush=True)
"""


class TestRacingWritersOnS3:
    def test_no_scene_is_lost_and_every_duplicate_is_reported(
        self, s3_options: dict[str, str]
    ) -> None:
        """Object storage has no writer lock: two racing writers may both insert a new
        file. Lance's commit keeps both commits (nothing lost), and the store's duplicate
        check must name every file that ended up twice, never leave it silent."""
        from tests.video_search.test_exactly_once import SCENES, VIDEOS

        uri = f"s3://{BUCKET}/race-test"
        root = str(Path(__file__).resolve().parents[2])
        start = time.time() + 5.0  # both import lancedb first, then start together
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _S3_RACER % VIDEOS,
                    uri,
                    str(start),
                    json.dumps(s3_options),
                    root,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=180)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
        reported = {line.split(" ", 1)[1] for out in outs for line in out.splitlines()}
        table = SceneStore.open(uri, storage_options=s3_options).table
        rows = table.search().select(["key", "video"]).limit(None).to_arrow().to_pylist()
        keys = [r["key"] for r in rows]
        assert len(set(keys)) == VIDEOS * SCENES  # every scene committed, none lost
        doubled = {r["video"] for r in rows if keys.count(r["key"]) > 1}
        assert doubled <= reported, f"silent duplicates: {sorted(doubled - reported)}"


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
class TestIngestFlowOnS3:
    """The ingest flow as deployed: Dask worker processes describe the file and write its
    thumbnails to the bucket with the settings' options; the flow is the one writer."""

    @pytest.fixture(scope="class")
    def flow_s3_settings(self, s3_settings: Settings, dask_cluster: str) -> Settings:
        return s3_settings.model_copy(
            update={"lancedb_uri": f"s3://{BUCKET}/flow", "dask_address": dask_cluster}
        )

    def test_flow_ingest_then_reingest_writes_nothing(
        self, flow_s3_settings: Settings, library: Library, s3_options: dict[str, str]
    ) -> None:
        from flows.ingest import ingest

        [first] = ingest([str(library.no_audio)], settings=flow_s3_settings)
        assert (first.status, first.scenes) == ("written", 2), first.error
        store = SceneStore.open(flow_s3_settings.lancedb_uri, storage_options=s3_options)
        rows, version = store.count(), store.version()
        assert rows == 2
        thumbs = _s3_keys(s3_options, "flow/thumbnails")
        assert len(thumbs) == 2
        [again] = ingest([str(library.no_audio)], settings=flow_s3_settings)
        assert (again.status, again.scenes) == ("unchanged", 0)
        after = SceneStore.open(flow_s3_settings.lancedb_uri, storage_options=s3_options)
        assert (after.count(), after.version()) == (rows, version)
        assert _s3_keys(s3_options, "flow/thumbnails") == thumbs
