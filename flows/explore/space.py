# SPDX-License-Identifier: MIT
"""The design space of ``dfasim explore``: its TOML table, its axes, and the points drawn from it.

A design space is the ``[explore]`` table of a TOML file::

    [explore]
    checkpoint = "runs/train/uci_har/checkpoint.pt"
    search = "grid"            # grid | random | nsga2
    chips = 2                  # noisy chip instances per point

    [explore.adapt]            # fixed adaptation settings (the [adapt] table of dfasim adapt)
    epochs = 1
    noise = "crosssim"

    [explore.chip.crossbar]    # the base chip (the [chip] table); axes override it
    rows = 256

    [explore.space]            # the axes: a list of values, or a range table
    "crossbar.adc_bits" = [3, 4, 5]
    "device.g_max_us" = {low = 5.0, high = 20.0, num = 4}
    "adapt.rule" = ["bp", "dfa"]

An axis is a dotted field path of the chip description (any field ``ChipConfig.updated``
accepts, nested parts included), one of the cost sweep's short names (``size``, ``adc_bits``,
... of ``models/cost/sweep.py``), or ``adapt.NAME`` for a setting of the adaptation
(:data:`ADAPT_AXES`). A range is ``{low, high}`` with ``step`` or ``num`` (evenly spaced values,
both ends included; a grid needs one of them), and ``log = true`` for log spacing; random and
NSGA-II searches draw from a range without ``step`` / ``num`` continuously (integers when both
ends are integers).

Everything here is checked before any work starts: an unknown field, an empty list or range, a
value of the wrong type and a point whose chip does not validate or cannot map the network are
one-line :class:`~dfasim.flows.errors.DfasimError` s naming the axis or the point.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...golden.options import ADAPT_RULES, TRAINING_RULES
from ...models.chip import ChipConfig
from ...models.cost.sweep import AXIS_FIELDS
from ..adapt import AdaptConfig
from ..config import from_dict, to_dict
from ..errors import DfasimError
from ..fileio import read_text

__all__ = ["SEARCHES", "OBJECTIVES", "COST_MODELS", "ADAPT_AXES", "DATAFLOW_RULE", "MAX_POINTS",
           "ExploreConfig", "Axis", "Point", "ResolvedPoint", "load_space", "parse_axes",
           "grid_points", "random_points", "corner_points", "resolve_point", "adapt_config",
           "point_key", "check_point", "describe", "distributions"]

#: How the points are chosen: the full grid, seeded uniform draws, or Optuna's NSGA-II.
SEARCHES = ("grid", "random", "nsga2")

#: Objectives of the Pareto front and of NSGA-II, with their sense (+1: maximise, -1: minimise):
#: final adapted test accuracy (mean over chips), energy and latency of one adaptation epoch
#: (mean over chips), chip area.
OBJECTIVES = {"accuracy": +1, "energy": -1, "latency": -1, "area": -1}

#: Where a point's energy and latency come from: the analytical roll-up of the recorded activity
#: (``models/cost``, Table I's numbers) or the architecture simulator (``models/archsim``:
#: scheduled epoch with buffer spills and leakage). Area always comes from the roll-up.
COST_MODELS = ("rollup", "simulator")

#: Settings of the adaptation an ``adapt.NAME`` axis may vary: ``rule`` (one rule per point),
#: ``dataflow`` (of the simulator), ``chips`` (per point) and these fields of ``AdaptConfig``.
ADAPT_AXES = ("rule", "dataflow", "chips", "epochs", "batch_size", "lr_bp", "lr_dfa",
              "lr_schedule", "loss", "noise", "noise_epochs", "calibration_samples",
              "age_per_epoch_s")

#: The rule whose activity each simulator dataflow schedules (``models/archsim/dataflows.py``
#: ``SCHEME_OF``, copied so this module does not load the simulator).
DATAFLOW_RULE = {"bp": "bp", "dfa": "dfa", "pipelayer": "bp", "pipesdfa": "dfa"}

#: ``[explore.adapt]`` keys the explorer sets itself, with the key that sets them instead.
_OWNED_ADAPT_KEYS = {"rules": "explore.rule or an adapt.rule axis", "chips": "explore.chips",
                     "seed": "explore.seed", "chip": "[explore.chip]",
                     "checkpoint": "explore.checkpoint"}

#: Keys of a range table.
_RANGE_KEYS = {"low", "high", "step", "num", "log"}

#: Most points a grid may have (a guard against a typo that multiplies the space by 1000).
MAX_POINTS = 1_000_000


@dataclass
class ExploreConfig:
    """The ``[explore]`` table.

    Members
    -------
    checkpoint : str
        Pre-trained network (``dfasim train``) deployed at every point.
    network : str
        Dense network of a cost-only exploration without a checkpoint (``uci_har`` or
        ``9-128-64-32-6``); with a checkpoint, the checkpoint's network.
    search : str
        :data:`SEARCHES`.
    samples : int
        Points of a random or NSGA-II search (a grid has all of its points).
    population : int
        NSGA-II generation size (points asked of the sampler at once); 8 (chosen: enough
        parallel work for a few workers, small enough for several generations in a short run).
    seed : int
        Seed of the random draws, of NSGA-II, and of the chips: chip ``c`` of every point has
        the same device personality seed, so points are compared on the same draws.
    chips : int
        Noisy chip instances per point (an ``adapt.chips`` axis overrides it).
    rule : str
        Adaptation rule of every point without an ``adapt.rule`` axis (``bp`` or ``dfa``).
    dataflow : str
        Simulator dataflow without an ``adapt.dataflow`` axis; empty: the rule's own.
    cost_model : str
        :data:`COST_MODELS`.
    objectives : list of str
        Objectives of the Pareto front and of NSGA-II (:data:`OBJECTIVES`).
    adapt : dict
        Fixed adaptation settings (``AdaptConfig`` fields).
    chip : ChipConfig
        The base chip every point overrides.
    space : dict
        The axes (see the module description).
    """

    checkpoint: str = ""
    network: str = ""
    search: str = "grid"
    samples: int = 0
    population: int = 8
    seed: int = 0
    chips: int = 2
    rule: str = "dfa"
    dataflow: str = ""
    cost_model: str = "rollup"
    objectives: list[str] = field(default_factory=lambda: list(OBJECTIVES))
    adapt: dict[str, Any] = field(default_factory=dict)
    chip: ChipConfig = field(default_factory=ChipConfig)
    space: dict[str, Any] = field(default_factory=dict)

    def validate(self, *, cost_only: bool = False) -> None:
        """Raise :class:`DfasimError` (one line) for settings no exploration could use."""
        if self.search not in SEARCHES:
            raise DfasimError(f"explore.search must be one of {', '.join(SEARCHES)}, not "
                              f"{self.search!r}")
        if self.cost_model not in COST_MODELS:
            raise DfasimError(f"explore.cost_model must be one of {', '.join(COST_MODELS)}, not "
                              f"{self.cost_model!r}")
        if self.search != "grid" and self.samples < 1:
            raise DfasimError(f"explore.samples must be >= 1 for a {self.search} search, not "
                              f"{self.samples!r}")
        for name in ("chips", "population"):
            if getattr(self, name) < 1:
                raise DfasimError(f"explore.{name} must be >= 1, not {getattr(self, name)!r}")
        _check_rule(self.rule, "explore.rule")
        if self.dataflow and self.dataflow not in DATAFLOW_RULE:
            raise DfasimError(f"explore.dataflow must be one of {', '.join(DATAFLOW_RULE)}, "
                              f"not {self.dataflow!r}")
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or len(self.objectives) < 2 or len(set(self.objectives)) != len(self.objectives):
            raise DfasimError(f"explore.objectives must be two or more distinct names of "
                              f"{', '.join(OBJECTIVES)}, not {self.objectives!r}")
        if cost_only and "accuracy" in self.objectives:
            self.objectives = [o for o in self.objectives if o != "accuracy"]
            if len(self.objectives) < 2:
                raise DfasimError("a cost-only exploration needs two cost objectives "
                                  "(energy, latency, area)")
        if not cost_only and not self.checkpoint:
            raise DfasimError("explore needs the pre-trained network: explore.checkpoint or "
                              "--checkpoint (or --cost-only)")
        if cost_only and not (self.network or self.checkpoint):
            raise DfasimError("a cost-only exploration needs explore.network or a checkpoint")
        for key, instead in _OWNED_ADAPT_KEYS.items():
            if key in self.adapt:
                raise DfasimError(f"[explore.adapt] must not set {key!r}: use {instead}")
        try:
            self.chip.validate()
        except (ValueError, TypeError) as exc:
            raise DfasimError(f"[explore.chip] {exc}") from None
        if not self.space:
            raise DfasimError("[explore.space] is empty: give at least one axis")


def _check_rule(rule: Any, where: str) -> None:
    if rule not in ADAPT_RULES:
        extra = (" (sdfa and bptt train off-chip; on-chip adaptation supports "
                 f"{', '.join(ADAPT_RULES)})" if rule in TRAINING_RULES else "")
        raise DfasimError(f"{where} must be one of {', '.join(ADAPT_RULES)}, not {rule!r}{extra}")


@dataclass(frozen=True)
class Axis:
    """One axis of the space: either a list of ``values`` or a range.

    Members
    -------
    name : str
        As written in ``[explore.space]``.
    values : tuple or None
        The listed values (a grid's values of a range with ``step`` / ``num`` too).
    low, high : float or None
        A range's ends (both included).
    integer : bool
        A range over integers (both ends are TOML integers).
    log : bool
        Log-uniform draws / log-spaced grid values.
    """

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    @property
    def target(self) -> str:
        """``"adapt"`` or ``"chip"``."""
        return "adapt" if self.name.startswith("adapt.") else "chip"

    @property
    def continuous(self) -> bool:
        """A range without listed values (random / NSGA-II only)."""
        return self.values is None


@dataclass(frozen=True)
class Point:
    """One design point: ``params`` maps axis names to values, in the axes' order."""

    index: int
    params: dict[str, Any]


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"crossbar": {"rows": [..]}}`` → ``{"crossbar.rows": [..]}``; range tables stay."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (set(value) & {"low", "high"}):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str))


