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
        assert out.exit_code == 0, out.output
        lines = out.stdout.strip().splitlines()
        answers = [json.loads(line) for line in lines]
        assert [a[0]["scene"] if a else None for a in answers] == [0, 1, None, 4]

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
        assert "ingested 0 of 3" in out.output

    def test_good_and_bad_inputs_exit_zero(
        self, library: Library, flow_settings: Settings, store_uri: str
    ) -> None:
        args = [str(library.no_audio), str(library.bad["zero-length"])]
        out = _ingest(args, store_uri, flow_settings)
        assert out.exit_code == 0, out.output
        assert "ingested 1 of 2" in out.output
