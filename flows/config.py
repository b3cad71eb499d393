# SPDX-License-Identifier: MIT
"""Typed run configurations, loaded from and written to TOML.

Every setting of a run lives in one dataclass tree; :func:`load_toml` fills it from a TOML file,
rejecting unknown keys and wrong types with a one-line :class:`DfasimError`, and
:func:`dump_toml` writes the resolved tree back so a run can be repeated exactly.
"""
from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from ..golden.lif import LIFConfig
from ..golden.options import MSE_REDUCTIONS
from ..golden.surrogate import Surrogate
from .errors import DfasimError
from .fileio import read_text
from .runtime import check_device_name

__all__ = ["NeuronConfig", "TrainConfig", "from_dict", "to_dict", "load_toml", "dump_toml",
           "load_chip"]

T = TypeVar("T")


@dataclass
class NeuronConfig:
    """LIF neuron settings (see :class:`dfasim.golden.lif.LIFConfig`)."""

    neuron: str = "lif"
    leak: float = 0.75
    threshold: float = 0.5
    reset: str = "hard"
    surrogate: str = "triangle"
    surrogate_width: float = 1.0
    #: spikingjelly's ``decay_input`` (the input scaled by ``1 - leak`` too); LIF only.
    decay_input: bool = False
    #: ``"gt"``: fire on ``u > threshold`` (default); ``"ge"``: on ``u >= threshold``.
    fire: str = "gt"

    def to_lif(self) -> LIFConfig:
        return LIFConfig(leak=self.leak, threshold=self.threshold, reset=self.reset,
                         neuron=self.neuron,
                         surrogate=Surrogate(self.surrogate, self.surrogate_width),
                         decay_input=self.decay_input, fire=self.fire)


@dataclass
class TrainConfig:
    """Settings of ``dfasim train``. Empty ``layers`` / zero ``timesteps`` / zero ``batch_size``
    mean the dataset's defaults (the Table I networks where the paper has one; batch 50, the
    paper's, except on the 40-sample BasicMotions training set)."""

    dataset: str = "basic_motions"
    rule: str = "bptt"
    layers: str = ""
    timesteps: int = 0
    epochs: int = 30
    batch_size: int = 0
    lr: float = 3e-3
    loss: str = "mse"
    #: MSE over classes: ``"sum"`` (default) or ``"mean"`` (PyTorch ``nn.MSELoss``).
    mse_reduction: str = "sum"
    readout: str = "spike"
    dfa_error: str = "average"
    #: Initial weights ``U(-g, g) / sqrt(fan_in)``: ``g`` (1 = PyTorch's default bound).
    init_gain: float = 1.0
    seed: int = 0
    device: str = "cpu"
    data_dir: str = ""
    neuron: NeuronConfig = field(default_factory=NeuronConfig)

    def validate(self) -> None:
        """Raise :class:`DfasimError` for values no run could use."""
        if self.rule not in ("bptt", "dfa", "sdfa"):
            raise DfasimError(f"rule must be bptt, dfa or sdfa, not {self.rule!r}")
        if self.mse_reduction not in MSE_REDUCTIONS:
            raise DfasimError(f"mse_reduction must be one of {', '.join(MSE_REDUCTIONS)}, "
                              f"not {self.mse_reduction!r}")
        if self.epochs <= 0:
            raise DfasimError(f"epochs must be positive, not {self.epochs!r}")
        if self.batch_size < 0:
            raise DfasimError(f"batch_size must be positive (0 = dataset default), "
                              f"not {self.batch_size!r}")
        if self.timesteps < 0:
            raise DfasimError(f"timesteps must be positive (0 = dataset default), "
                              f"not {self.timesteps!r}")
        if not self.init_gain > 0:
            raise DfasimError(f"init_gain must be positive, not {self.init_gain!r}")
        if not self.lr > 0:
            raise DfasimError(f"lr must be positive, not {self.lr!r}")
        check_device_name(self.device)
        try:
            self.neuron.to_lif()
        except ValueError as exc:
            raise DfasimError(f"[neuron] {exc}") from None


def _check_type(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, where)
            except DfasimError:
                continue
        raise DfasimError(f"{where}: {value!r} is not a valid {tp}")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise DfasimError(f"{where}: expected a list, got {value!r}")
        (arg, *_) = typing.get_args(tp) or (Any,)
        return origin(_check_type(v, arg, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is Any or (isinstance(tp, type) and isinstance(value, tp)
                     and not (tp is int and isinstance(value, bool))):
        return value
    if type(None) is tp and value is None:
        return None
    raise DfasimError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a nested dict, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise DfasimError(f"{where}: expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise DfasimError(f"{where}: unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(names))})")
    kwargs = {}
    for key, value in data.items():
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value, f"{where}.{key}")
        else:
            kwargs[key] = _check_type(value, tp, f"{where}.{key}")
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """The dataclass tree as plain TOML-serialisable dicts."""
    return dataclasses.asdict(obj)


def load_toml(path: str | Path, cls: type[T], section: str) -> T:
    """Load ``[section]`` of a TOML file into ``cls``; one-line errors for any problem."""
    path = Path(path)
    text = read_text(path, "config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DfasimError(f"config {path} is not valid TOML: {exc}") from None
    if section not in data:
        raise DfasimError(f"config {path} has no [{section}] table")
    return from_dict(cls, data[section], f"{path.name} [{section}]")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    # TOML has no null: an omitted key reads back as the field's default, which is None.
    return {k: _drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


def dump_toml(path: str | Path, sections: dict[str, Any]) -> None:
    """Write dataclass trees as TOML tables ``{section: obj}`` (None fields are omitted)."""
    Path(path).write_text(tomli_w.dumps({k: _drop_none(to_dict(v))
                                         for k, v in sections.items()}))


def load_chip(path: str | Path | None):
    """The ``[chip]`` table of a TOML file (Table II defaults without a path), validated;
    one-line :class:`DfasimError` for any problem."""
    from ..models.chip import ChipConfig

    chip = ChipConfig() if path is None else load_toml(path, ChipConfig, "chip")
    try:
        return chip.validate()
    except (ValueError, TypeError) as exc:
        raise DfasimError(f"{Path(path).name if path else 'chip'} [chip] {exc}") from None