def _range_axis(name: str, table: dict[str, Any]) -> Axis:
    unknown = sorted(set(table) - _RANGE_KEYS)
    if unknown:
        raise DfasimError(f"[explore.space] {name}: unknown range key {unknown[0]!r} (a range "
                          f"is {{low, high}} with optional step, num, log)")
    low, high = table.get("low"), table.get("high")
    for end, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DfasimError(f"[explore.space] {name}: range {end} must be a number, not {v!r}")
    if low > high:
        raise DfasimError(f"[explore.space] {name}: empty range (low {low!r} > high {high!r})")
    log = table.get("log", False)
    if not isinstance(log, bool):
        raise DfasimError(f"[explore.space] {name}: log must be true or false, not {log!r}")
    if log and low <= 0:
        raise DfasimError(f"[explore.space] {name}: a log range needs low > 0, not {low!r}")
    integer = isinstance(low, int) and isinstance(high, int)
    step, num = table.get("step"), table.get("num")
    if step is not None and num is not None:
        raise DfasimError(f"[explore.space] {name}: give step or num, not both")
    values = None
    if num is not None:
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise DfasimError(f"[explore.space] {name}: num must be an integer >= 1, not "
                              f"{num!r}")
        grid = (np.geomspace(low, high, num) if log else np.linspace(low, high, num))
        values = tuple(dict.fromkeys(int(round(v)) if integer else float(v) for v in grid))
    elif step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
            raise DfasimError(f"[explore.space] {name}: step must be a number > 0, not {step!r}")
        if log:
            raise DfasimError(f"[explore.space] {name}: step and log do not go together (use "
                              f"num for log spacing)")
        n = int(math.floor((high - low) / step + 1e-9)) + 1
        values = tuple(low + i * step if integer and isinstance(step, int)
                       else float(low + i * step) for i in range(n))
    return Axis(name, values=values, low=low, high=high, integer=integer, log=log)


