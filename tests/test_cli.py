from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from flows.cli import app
from tasks import __version__

runner = CliRunner()


class TestRoot:
    def test_version(self) -> None:
        result = runner.invoke(app, ["--version"])
        assert result.exit_code == 0
        assert result.output.strip() == f"tessera {__version__}"

    def test_config_json_reflects_environment(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        from tasks.settings import get_settings

        get_settings.cache_clear()
        monkeypatch.setenv("TESSERA_LANCEDB_URI", "/tmp/elsewhere")
        try:
            result = runner.invoke(app, ["config", "--json"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["lancedb_uri"] == "/tmp/elsewhere"

    def test_console_script_is_installed(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "flows.cli", "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "config" in out.stdout


class TestHelpTexts:
    def test_reschedule_lists_exactly_the_registered_policies(self) -> None:
        from flows.cli.reschedule import POLICY_NAMES
        from tasks.sched.registry import POLICIES

        assert sorted(POLICY_NAMES) == sorted(POLICIES)
        out = runner.invoke(app, ["reschedule", "--help"], terminal_width=400)
        assert all(name in out.output for name in POLICY_NAMES)

    def test_help_reads_as_prose(self) -> None:
        for args in (
            ["--help"],
            ["ingest", "--help"],
            ["search", "--help"],
            ["jobs", "submit", "--help"],
            ["cluster", "up", "--help"],
            ["reschedule", "--help"],
            ["config", "--help"],
        ):
            out = runner.invoke(app, args, terminal_width=200)
            assert out.exit_code == 0, out.output
            assert "<bool>" not in out.output, args
            assert "``" not in out.output, args
