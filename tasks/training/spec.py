"""What a user submits: one training job's specification, validated.

A spec names the workload (a built-in name or user code ``package.module:build``), the
per-PU batch size, the learning rate at one PU, the optimizer, how long to train (epochs
and/or a target metric) and the PU range the scheduler may give it.

Example:
    >>> spec = JobSpec(name="digits", model="mlp", epochs=3, min_pus=1, max_pus=4)
    >>> spec.dataset
    'digits'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BUILTIN_MODELS = ("mlp", "cnn", "transformer")
BUILTIN_DATASETS = {"mlp": "digits", "cnn": "digits", "transformer": "sequences"}
TRAIN_SIZES = {"digits": 1438, "sequences": 3277}
"""Training samples of each built-in dataset (tests check them against the workloads)."""
_USER_CODE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SpecError(ValueError):
    """A job spec that cannot be run; the message names the field and the cause."""


class JobSpec(BaseModel):
    """One training job as submitted.

    Attributes:
        name: unique job name (letters, digits, ``_ . -``).
        model: ``mlp``, ``cnn``, ``transformer`` or user code ``package.module:build``.
        dataset: ``digits`` or ``sequences`` for built-ins; free text for user code.
        batch_size: samples per PU per step (the global batch is ``batch_size * pus``).
        lr: learning rate at one PU; scaled with the global batch (see ``lr_scaling``).
        optimizer: ``sgd`` (momentum 0.9) or ``adam``.
        lr_scaling: ``linear`` (lr x PUs, Goyal et al. 2017), ``sqrt`` (lr x sqrt(PUs)) or
            ``none``; ``auto`` picks linear for SGD and sqrt for Adam.
        epochs: most epochs to train.
        target_metric: stop early once the test metric reaches this (accuracy in [0, 1]).
        min_pus / max_pus: the PU range the scheduler may allocate.
        priority: larger runs first where the policy orders jobs.
        seed: seeds the model init and the per-epoch sample permutation.
        checkpoint_every_s: rank 0 writes a checkpoint at least this often (and at every
            stop and epoch end).
        restart_on_bad_checkpoint: when checkpoints exist but none loads, train from step 0
            instead of failing the job (off: a lost checkpoint never silently costs progress).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str = "mlp"
    dataset: str | None = None
    batch_size: int = Field(32, ge=1, le=65536)
    lr: float = Field(0.05, gt=0, le=10)
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr_scaling: Literal["auto", "linear", "sqrt", "none"] = "auto"
    epochs: int = Field(10, ge=1, le=100000)
    target_metric: float | None = Field(None, gt=0, le=1)
    min_pus: int = Field(1, ge=1)
    max_pus: int = Field(4, ge=1)
    priority: int = 0
    seed: int = 0
    checkpoint_every_s: float = Field(30.0, gt=0)
    restart_on_bad_checkpoint: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if value not in BUILTIN_MODELS and not _USER_CODE.match(value):
            raise ValueError(
                f"unknown model {value!r}: use one of {', '.join(BUILTIN_MODELS)} "
                "or user code 'package.module:build'"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobSpec:
        if self.min_pus > self.max_pus:
            raise ValueError(f"min_pus ({self.min_pus}) is larger than max_pus ({self.max_pus})")
        if self.model in BUILTIN_DATASETS:
            expected = BUILTIN_DATASETS[self.model]
            if self.dataset is None:
                object.__setattr__(self, "dataset", expected)
            elif self.dataset != expected:
                raise ValueError(
                    f"model {self.model!r} trains on dataset {expected!r}, not {self.dataset!r}"
                )
        return self

    @property
    def is_user_code(self) -> bool:
        """Whether the model is user code imported by path."""
        return self.model not in BUILTIN_MODELS

    def scaled_lr(self, pus: int) -> float:
        """Learning rate at ``pus`` PUs, by the documented scaling rule.

        The global batch grows with the PUs (``batch_size * pus``); with SGD the linear
        rule keeps the update per sample constant, with Adam the square-root rule does.

        Example:
            >>> JobSpec(name="a", lr=0.1, optimizer="sgd").scaled_lr(4)
            0.4
            >>> JobSpec(name="b", lr=0.01, optimizer="adam").scaled_lr(4)
            0.02
        """
        rule = self.lr_scaling
        if rule == "auto":
            rule = "linear" if self.optimizer == "sgd" else "sqrt"
        factor = {"linear": float(pus), "sqrt": pus**0.5, "none": 1.0}[rule]
        return self.lr * factor


def _format_error(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "spec"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}")
    return f"{source}: " + "; ".join(parts)


def parse_spec(data: Any, source: str = "spec") -> JobSpec:
    """Validate a mapping into a :class:`JobSpec`, raising :class:`SpecError` on bad input.

    Example:
        >>> parse_spec({"name": "x", "epochs": 0})
        Traceback (most recent call last):
        ...
        tasks.training.spec.SpecError: spec: epochs: Input should be greater than or equal to 1
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        spec = JobSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_error(exc, source)) from None
    check_runnable(spec, source)
    return spec


def check_runnable(spec: JobSpec, source: str = "spec") -> None:
    """Refuse a spec that could never take a step: its global batch at ``min_pus`` PUs is
    larger than its built-in dataset (it would otherwise queue, launch and fail forever).

    Done at submit, not in the model, so specs already stored still load. User code's
    dataset size is known only once it runs.

    Example:
        >>> check_runnable(JobSpec(name="x", batch_size=2000))
        Traceback (most recent call last):
        ...
        tasks.training.spec.SpecError: spec: batch_size: 2000 per PU x min_pus 1 is larger ...
    """
    size = TRAIN_SIZES.get(spec.dataset or "") if not spec.is_user_code else None
    if size is not None and spec.batch_size * spec.min_pus > size:
        raise SpecError(
            f"{source}: batch_size: {spec.batch_size} per PU x min_pus {spec.min_pus} is larger "
            f"than the {spec.dataset} training set ({size} samples); use batch_size <= "
            f"{size // spec.min_pus}"
        )


def load_spec(path: Path, overrides: dict[str, Any] | None = None) -> JobSpec:
    """Read a YAML spec file, apply command-line overrides, and validate.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "job.yaml"
        >>> _ = p.write_text("name: demo\\nmodel: cnn\\n")
        >>> load_spec(p, {"epochs": 2}).epochs
        2
    """
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_spec(data, str(path))