def _chip_paths(name: str) -> tuple[str, ...]:
    return AXIS_FIELDS.get(name, (name,))


def parse_axes(space: dict[str, Any], base_chip: ChipConfig | None = None) -> list[Axis]:
    """The axes of ``[explore.space]``, each checked: a known field, a non-empty list of
    scalars or a non-empty range; a chip value is tried on the base chip's field."""
    base = base_chip or ChipConfig()
    axes = []
    for name, spec in _flatten(space).items():
        if isinstance(spec, dict):
            axis = _range_axis(name, spec)
        elif isinstance(spec, list):
            if not spec:
                raise DfasimError(f"[explore.space] {name}: empty list of values")
            bad = [v for v in spec if not _scalar(v)]
            if bad:
                raise DfasimError(f"[explore.space] {name}: values must be numbers, strings or "
                                  f"booleans, not {bad[0]!r}")
            axis = Axis(name, values=tuple(spec))
        else:
            raise DfasimError(f"[explore.space] {name} must be a list of values or a range "
                              f"table {{low, high, ...}}, not {spec!r}")
        if axis.target == "adapt":
            short = name[len("adapt."):]
            if short not in ADAPT_AXES:
                raise DfasimError(f"[explore.space] unknown adaptation field {name!r} (known: "
                                  f"{', '.join('adapt.' + a for a in ADAPT_AXES)})")
            if short == "rule":
                for v in axis.values or (None,):
                    _check_rule(v, f"[explore.space] {name}")
            if short == "dataflow":
                for v in axis.values or (None,):
                    if v not in DATAFLOW_RULE:
                        raise DfasimError(f"[explore.space] {name}: dataflow must be one of "
                                          f"{', '.join(DATAFLOW_RULE)}, not {v!r}")
        else:
            probe = axis.values[0] if axis.values else axis.low
            try:
                base.updated({path: probe for path in _chip_paths(name)})
            except ValueError as exc:
                raise DfasimError(f"[explore.space] {exc}; short names: "
                                  f"{', '.join(AXIS_FIELDS)}") from None
        axes.append(axis)
    names = [a.name for a in axes]
    paths = [p for a in axes if a.target == "chip" for p in _chip_paths(a.name)]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise DfasimError(f"[explore.space] field {dup[0]!r} is set by two axes of {names}")
    return axes


