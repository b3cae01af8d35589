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
