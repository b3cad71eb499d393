# SPDX-License-Identifier: MIT
"""``dfasim adapt``: deploy a pre-trained SNN on noisy crossbars and adapt it online, BP vs DFA.

For each of ``chips`` chip instances (device personalities drawn from the chip's seed) the FP32
network is programmed onto the crossbars, its non-ideal accuracy measured, and then a copy of
that same chip is adapted for ``epochs`` epochs with each rule (``bp``: errors backwards through
the noisy transposed crossbars, layer by layer; ``dfa``: ``B_l`` held in noisy crossbars, all
layers updated in parallel). Accuracy on the test split is recorded after every epoch.

A convolutional checkpoint (a ``golden.conv.SpikingNetwork``) is deployed as
:class:`~dfasim.models.analog_conv.AnalogNetwork` (one im2col matrix per convolution, batch norm
and pooling digital); ``adapt.json`` then also holds its ``architecture`` for the cost model.

Ageing (``age_per_epoch_s > 0``, needs ``[adapt.chip.nonideal] drift = true``): after every
epoch's updates the chip ages by ``age_per_epoch_s`` seconds (every crossbar, weights and DFA's
B, :meth:`~dfasim.models.crossbar.DeviceArray.advance`) before it is evaluated, so the history
holds accuracy against time since programming (``age_s``) and the next epoch trains on the
relaxed chip; devices an update re-writes relax afresh. A copy of the deployed chip ages the same
way without adaptation (``deployed_aging``); ``aging.png`` plots the three, mean over chips.

The run directory is the checkpoint: after every epoch of every (chip, rule) the whole chip state
(conductances, device personalities, ADC ranges, random generators) is saved, so an interrupted
run continues where it stopped and ends with the same numbers as an uninterrupted one.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import statistics
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..golden.options import ADAPT_RULES, LR_SCHEDULES, NOISE_CHOICES
from ..models.analog_conv import AnalogNetwork, deploy_conv_feedback
from ..models.analog_network import AnalogSNN, deploy_feedback, to_device
from ..models.chip import ChipConfig
from ..models.integer_datapath import DATAPATHS, integer_network
from ..models.rram.noise import IdealDevice, NoiseModel, PolynomialSpread
from .checkpoint import Checkpoint, load_checkpoint
from .config import dump_toml, from_dict, to_dict
from .errors import DfasimError
from .fileio import atomic_torch_save, relative_to_run, write_json
from .data_prep import DEFAULT_BATCH, prepare_data
from .evaluation import evaluate
from . import limits
from .limits import ResourceEstimate, adapt_estimate, check_fits
from .networks import check_network_fits
from .runtime import check_device_name, resolve_device, set_determinism

__all__ = ["AdaptConfig", "ADAPT_RULES", "NOISE_CHOICES", "adapt", "aging_curves",
           "load_noise_model", "plot_aging", "summarise"]


@dataclass
class AdaptConfig:
    """Settings of ``dfasim adapt`` (the ``[adapt]`` table; ``[adapt.chip]`` describes the chip)."""

    checkpoint: str = ""
    dataset: str = ""
    rules: list[str] = field(default_factory=lambda: list(ADAPT_RULES))
    epochs: int = 25
    batch_size: int = 0
    #: Plain SGD rates, picked by a short sweep on one UCI-HAR chip (docs/benchmarks.md).
    lr_bp: float = 0.15
    lr_dfa: float = 0.05
    #: ``"cosine"``: lr * (1 + cos(pi * epoch / epochs)) / 2 per epoch; ``"constant"``.
    lr_schedule: str = "cosine"
    #: The loss the network was pre-trained with (``dfasim train`` default): DFA's B matrices
    #: were aligned under this error, and adapting with another loss drifted (measured).
    loss: str = "mse"
    chips: int = 5
    seed: int = 0
    noise: str = "neurram"
    noise_epochs: int = 100
    calibration_samples: int = 256
    data_dir: str = ""
    #: Seconds the chip ages after every epoch (drift between epochs); 0: no ageing (chosen).
    age_per_epoch_s: float = 0.0
    #: Digital side of the chip: ``"float"`` (the float reference, the default) or
    #: ``"integer"`` (partial sums, LIF, GradLIF and WGU as the RTL's bit-exact integer
    #: functions, ``models/integer_datapath.py``, ``docs/integer-datapath.md``).
    datapath: str = "float"
    #: Torch device of the deployed arrays and the adaptation (``"cpu"``, ``"cuda"``,
    #: ``"cuda:N"``). Chips are programmed on the CPU (the noise models run there) and moved;
    #: their random draws come from CPU generators, so a chip draws the same numbers on any
    #: device and results differ only by float reassociation (``docs/adaptation-loop.md``).
    device: str = "cpu"
    chip: ChipConfig = field(default_factory=ChipConfig)

    def validate(self) -> None:
        if not self.checkpoint:
            raise DfasimError("adapt needs the pre-trained checkpoint (--checkpoint PATH)")
        bad = [r for r in self.rules if r not in ADAPT_RULES]
        if bad or not self.rules:
            raise DfasimError(f"rules must be a non-empty subset of {ADAPT_RULES}, "
                              f"not {self.rules!r}")
        if self.noise not in NOISE_CHOICES and not Path(self.noise).is_file():
            raise DfasimError(f"noise model {self.noise!r} is neither one of "
                              f"{', '.join(NOISE_CHOICES)} nor an existing model file")
        for name in ("epochs", "chips", "noise_epochs", "calibration_samples"):
            if getattr(self, name) <= 0:
                raise DfasimError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.batch_size < 0:
            raise DfasimError(f"batch_size must be positive (0 = default), "
                              f"not {self.batch_size!r}")
        if self.datapath not in DATAPATHS:
            raise DfasimError(f"datapath must be one of {', '.join(DATAPATHS)}, not "
                              f"{self.datapath!r}")
        check_device_name(self.device)
        if self.lr_schedule not in LR_SCHEDULES:
            raise DfasimError(f"lr_schedule must be cosine or constant, not "
                              f"{self.lr_schedule!r}")
        for name in ("lr_bp", "lr_dfa"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise DfasimError(f"{name} must be a non-negative number, not {v!r}")
        try:
            self.chip.validate()
        except (ValueError, TypeError) as exc:
            raise DfasimError(f"[chip] {exc}") from None
        a = self.age_per_epoch_s
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not (
                math.isfinite(a) and a >= 0):
            raise DfasimError(f"age_per_epoch_s must be a number of seconds >= 0, not {a!r}")
        if a > 0 and not self.chip.nonideal.drift:
            raise DfasimError("age_per_epoch_s needs [adapt.chip.nonideal] drift = true")


def load_noise_model(name: str, out_dir: Path, *, g_min: float, g_max: float, epochs: int,
                     seed: int, data_dir: str | None = None, progress: bool | None = None
                     ) -> tuple[NoiseModel, str]:
    """The noise model called ``name``; GPR models are fitted once into ``out_dir``."""
    if name == "ideal":
        return IdealDevice(), "ideal devices (no programming error)"
    if name == "crosssim":
        return PolynomialSpread(), "CrossSim RRAM_Wan sigma(G) polynomial (NeuRRAM fit)"
    from ..models.rram.gpr import GPRNoiseModel
    from .noise import noise_fit, report_paths

    if name in ("neurram", "radar"):
        path = out_dir / f"noise_{name}.pt"
        if not all(p.exists() for p in (path, *report_paths(path))):
            noise_fit(name, path, epochs=epochs, seed=seed, g_min=g_min, g_max=g_max,
                      data_dir=data_dir, progress=progress, reuse=True)
    else:
        path = Path(name)
        if not path.is_file():
            raise DfasimError(f"noise model {name!r} is neither one of "
                              f"{', '.join(NOISE_CHOICES)} nor an existing model file")
    try:
        model = GPRNoiseModel.load(path)
    except (ValueError, OSError) as exc:
        raise DfasimError(str(exc).splitlines()[0]) from None
    window = (getattr(model, "meta", {}) or {}).get("window_us")
    if window is not None and (abs(window[0] - g_min) > 1e-9 or abs(window[1] - g_max) > 1e-9):
        raise DfasimError(f"noise model {path} was fitted for the window {window} µS, the chip "
                          f"is configured for [{g_min}, {g_max}] µS")
    return model, f"GPR noise model {path.name if path.parent == out_dir else path}"


def _architecture(model) -> Any:
    """The Architecture of a convolutional checkpoint's network, None for an MLP."""
    return getattr(model, "architecture", None)