def load_space(path: str | Path) -> ExploreConfig:
    """The ``[explore]`` table of a TOML file; one-line errors for any problem."""
    path = Path(path)
    text = read_text(path, "design space")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DfasimError(f"design space {path} is not valid TOML: {exc}") from None
    if "explore" not in data:
        raise DfasimError(f"design space {path} has no [explore] table")
    table = dict(data["explore"])
    # The space and the fixed adaptation settings are free-form here and checked in depth by
    # parse_axes and AdaptConfig; from_dict checks every other key and its type.
    space, adapt = table.pop("space", {}), table.pop("adapt", {})
    for key, value in (("space", space), ("adapt", adapt)):
        if not isinstance(value, dict):
            raise DfasimError(f"{path.name} [explore] {key} must be a table, not {value!r}")
    cfg = from_dict(ExploreConfig, table, f"{path.name} [explore]")
    cfg.space, cfg.adapt = space, adapt
    return cfg


def _draw(axis: Axis, rng: np.random.Generator) -> Any:
    if axis.values is not None:
        return axis.values[int(rng.integers(len(axis.values)))]
    if axis.integer:
        if axis.log:
            return int(round(math.exp(rng.uniform(math.log(axis.low), math.log(axis.high)))))
        return int(rng.integers(axis.low, axis.high + 1))
    if axis.log:
        return float(math.exp(rng.uniform(math.log(axis.low), math.log(axis.high))))
    return float(rng.uniform(axis.low, axis.high))


def grid_points(axes: list[Axis]) -> list[Point]:
    """Every combination of the axes' values (ranges need ``step`` or ``num``)."""
    cont = [a.name for a in axes if a.continuous]
    if cont:
        raise DfasimError(f"[explore.space] {cont[0]}: a grid needs listed values or a range "
                          f"with step or num (or use search = \"random\" / \"nsga2\")")
    size = math.prod(len(a.values) for a in axes)
    if size > MAX_POINTS:
        raise DfasimError(f"the grid has {size:,} points (more than {MAX_POINTS:,}); use a "
                          f"random or nsga2 search")
    return [Point(i, dict(zip((a.name for a in axes), combo)))
            for i, combo in enumerate(itertools.product(*(a.values for a in axes)))]


