"""The JSON API, the media routes and the server-rendered pages, through FastAPI's TestClient,
over a really ingested video (see ``web_env``)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from flows.web.pages import highlight
from tests.web.conftest import WebEnv


@pytest.fixture(scope="module")
def client(web_env: WebEnv) -> Iterator[TestClient]:
    with TestClient(web_env.app) as c:
        yield c


class TestSearchApi:
    def test_expected_scene_first(self, client: TestClient, web_env: WebEnv) -> None:
        r = client.get("/api/search", params={"q": "the word EXIT", "limit": 3})
        assert r.status_code == 200
        answer = r.json()
        best = answer["results"][0]
        assert (best["name"], best["scene"], best["time"]) == ("narrated.mp4", 1, "0:05-0:10")
        assert best["key"] == f"{web_env.narrated_id}:1"
        assert best["matched"] == [{"part": "the word EXIT", "modalities": ["ocr"]}]
        assert best["terms"] == ["EXIT"] and best["available"] is True
        assert answer["split"] is False and answer["empty_store"] is False
        thumb = client.get(best["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"  # a JPEG

    def test_same_answer_as_the_searcher(self, client: TestClient, web_env: WebEnv) -> None:
        query = "someone says the kitchen is closed"
        api = client.get("/api/search", params={"q": query, "limit": 5}).json()["results"]
        direct = web_env.searcher.search(query, 5)
        assert [(r["video"], r["scene"], r["score"]) for r in api] == [
            (r["video"], r["scene"], r["score"]) for r in direct
        ]

    def test_split_query_names_each_part(self, client: TestClient) -> None:
        answer = client.get("/api/search", params={"q": "umbrella and the word EXIT"}).json()
        assert answer["split"] is True
        assert set(answer["parts"]) == {"umbrella", "the word EXIT"}
        parts = {(r["name"], r["scene"]): r["matched"][0]["part"] for r in answer["results"]}
        assert parts[("narrated.mp4", 2)] == "umbrella"
        assert parts[("narrated.mp4", 1)] == "the word EXIT"

    def test_video_and_modality_filters(self, client: TestClient, web_env: WebEnv) -> None:
        q = {"q": "the word EXIT"}
        both = client.get("/api/search", params=q).json()["results"]
        assert {r["video_id"] for r in both} == {web_env.narrated_id, web_env.gone_id}
        gone = client.get("/api/search", params={**q, "video": web_env.gone_id}).json()
        assert [r["video_id"] for r in gone["results"]] == [web_env.gone_id]
        assert gone["results"][0]["available"] is False
        speech = client.get("/api/search", params={**q, "modality": "transcript"}).json()
        assert all(
            any("transcript" in m["modalities"] for m in r["matched"]) for r in speech["results"]
        )
        assert (web_env.narrated_id, 1) not in {
            (r["video_id"], r["scene"]) for r in speech["results"]
        }

    def test_threshold_no_padding(self, client: TestClient) -> None:
        r = client.get("/api/search", params={"q": "a giraffe in the savannah", "limit": 10})
        assert r.json()["results"] == []

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"q": "  "}, "query is empty"),
            ({"q": "red", "modality": "smell"}, "transcript"),
            ({"q": "red", "limit": 0}, "greater than or equal to 1"),
        ],
    )
    def test_bad_requests_are_422_with_a_reason(
        self, client: TestClient, params: dict[str, object], message: str
    ) -> None:
        r = client.get("/api/search", params=params)
        assert r.status_code == 422
        assert message in r.text


class TestLibraryApi:
    def test_videos(self, client: TestClient, web_env: WebEnv) -> None:
        videos = {v["name"]: v for v in client.get("/api/videos").json()}
        assert set(videos) == {"narrated.mp4", "gone.mp4"}
        assert videos["narrated.mp4"]["scenes"] == 6 and videos["narrated.mp4"]["available"]
        assert videos["narrated.mp4"]["duration"] == "0:28"
        assert videos["gone.mp4"]["available"] is False

    def test_video_scenes_and_subtitles(self, client: TestClient, web_env: WebEnv) -> None:
        detail = client.get(f"/api/videos/{web_env.narrated_id}").json()
        assert [s["scene"] for s in detail["scenes"]] == [0, 1, 2, 3, 4, 5]
        assert "rocket launch" in detail["scenes"][0]["transcript"].lower()
        vtt = client.get(f"/api/videos/{web_env.narrated_id}/subtitles")
        assert vtt.headers["content-type"].startswith("text/vtt")
        assert vtt.text.startswith("WEBVTT\n\n1\n00:00:00.000 --> ")
        srt = client.get(f"/api/videos/{web_env.narrated_id}/subtitles", params={"format": "srt"})
        # the kitchen scene's cue: its start is where the cut was detected (about 19 s)
        assert re.search(r"\n3\n00:00:(18|19),\d{3} --> 00:00:24,000\nThe kitchen is", srt.text)

    def test_scene_by_key(self, client: TestClient, web_env: WebEnv) -> None:
        scene = client.get(f"/api/scenes/{web_env.narrated_id}:3").json()
        assert scene["ocr"] == "PIZZA MENU" and scene["time"] == "0:15-0:19"
        assert client.get(f"/api/scenes/{web_env.narrated_id}:99").status_code == 404

    def test_openapi_schema(self, client: TestClient) -> None:
        schema = client.get("/openapi.json").json()
        for path in ("/api/search", "/api/videos", "/api/videos/{video_id}", "/api/scenes/{key}"):
            assert path in schema["paths"]
        assert "/api/jobs" in schema["paths"]
        assert "SceneHit" in schema["components"]["schemas"]
        # FastAPI's /docs page loads Swagger UI from a CDN: it is off.
        assert client.get("/docs").status_code == 404


class TestMedia:
    def test_range_requests(self, client: TestClient, web_env: WebEnv) -> None:
        data = web_env.narrated.read_bytes()
        url = f"/media/video/{web_env.narrated_id}"
        whole = client.get(url)
        assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
        assert whole.content == data
        part = client.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert part.content == data[100:200]
        tail = client.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
        assert tail.status_code == 206 and tail.content == data[-10:]

    def test_moved_file_is_a_clear_404(self, client: TestClient, web_env: WebEnv) -> None:
        r = client.get(f"/media/video/{web_env.gone_id}")
        assert r.status_code == 404
        assert r.json()["detail"].endswith(
            "moved or deleted since ingest (re-ingest it where it is now)"
        )

    @pytest.mark.parametrize(
        "url",
        [
            "/media/video/..%2F..%2F..%2Fetc%2Fpasswd",
            "/media/video/%2Fetc%2Fpasswd",
            "/media/video/etc/passwd",
            "/media/thumb/..%2F..%2Fetc%2Fpasswd",
            "/media/thumb/%2Fetc%2Fpasswd:0",
            "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
            "/static/../../../../etc/passwd",
            "/media/video/0123456789abcdef?path=/etc/passwd",
        ],
    )
    def test_paths_outside_the_store_are_refused(self, client: TestClient, url: str) -> None:
        r = client.get(url)
        assert r.status_code == 404
        assert b"root:" not in r.content

    def test_an_existing_file_is_served_only_by_its_key(
        self, client: TestClient, web_env: WebEnv
    ) -> None:
        # The stored video's own path, asked for as a path, is not served either.
        path = str(web_env.narrated).lstrip("/").replace("/", "%2F")
        assert client.get(f"/media/video/{path}").status_code == 404
        assert client.get(f"/media/video/{web_env.narrated_id}").status_code == 200


class TestJobsApi:
    def test_jobs_and_chart(self, client: TestClient) -> None:
        data = client.get("/api/jobs").json()
        jobs = {j["name"]: j for j in data["jobs"]}
        assert jobs["digits-cnn"]["state"] == "running" and jobs["digits-cnn"]["pus"] == 2
        assert jobs["digits-cnn"]["launches"] == 4 and jobs["digits-cnn"]["accuracy"] == 0.941
        assert {a["iteration"] for a in data["allocations"]} == {1, 2, 3, 4, 5}
        svg = client.get("/api/jobs/allocation.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml")
        for name in {a["job"] for a in data["allocations"]}:
            assert f'data-job="{name}"' in svg.text


class TestPages:
    def test_pages_render(self, client: TestClient, web_env: WebEnv) -> None:
        for url, text in [
            ("/", "2 videos ingested"),
            ("/?q=the+word+EXIT", "<mark>EXIT</mark>"),
            ("/library", "gone.mp4"),
            (f"/videos/{web_env.narrated_id}", "PIZZA MENU"),
            ("/jobs", "seq-transformer"),
        ]:
            r = client.get(url)
            assert r.status_code == 200, url
            assert text in r.text, url
            assert "https://" not in r.text and "cdn" not in r.text.lower(), url

    def test_no_results_and_unknown_video_get_messages(self, client: TestClient) -> None:
        assert "No scene matched" in client.get("/?q=a+giraffe+in+the+savannah").text
        r = client.get("/videos/abcdef123456")
        assert r.status_code == 404
        assert "no video 'abcdef123456' in the store" in html.unescape(r.text)

    def test_gone_video_card_says_so(self, client: TestClient, web_env: WebEnv) -> None:
        page = client.get("/", params={"q": "the word EXIT", "video": web_env.gone_id}).text
        assert "has moved or been deleted since ingest" in page

    def test_empty_store_message(self, tmp_path: Path, web_env: WebEnv) -> None:
        from flows.web.app import create_app

        settings = web_env.settings.model_copy(update={"lancedb_uri": str(tmp_path / "empty")})
        app = create_app(settings, searcher=None)
        with TestClient(app) as c:
            assert "No videos are ingested yet" in c.get("/").text
            assert "No videos are ingested yet" in c.get("/library").text
            answer = c.get("/api/search", params={"q": "red"})
        assert answer.status_code == 200 and answer.json()["empty_store"] is True


def test_highlight() -> None:
    assert str(highlight("The kitchen is closed for cleaning.", ["kitchen", "clean"])) == (
        "The <mark>kitchen</mark> is closed for <mark>cleaning</mark>."
    )
    assert str(highlight("<b>EXIT</b> item", ["exit", "it"])) == (
        "&lt;b&gt;<mark>EXIT</mark>&lt;/b&gt; item"
    )


def test_ui_binds_to_localhost_by_default(monkeypatch: pytest.MonkeyPatch, web_env: WebEnv) -> None:
    import uvicorn

    import flows.web.app
    from flows.cli import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(flows.web.app, "create_app", lambda *a, **k: "the app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    out = CliRunner().invoke(app, ["ui", "--db", web_env.settings.lancedb_uri])
    assert out.exit_code == 0, out.output
    assert (seen["app"], seen["host"], seen["port"]) == ("the app", "127.0.0.1", 8800)


def test_deployment_link_asks_prefect_for_the_id() -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from flows.web.app import deployment_link

    asked: list[str] = []

    class Prefect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps({"id": "0b9c-42"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Prefect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        link = deployment_link(base)
        assert link() == f"{base}/deployments/deployment/0b9c-42"
        assert link() == f"{base}/deployments/deployment/0b9c-42"  # remembered: asked once
        assert asked == ["/api/deployments/name/reschedule/reschedule"]
    finally:
        server.shutdown()


def test_ui_refuses_to_listen_off_loopback_untrusted(
    monkeypatch: pytest.MonkeyPatch, web_env: WebEnv
) -> None:
    import uvicorn

    import flows.cli.ui
    from flows.cli import app

    untrusted = web_env.settings.model_copy(update={"trusted_network": False})
    monkeypatch.setattr(flows.cli.ui, "get_settings", lambda: untrusted)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    out = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--db", web_env.settings.lancedb_uri])
    assert out.exit_code == 2
    assert out.output.startswith("ui: tessera ui (plain HTTP, no login) on 0.0.0.0: plain TCP")


def test_store_of_another_version_is_one_line_503(tmp_path: Path, web_env: WebEnv) -> None:
    import lancedb
    import pyarrow as pa

    from flows.web.app import create_app

    uri = str(tmp_path / "old")
    schema = pa.schema([pa.field("key", pa.string())], metadata={b"tessera.schema_version": b"0"})
    lancedb.connect(uri).create_table("scenes", schema=schema)
    app = create_app(web_env.settings.model_copy(update={"lancedb_uri": uri}))
    with TestClient(app) as c:
        r = c.get("/api/videos")
    assert r.status_code == 503
    assert "has schema version 0" in r.json()["detail"]