def _conv_adapt_estimate(arch, *, n_train: int, n_test: int, batch_size: int, epochs: int,
                         chips: int, rules: int) -> ResourceEstimate:
    """:func:`~dfasim.flows.limits.adapt_estimate` for a convolutional network: its kernels
    once per weight cell, once per output position for compute; the im2col patches and every
    neuron of the maps for the saved activations."""
    mats = arch.matrices()
    cells = sum(m.rows * m.cols for m in mats) + arch.n_classes * sum(arch.hidden_sizes)
    macs = sum(m.rows * m.cols * m.reads_per_timestep for m in mats) \
        + arch.n_classes * sum(arch.hidden_sizes)
    per_step = sum(m.rows * m.reads_per_timestep for m in mats) \
        + limits._TRAIN_SAVED_PER_NEURON * sum(arch.neurons())
    batch = max(1, min(batch_size, n_train))
    memory = limits._CHIP_COPIES * limits._CELL_BYTES * cells \
        + 2 * limits._F32 * max(batch, min(limits._EVAL_BATCH, max(1, n_test))) \
        * arch.timesteps * per_step
    macs_per_epoch = arch.timesteps * macs * (limits._TRAIN_PASSES * n_train + n_test)
    flops = 2.0 * limits._CROSSBAR_OVERHEAD * chips * (rules * epochs + 1) * macs_per_epoch
    return ResourceEstimate(f"adapting network {arch.name} (T={arch.timesteps}, batch {batch}) "
                            f"on {chips} chips", float(memory), flops)