def random_points(axes: list[Axis], n: int, seed: int) -> list[Point]:
    """``n`` points drawn uniformly (seeded) from the axes; a point drawn twice is kept once."""
    rng = np.random.default_rng(seed)
    seen, points = set(), []
    for _ in range(n):
        params = {a.name: _draw(a, rng) for a in axes}
        key = json.dumps(params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            points.append(Point(len(points), params))
    return points


@dataclass
class ResolvedPoint:
    """A point made concrete: the chip, the adaptation settings, rule, dataflow, chips."""

    point: Point
    chip: ChipConfig
    adapt: dict[str, Any]
    rule: str
    dataflow: str
    chips: int


def resolve_point(cfg: ExploreConfig, point: Point) -> ResolvedPoint:
    """Apply a point's values to the base chip and the fixed adaptation settings."""
    chip_over: dict[str, Any] = {}
    adapt = dict(cfg.adapt)
    rule, dataflow, chips = cfg.rule, cfg.dataflow, cfg.chips
    for name, value in point.params.items():
        if name.startswith("adapt."):
            short = name[len("adapt."):]
            if short == "rule":
                rule = value
            elif short == "dataflow":
                dataflow = value
            elif short == "chips":
                chips = value
            else:
                adapt[short] = value
        else:
            for path in _chip_paths(name):
                chip_over[path] = value
    try:
        chip = cfg.chip.updated(chip_over)
    except ValueError as exc:
        raise DfasimError(f"point {point.index}: {exc}") from None
    return ResolvedPoint(point, chip, adapt, rule, dataflow or rule, chips)


def adapt_config(cfg: ExploreConfig, rp: ResolvedPoint, *, chip_index: int,
                 checkpoint: str, data_dir: str = "") -> AdaptConfig:
    """The ``AdaptConfig`` of one chip of a point: one chip, one rule; chip ``c`` of every point
    gets the seed ``seed * 1009 + c`` (1009: a prime above any chip count, so (seed, chip)
    pairs never share a seed)."""
    fields = {**rp.adapt, "checkpoint": checkpoint, "rules": [rp.rule], "chips": 1,
              "seed": cfg.seed * 1009 + chip_index}
    if data_dir and not fields.get("data_dir"):
        fields["data_dir"] = data_dir
    acfg = from_dict(AdaptConfig, {k: v for k, v in fields.items()}, "adaptation settings")
    acfg.chip = rp.chip
    return acfg


def point_key(cfg: ExploreConfig, rp: ResolvedPoint, checkpoint_digest: str,
              cost_only: bool = False) -> str:
    """A short content hash of everything a point's results depend on: the same design
    evaluated again (a rerun, or another space containing it) finds its finished chips."""
    payload = {"chip": to_dict(rp.chip), "adapt": rp.adapt, "rule": rp.rule,
               "dataflow": rp.dataflow, "cost_model": cfg.cost_model, "seed": cfg.seed,
               "checkpoint": checkpoint_digest, "cost_only": cost_only}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_point(cfg: ExploreConfig, rp: ResolvedPoint, *, checkpoint: str,
                data_dir: str = "") -> AdaptConfig:
    """Raise a one-line :class:`DfasimError` naming the point if its chip does not validate,
    its adaptation settings are unusable or its rule and dataflow disagree."""
    where = f"point {rp.point.index} ({describe(rp.point.params)})"
    try:
        rp.chip.validate()
    except (ValueError, TypeError) as exc:
        raise DfasimError(f"{where}: {exc}") from None
    if isinstance(rp.chips, bool) or not isinstance(rp.chips, int) or rp.chips < 1:
        raise DfasimError(f"{where}: adapt.chips must be an integer >= 1, not {rp.chips!r}")
    if DATAFLOW_RULE.get(rp.dataflow) != rp.rule:
        raise DfasimError(f"{where}: dataflow {rp.dataflow} schedules "
                          f"{DATAFLOW_RULE.get(rp.dataflow)} training but the rule is "
                          f"{rp.rule}")
    try:
        acfg = adapt_config(cfg, rp, chip_index=0, checkpoint=checkpoint, data_dir=data_dir)
        acfg.validate()
    except DfasimError as exc:
        raise DfasimError(f"{where}: {exc}") from None
    return acfg


def describe(params: dict[str, Any]) -> str:
    """``name=value, ...`` of a point, for messages and tables."""
    return ", ".join(f"{k}={v}" for k, v in params.items())


def distributions(axes: list[Axis]) -> dict[str, Any]:
    """Optuna distributions of the axes (categorical lists, int / float ranges)."""
    import optuna

    out = {}
    for a in axes:
        if a.values is not None:
            out[a.name] = optuna.distributions.CategoricalDistribution(list(a.values))
        elif a.integer:
            out[a.name] = optuna.distributions.IntDistribution(int(a.low), int(a.high),
                                                               log=a.log)
        else:
            out[a.name] = optuna.distributions.FloatDistribution(float(a.low), float(a.high),
                                                                 log=a.log)
    return out


def corner_points(axes: list[Axis]) -> list[Point]:
    """Each axis at each of its listed values or range ends, the others at their first value:
    what an NSGA-II search is checked on before it starts (its points are drawn later)."""
    first = {a.name: (a.values[0] if a.values else a.low) for a in axes}
    points = [Point(0, dict(first))]
    for a in axes:
        for v in (a.values or (a.low, a.high))[1:]:
            points.append(Point(len(points), {**first, a.name: v}))
    return points

