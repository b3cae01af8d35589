"""Job specs: valid ones load, bad ones are rejected with a clear one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.training.spec import JobSpec, SpecError, load_spec, parse_spec
from tasks.training.workloads import build_workload


class TestValidSpecs:
    def test_yaml_with_overrides(self, tmp_path: Path) -> None:
        path = tmp_path / "job.yaml"
        path.write_text("name: digits\nmodel: cnn\nbatch_size: 16\nmax_pus: 2\n")
        spec = load_spec(path, {"epochs": 3, "lr": None})
        assert (spec.model, spec.dataset, spec.batch_size, spec.epochs) == ("cnn", "digits", 16, 3)

    def test_learning_rate_rule(self) -> None:
        assert JobSpec(name="a", lr=0.1).scaled_lr(4) == pytest.approx(0.4)
        assert JobSpec(name="b", optimizer="adam", lr=0.01).scaled_lr(4) == pytest.approx(0.02)
        assert JobSpec(name="c", lr=0.1, lr_scaling="none").scaled_lr(4) == pytest.approx(0.1)


class TestBadSpecs:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"name": "a", "model": "resnet9000"}, "model: unknown model 'resnet9000'"),
            ({"name": "a", "min_pus": 4, "max_pus": 2}, "min_pus (4) is larger than max_pus (2)"),
            ({"name": "a", "epochs": 0}, "epochs: Input should be greater than or equal to 1"),
            ({"name": "a", "batch": 3}, "batch: unknown field"),
            ({"name": "bad name!"}, "name: must be 1-64 letters"),
            ({"name": "a", "model": "mlp", "dataset": "imagenet"}, "trains on dataset 'digits'"),
            ({"name": "a", "optimizer": "lion"}, "optimizer: Input should be 'sgd' or 'adam'"),
            ({"model": "mlp"}, "name: Field required"),
        ],
    )
    def test_rejected_with_field_and_cause(self, data: dict[str, object], message: str) -> None:
        with pytest.raises(SpecError, match=r"^spec: ") as info:
            parse_spec(data)
        assert message in str(info.value)
        assert "\n" not in str(info.value)

    def test_not_yaml(self, tmp_path: Path) -> None:
        path = tmp_path / "job.yaml"
        path.write_text("name: [unclosed\n")
        with pytest.raises(SpecError, match="not valid YAML"):
            load_spec(path)

    def test_not_a_mapping(self, tmp_path: Path) -> None:
        path = tmp_path / "job.yaml"
        path.write_text("- a\n- b\n")
        with pytest.raises(SpecError, match="expected a mapping"):
            load_spec(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(SpecError, match="no such spec file"):
            load_spec(tmp_path / "nope.yaml")

    def test_user_code_that_cannot_be_imported(self) -> None:
        spec = JobSpec(name="u", model="no_such_pkg.mod:build")
        with pytest.raises(SpecError, match=r"cannot import 'no_such_pkg\.mod'"):
            build_workload(spec)

    def test_user_code_without_the_function(self) -> None:
        spec = JobSpec(name="u", model="tests.training.userjobs:nothing")
        with pytest.raises(SpecError, match="has no callable 'nothing'"):
            build_workload(spec)


class TestWorkloads:
    @pytest.mark.parametrize("model", ["mlp", "cnn", "transformer"])
    def test_builtin_forward_shapes(self, model: str) -> None:
        w = build_workload(JobSpec(name="w", model=model))
        x, y = w.train[:4]
        out = w.model(x)
        assert out.shape[0] == 4 and w.loss_fn(out, y).ndim == 0
        assert 0.0 <= w.metric() <= 1.0

    def test_user_code_by_import_path(self) -> None:
        w = build_workload(JobSpec(name="u", model="tests.training.userjobs:build"))
        assert len(w.train) == 1438