def _chip_generator(seed: int, chip: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + chip)


def _save(obj: dict[str, Any], path: Path) -> None:
    atomic_torch_save(obj, path)


def _load(path: Path) -> dict[str, Any]:
    try:
        # Our own run state (chip objects with their generators): a full pickle, not weights only.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise DfasimError(f"cannot resume from {path} ({type(exc).__name__}); delete it or "
                          f"pass --overwrite") from None


def _advance(snn, feedback, seconds: float) -> None:
    """Age every crossbar of a deployed network and its DFA feedback matrices."""
    for m in [*snn.layers, *feedback]:
        m.advance(seconds)


def _deployed_aging(chip, cfg: AdaptConfig, x_test, y_test) -> list[dict[str, float]]:
    """Accuracy of a copy of the deployed chip, not adapted, at the end of every epoch."""
    aged = copy.deepcopy(chip)
    out = []
    for epoch in range(cfg.epochs):
        for m in aged.layers:
            m.advance(cfg.age_per_epoch_s)
        out.append({"epoch": epoch + 1,
                    "age_s": cfg.chip.nonideal.age_s + (epoch + 1) * cfg.age_per_epoch_s,
                    "test_acc": aged.evaluate(x_test, y_test)})
    aged.counters.clear()
    return out


def aging_curves(results: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """Mean accuracy over chips against time since programming (s): ``deployed`` and each
    rule, each starting at the deployment's age with the non-ideal accuracy."""
    chips = results["chips"]
    t0 = results["config"]["chip"]["nonideal"]["age_s"]
    start = statistics.fmean(c["nonideal_accuracy"] for c in chips)
    curves = {"deployed": [(t0, start)] + [
        (h["age_s"], statistics.fmean(c["deployed_aging"][i]["test_acc"] for c in chips))
        for i, h in enumerate(chips[0]["deployed_aging"])]}
    for rule in results["rules"]:
        hist = chips[0]["adapt"][rule]["history"]
        curves[rule] = [(t0, start)] + [
            (h["age_s"], statistics.fmean(c["adapt"][rule]["history"][i]["test_acc"]
                                          for c in chips)) for i, h in enumerate(hist)]
    return curves


def plot_aging(results: dict[str, Any], path: Path) -> Path:
    """``aging.png``: accuracy (mean over chips) against time since programming."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels = {"deployed": "deployed (no adaptation)", "bp": "BP-adapted", "dfa": "DFA-adapted"}
    for name, pts in aging_curves(results).items():
        ax.plot([t for t, _ in pts], [100 * a for _, a in pts], marker="o", ms=3,
                label=labels.get(name, name))
    ax.set_xscale("log")
    ax.set_xlabel("time since programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{results['dataset']}: {len(results['chips'])} chips, "
                 f"{results['age_per_epoch_s']:g} s per epoch")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    return path


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Mean ± std over chips of the non-ideal and adapted accuracies."""
    chips = results["chips"]
    summary = {"fp32": results["fp32_accuracy"],
               "nonideal": _mean_std([c["nonideal_accuracy"] for c in chips])}
    for rule in results["rules"]:
        finals = [c["adapt"][rule]["history"][-1]["test_acc"] for c in chips
                  if rule in c["adapt"] and c["adapt"][rule]["history"]]
        if finals:
            summary[rule] = _mean_std(finals)
    return summary


def adapt(cfg: AdaptConfig, out_dir: str | Path, *, overwrite: bool = False,
          progress: bool | None = None) -> dict[str, Any]:
    """Run the whole adaptation experiment; return (and write) ``adapt.json``."""
    cfg.validate()
    device = resolve_device(cfg.device)
    out = Path(out_dir)
    state_dir = out / "state"
    cfg_path = out / "config.toml"
    set_determinism(cfg.seed)
    ckpt: Checkpoint = load_checkpoint(cfg.checkpoint)
    data = prepare_data(cfg.dataset or ckpt.dataset, cfg.data_dir)
    ds = data.dataset
    spec = ckpt.model.spec
    check_network_fits(spec, ds)
    if cfg.datapath == "integer" and _architecture(ckpt.model) is not None:
        raise DfasimError("the integer datapath runs MLPs only, not a convolutional network")
    # The network sees data normalised as at training time.
    x_train = ckpt.normalise(torch.from_numpy(ds.x_train).float())
    x_test = ckpt.normalise(torch.from_numpy(ds.x_test).float())
    y_train, y_test = data.y_train, data.y_test
    batch = cfg.batch_size or DEFAULT_BATCH.get(ds.name, 50)
    # Checked before the folder is touched: a refused request leaves no trace in it.
    arch = _architecture(ckpt.model)
    estimate = adapt_estimate if arch is None else (
        lambda _, **kw: _conv_adapt_estimate(arch, **kw))
    check_fits(estimate(spec, n_train=len(x_train), n_test=len(x_test), batch_size=batch,
                        epochs=cfg.epochs, chips=cfg.chips, rules=len(cfg.rules)))
    if cfg_path.exists() and not overwrite and state_dir.exists():
        try:
            saved = from_dict(AdaptConfig, tomllib.loads(cfg_path.read_text())["adapt"])
        except Exception:
            raise DfasimError(f"{cfg_path} is unreadable; pass --overwrite to start again"
                              ) from None
        if to_dict(saved) != to_dict(cfg):
            raise DfasimError(f"{out} holds an adaptation run with a different configuration; "
                              f"choose another --out or pass --overwrite")
    if overwrite and state_dir.exists():
        for p in state_dir.glob("*.pt"):
            p.unlink()
    state_dir.mkdir(parents=True, exist_ok=True)
    dump_toml(cfg_path, {"adapt": cfg})

    dev = cfg.chip.device
    noise, noise_desc = load_noise_model(cfg.noise, out, g_min=dev.g_min_us, g_max=dev.g_max_us,
                                         epochs=cfg.noise_epochs, seed=cfg.seed,
                                         data_dir=cfg.data_dir or None, progress=progress)
    fp32 = evaluate(ckpt.model, x_test, y_test)
    feedback_w = None
    if ckpt.rule == "dfa" and ckpt.feedback:
        feedback_w = [ckpt.feedback[f"B{l}"] for l in range(len(spec.hidden))]

    results: dict[str, Any] = {
        "dataset": ds.name, "source": ds.source,
        "checkpoint": relative_to_run(cfg.checkpoint, out),
        "pretrained_rule": ckpt.rule,
        "layers": list(spec.layers) if arch is None else [spec.n_inputs, *arch.neurons()],
        "timesteps": spec.timesteps, "noise": noise_desc, "fp32_accuracy": fp32,
        "rules": list(cfg.rules), "epochs": cfg.epochs, "batch_size": batch,
        "age_per_epoch_s": cfg.age_per_epoch_s, "datapath": cfg.datapath,
        "feedback": ("the checkpoint's own DFA matrices" if feedback_w is not None else
                     "fresh random matrices (the checkpoint was not trained with DFA)"),
        "config": {**dataclasses.asdict(cfg),
                   "checkpoint": relative_to_run(cfg.checkpoint, out)}, "chips": [],
    }
    if arch is not None:
        results["architecture"] = arch.to_dict()
    total = cfg.chips * len(cfg.rules) * cfg.epochs
    bar = tqdm(total=total, desc=f"adapt {ds.name}", unit="epoch", disable=progress is False)
    t_start = time.perf_counter()
    for c in range(cfg.chips):
        deployed_path = state_dir / f"chip{c}.pt"
        if deployed_path.exists():
            st = _load(deployed_path)
            chip, fb, nonideal = st["snn"], st["feedback"], st["nonideal"]
            aging = st.get("aging")
            to_device(chip, fb, device)
        else:
            gen = _chip_generator(cfg.seed, c)
            calib = x_train[torch.randperm(len(x_train), generator=gen)[:cfg.calibration_samples]]
            try:
                if arch is None:
                    chip = AnalogSNN.deploy(ckpt.model, cfg.chip, noise, gen, calibration=calib)
                    fb = deploy_feedback(spec, cfg.chip, noise, gen, matrices=feedback_w,
                                         counters=chip.counters)
                    if cfg.datapath == "integer":
                        # The same programmed chip; its input step is set from the same
                        # calibration samples as its ADC ranges.
                        chip = integer_network(chip, calib)
                else:
                    chip = AnalogNetwork.from_model(ckpt.model, cfg.chip, noise, gen,
                                                    calibration=calib)
                    fb = deploy_conv_feedback(arch, cfg.chip, noise, gen, matrices=feedback_w,
                                              counters=chip.counters)
            except ValueError as exc:
                raise DfasimError(str(exc)) from None
            to_device(chip, fb, device)
            nonideal = chip.evaluate(x_test, y_test)
            chip.counters.clear()
            if cfg.datapath == "integer":
                chip.datapath.stats.clear()
            aging = _deployed_aging(chip, cfg, x_test, y_test) if cfg.age_per_epoch_s else None
            _save({"snn": chip, "feedback": fb, "nonideal": nonideal, "aging": aging},
                  deployed_path)
        chip_res: dict[str, Any] = {"chip": c, "nonideal_accuracy": nonideal,
                                    "tiles": chip.n_tiles, "adapt": {}}
        if aging is not None:
            chip_res["deployed_aging"] = aging
        for r_i, rule in enumerate(cfg.rules):
            path = state_dir / f"chip{c}-{rule}.pt"
            if path.exists():
                st = _load(path)
                snn, fbr, shuffle, history = st["snn"], st["feedback"], st["shuffle"], \
                    st["history"]
                counts = st["counts"]
                to_device(snn, fbr, device)
            else:
                # Both rules start from the same programmed chip (same devices, same ADC ranges).
                snn, fbr = copy.deepcopy((chip, fb))
                shuffle = torch.Generator().manual_seed(cfg.seed * 7919 + c * 31 + r_i)
                history, counts = [], None
            bar.update(len(history))
            lr0 = cfg.lr_bp if rule == "bp" else cfg.lr_dfa
            for epoch in range(len(history), cfg.epochs):
                lr = lr0 if cfg.lr_schedule == "constant" else \
                    lr0 * (1.0 + math.cos(math.pi * epoch / cfg.epochs)) / 2.0
                t0 = time.perf_counter()
                snn.counters.clear()
                perm = torch.randperm(len(x_train), generator=shuffle)
                loss_sum = 0.0
                for i in range(0, len(perm), batch):
                    idx = perm[i:i + batch]
                    if rule == "dfa":
                        step = snn.dfa_step(x_train[idx], y_train[idx], fbr, lr, cfg.loss)
                    else:
                        step = snn.bp_step(x_train[idx], y_train[idx], lr, cfg.loss)
                    if not math.isfinite(step.loss):
                        raise DfasimError(f"adaptation diverged ({rule}, chip {c}, epoch "
                                          f"{epoch + 1}); lower --lr-{rule}")
                    loss_sum += step.loss * len(idx)
                seconds = time.perf_counter() - t0
                if counts is None:  # the activity of one training epoch, for the cost model
                    counts = snn.counters.to_dict()
                if cfg.age_per_epoch_s:
                    _advance(snn, fbr, cfg.age_per_epoch_s)
                acc = snn.evaluate(x_test, y_test)
                snn.counters.clear()
                history.append({"epoch": epoch + 1, "lr": lr, "loss": loss_sum / len(perm),
                                "test_acc": acc, "seconds": seconds})
                if cfg.age_per_epoch_s:
                    history[-1]["age_s"] = (cfg.chip.nonideal.age_s
                                            + (epoch + 1) * cfg.age_per_epoch_s)
                _save({"snn": snn, "feedback": fbr, "shuffle": shuffle, "history": history,
                       "counts": counts}, path)
                bar.update(1)
                bar.set_postfix(chip=c, rule=rule, acc=f"{100 * acc:.1f}%")
            chip_res["adapt"][rule] = {"lr": lr0, "history": history, "epoch_counts": counts}
            if cfg.datapath == "integer":
                # Saturations over this rule's whole run (steps and evaluations).
                chip_res["adapt"][rule]["integer_stats"] = snn.datapath.stats.to_dict()
        results["chips"].append(chip_res)
        write_json(out / "adapt.json", {**results, "summary": summarise(results)})
    bar.close()
    results["summary"] = summarise(results)
    results["wall_seconds_this_call"] = time.perf_counter() - t_start
    write_json(out / "adapt.json", results)
    if cfg.age_per_epoch_s:
        plot_aging(results, out / "aging.png")
    return results
