"""A per-PU batch larger than the dataset is refused at submit, with one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.settings import get_settings
from tasks.training.spec import TRAIN_SIZES, SpecError, parse_spec
from tasks.training.workloads import digits, sequences

runner = CliRunner()


def test_train_sizes_match_the_workloads() -> None:
    assert {"digits": len(digits(0)[0]), "sequences": len(sequences(seed=0)[0])} == TRAIN_SIZES


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"batch_size": 1438}, True),
        ({"batch_size": 1439}, False),
        ({"batch_size": 800, "min_pus": 2}, False),
        ({"model": "transformer", "batch_size": 3277}, True),
        ({"model": "transformer", "batch_size": 4000}, False),
    ],
)
def test_impossible_batches_are_refused(fields: dict[str, object], ok: bool) -> None:
    data = {"name": "b", **fields}
    if ok:
        parse_spec(data)
    else:
        with pytest.raises(SpecError, match="training set"):
            parse_spec(data)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    get_settings.cache_clear()
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TESSERA_JOB_STORE_URL", f"sqlite:///{tmp_path / 'data/state/jobs.db'}")
    yield tmp_path
    get_settings.cache_clear()


def test_submit_refuses_with_one_line(cli_env: Path) -> None:
    spec = cli_env / "job.yaml"
    spec.write_text("name: huge\nmodel: mlp\nbatch_size: 5000\n")
    result = runner.invoke(app, ["jobs", "submit", str(spec)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "digits training set (1438 samples)" in lines[0], result.output
    listed = runner.invoke(app, ["jobs", "list"])
    assert "huge" not in listed.output
