"""``tessera search`` and ``tessera ingest`` through Typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from flows.cli import app
from tasks.settings import Settings
from tasks.video.search import SceneSearcher
from tests.video_search.conftest import Library

runner = CliRunner()


def _db(searcher: SceneSearcher) -> str:
    return str(searcher.store.db.uri)


class TestSearchCommand:
    def test_json_results(self, catalogue: SceneSearcher) -> None:
        out = runner.invoke(
            app, ["search", "the word EXIT", "--json", "--limit", "2", "--db", _db(catalogue)]
        )
        assert out.exit_code == 0, out.output
        results = json.loads(out.stdout)
        # Only scene 1 shows EXIT: the relevance threshold returns fewer than --limit.
        assert len(results) == 1
        assert results[0]["scene"] == 1
        assert {"video", "start", "end", "score", "thumbnail", "matched"} <= set(results[0])

    def test_table(self, catalogue: SceneSearcher) -> None:
        out = runner.invoke(app, ["search", "pizza menu", "--db", _db(catalogue)])
        assert out.exit_code == 0, out.output
        assert "PIZZA" in out.stdout
        assert "scenes for 'pizza menu'" in out.stdout

    def test_stdin_mode_one_json_array_per_line(self, catalogue: SceneSearcher) -> None:
        queries = "a red screen\nthe word EXIT\n\nkitchen closed for cleaning\n"
        out = runner.invoke(
            app, ["search", "-", "--limit", "1", "--db", _db(catalogue)], input=queries
        )
        assert out.exit_code == 1, out.output
        lines = out.stdout.strip().splitlines()
        answers = [json.loads(line) for line in lines]
        assert [a[0]["scene"] for a in answers if isinstance(a, list)] == [0, 1, 4]
        # The blank line is a failed query on its own line; the batch goes on, exit 1 says so.
        assert answers[2]["query"] == ""
        assert answers[2]["error"].startswith("query is empty")

    @pytest.mark.parametrize("query", ["", "   "])
    def test_empty_query_is_a_clear_error(self, catalogue: SceneSearcher, query: str) -> None:
        out = runner.invoke(app, ["search", query, "--db", _db(catalogue)])
        assert out.exit_code == 2
        assert "query is empty" in out.output


def _ingest(paths: list[str], store_uri: str, settings: Settings) -> Result:
    """``tessera ingest PATHS --db STORE --dask-address ADDR`` through the CLI runner."""
    args = ["ingest", *paths, "--db", store_uri, "--dask-address", str(settings.dask_address)]
    return runner.invoke(app, args)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
class TestIngestCommand:
    def test_only_bad_inputs_exit_non_zero(
        self, library: Library, flow_settings: Settings, store_uri: str
    ) -> None:
        bad = [str(p) for p in library.bad.values()]
        out = _ingest(bad, store_uri, flow_settings)
        assert out.exit_code == 1
        for path in bad:
            assert sum(path in line for line in out.output.splitlines()) >= 1
        # Inputs that fail the up-front check never start the flow; a file that passes it
        # (a truncated one can) fails inside the flow instead.
        assert "nothing to ingest" in out.output or "ingested 0 of 3" in out.output

    def test_good_and_bad_inputs_exit_zero(
        self, library: Library, flow_settings: Settings, store_uri: str
    ) -> None:
        args = [str(library.no_audio), str(library.bad["zero-length"])]
        out = _ingest(args, store_uri, flow_settings)
        assert out.exit_code == 0, out.output
        assert "ingested 1 of 2" in out.output

    def test_ingested_video_answers_every_line_of_a_batch(
        self, library: Library, flow_settings: Settings, store_uri: str
    ) -> None:
        out = _ingest([str(library.no_audio)], store_uri, flow_settings)
        assert out.exit_code == 0, out.output
        queries = [
            "a red screen",
            "volcanic lava flowing into the ocean",  # no word of it in any descriptor
            "glaciers, then parrots",  # split, and no part has a full-text hit
            "the word EXIT",
        ]
        out = runner.invoke(
            app, ["search", "-", "--json", "--db", store_uri], input="\n".join(queries) + "\n"
        )
        assert out.exit_code == 0, out.output
        answers = [json.loads(line) for line in out.stdout.strip().splitlines()]
        assert len(answers) == len(queries)
        assert all(isinstance(a, list) for a in answers)
        assert answers[0] and answers[0][0]["start"] == 0.0

    def test_backfill_command(
        self, library: Library, flow_settings: Settings, store_uri: str
    ) -> None:
        folder = str(library.no_audio.parent)
        pattern = str(library.no_audio.parent / "*.mov")
        args = ["--db", store_uri, "--dask-address", str(flow_settings.dask_address)]
        out = runner.invoke(app, ["backfill", pattern, *args])
        assert out.exit_code == 0, out.output
        assert "silent.mov: written" in out.output
        again = runner.invoke(app, ["backfill", pattern, *args])
        assert again.exit_code == 0, again.output
        assert "silent.mov: unchanged" in again.output
        future = runner.invoke(app, ["backfill", folder, "--since", "2999-01-01", *args])
        assert future.exit_code == 1
        assert "no video files to backfill" in future.output


class TestSearchWithoutStore:
    def test_missing_store_is_an_error_and_is_not_created(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        missing = tmp_path / "nowhere"
        out = runner.invoke(app, ["search", "red", "--db", str(missing)])
        assert out.exit_code == 1
        assert f"no scene store at {missing}" in out.output
        assert not missing.exists()
