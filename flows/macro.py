# SPDX-License-Identifier: MIT
"""The analog-neuron macro end to end: train the golden network on binned events, deploy it on
the macro with device non-idealities, price the samples, run the DVS clips, write the report.

Steps of :func:`run_macro` (``dfasim macro run``, ``docs/macro.md`` §7–§9):

1. **Data.** N-MNIST (the registry's loader: the offline SLAYER subset, 1,000 train / 100 test,
   or the official release): each sample's span cut into ``bins`` equal bins (60 by default,
   ~5.1 ms each, simulated as the macro's 5 ms data bin = 100 ns on chip), ``pool x pool``
   sum-pooled, and a row (pixel, polarity) driven for a whole bin when it had an event.
   DVS128 Gesture (only with the full dataset): 300 bins over the first 1.5 s, pad 6, 7 x 7
   pooling, 800 inputs.
2. **Training** (``golden/analog_lif.py``, the macro neuron's exact per-bin update with the
   aligned refractory): a software network and a hardware-aware one (15-state differential
   quantisation, device spread and stuck-off draws in the forward pass); BPTT with the shared
   surrogate, Adam, cross-entropy on the output spike counts. A spike drives the next layer in
   the following bin, as on the macro (``models/macro/network.py``).
3. **Deployment**: both trained networks programmed on PEs (``w_max = 1``: the golden unit),
   run with the free-running neuron at ``k = 50,000``; accuracy, activity, energy and latency
   per test sample (``models/macro/energy.py``).
4. **DVS clips**: the ten real unlabelled 128 x 128 clips through 800-480-120-11 (weights drawn
   ``U(±gain / sqrt(n_in))``, seeded; no labels exist to train on): activity, energy, latency.
5. **Report**: ``macro.json``, ``report.md``, ``raster.png`` (one neuron at k = 1 and k = 50,000
   on a shared normalised time axis).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..golden.analog_lif import AnalogLIFLayer
from ..golden.params import check_int
from ..models.macro.config import MacroConfig
from ..models.macro.energy import (COMPONENTS, PAPER_DVS_ENERGY_J, PAPER_DVS_LATENCY_S,
                                   PAPER_NMNIST_ENERGY_J, PAPER_POWER_W, PAPER_SPLIT_PERCENT,
                                   PAPER_TSOPS_W, EnergyConfig, sample_energy)
from ..models.macro.network import MacroActivity, MacroNetwork
from ..models.macro.neuron import AnalogNeuron
from ..models.macro.pe import hardware_aware, map_network
from .errors import DfasimError
from .fileio import atomic_write_bytes, write_json

__all__ = ["MacroRunConfig", "DATASETS", "DVS_SIZES", "load_events", "dvs_clip_drive",
           "GoldenNetwork", "train_golden", "evaluate_golden", "deploy", "run_clips",
           "raster_figure", "raster_trains", "clip_weights", "run_macro", "format_report",
           "apply_overrides"]

#: Datasets the flow trains on.
DATASETS = ("nmnist", "dvs_gesture")
#: The paper's DVS128 Gesture network (REFERENCE.md §3).
DVS_SIZES = (800, 480, 120, 11)
#: DVS128 Gesture input pipeline (paper): 6 px pad, 7 x 7 pooling, 300 bins of 1.5 s.
DVS_PAD, DVS_POOL, DVS_BINS, DVS_WINDOW_US = 6, 7, 300, 1_500_000


@dataclass
class MacroRunConfig:
    """Options of one ``dfasim macro run``.

    Members
    -------
    dataset : str
        ``"nmnist"`` or ``"dvs_gesture"`` (the full dataset must be in a data dir).
    hidden : tuple of int
        Hidden layer sizes (N-MNIST default ``(128,)``; DVS128 Gesture uses 480, 120).
    bins : int or None
        Input bins per sample (N-MNIST 60 ≈ 300 ms / 5 ms; DVS 300).
    pool : int
        N-MNIST sum-pooling (2: 34 x 34 x 2 -> 17 x 17 x 2 = 578 inputs).
    epochs, batch_size, lr : training (Adam).
    train_limit, test_limit : int or None
        At most this many samples per split (evenly spaced, classes kept).
    hardware_aware : bool
        Also train the hardware-aware network (and deploy it).
    clips : int
        DVS clips to run (0 to skip; at most 10).
    init_gain : float
        Initial weights of the trained networks ``U(±init_gain / sqrt(n_in))``: 4 (chosen: with
        the golden layer's default gain 1 no neuron reaches threshold on N-MNIST and the loss
        stays at ln 10).
    dvs_init_gain : float
        DVS clip weights ``U(±gain / sqrt(n_in))``: 8 (chosen so every layer fires on the clips;
        the golden layer's default gain 1 leaves the hidden layers silent).
    seed : int
    """

    dataset: str = "nmnist"
    hidden: tuple = (128,)
    bins: int | None = None
    pool: int = 2
    epochs: int = 8
    batch_size: int = 25
    lr: float = 2e-3
    train_limit: int | None = None
    test_limit: int | None = None
    hardware_aware: bool = True
    clips: int = 10
    init_gain: float = 4.0
    dvs_init_gain: float = 8.0
    seed: int = 0

    def validate(self) -> "MacroRunConfig":
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not "
                             f"{self.dataset!r}")
        for i, h in enumerate(self.hidden):
            check_int(h, name=f"hidden[{i}]", minimum=1)
        for name in ("epochs", "batch_size", "pool"):
            check_int(getattr(self, name), name=name, minimum=1)
        for name in ("bins", "train_limit", "test_limit"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name=name, minimum=1)
        check_int(self.clips, name="clips", minimum=0, maximum=10)
        for name in ("lr", "init_gain", "dvs_init_gain"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                    math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, not {v!r}")
        return self

    @property
    def n_bins(self) -> int:
        """Bins per sample: ``bins`` or the dataset's default."""
        return self.bins or (60 if self.dataset == "nmnist" else DVS_BINS)


# ----------------------------------------------------------------------------- data
def _binary_pool(frames: np.ndarray, shape: tuple, pool: int) -> np.ndarray:
    """``(N, T, C*H*W)`` counts -> ``(N, T, C*H'*W')`` 0/1 drive after ``pool`` sum-pooling."""
    n, t = frames.shape[:2]
    c, h, w = shape
    x = frames.reshape(n, t, c, h, w)
    if pool > 1:
        hp, wp = h // pool, w // pool
        x = x[..., :hp * pool, :wp * pool].reshape(n, t, c, hp, pool, wp, pool).sum((4, 6))
    return (x.reshape(n, t, -1) > 0).astype(np.float32)


def load_events(cfg: MacroRunConfig, data_dir: str | None = None) -> dict[str, Any]:
    """Binary row drive ``(N, T, in)`` of the train and test splits, labels and the source."""
    from .datasets import DatasetError, load_dataset

    try:
        if cfg.dataset == "nmnist":
            limit = max(cfg.train_limit or 0, cfg.test_limit or 0) or None
            ds = load_dataset("nmnist", data_dir, timesteps=cfg.n_bins, limit=limit)
            prep = lambda a: _binary_pool(a, ds.frame_shape, cfg.pool)  # noqa: E731
        else:
            ds = load_dataset("dvs_gesture", data_dir, timesteps=cfg.n_bins, pool=DVS_POOL,
                              pad=DVS_PAD, window_us=DVS_WINDOW_US)
            prep = lambda a: (a > 0).astype(np.float32)  # noqa: E731
    except DatasetError as exc:
        raise DfasimError(str(exc)) from None

    def take(x, y, limit):
        if limit is None or limit >= len(x):
            return x, y
        idx = np.linspace(0, len(x) - 1, limit).round().astype(np.int64)
        return x[idx], y[idx]

    x_tr, y_tr = take(ds.x_train, ds.y_train, cfg.train_limit)
    x_te, y_te = take(ds.x_test, ds.y_test, cfg.test_limit)
    return {"x_train": prep(x_tr), "y_train": np.asarray(y_tr, np.int64),
            "x_test": prep(x_te), "y_test": np.asarray(y_te, np.int64),
            "classes": len(ds.class_names), "source": ds.source}


def dvs_clip_drive(clips: int = 10, bins: int = DVS_BINS, data_dir: str | None = None
                   ) -> tuple[np.ndarray, list[dict]]:
    """The real unlabelled 128 x 128 DVS clips as row drive ``(bins, clips, 800)``.

    Each clip: ``bins`` equal bins over its first 1.5 s (5 ms each at 300 bins), padded by 6
    pixels, 7 x 7 sum-pooled to 20 x 20 x 2, a row driven when its pooled pixel had an event.
    Returns the drive and per-clip facts (file, events, duration).
    """
    from .datasets.events import events_to_frames, read_atis_bin
    from .datasets.paths import Search

    folder = Search("dvs128 clips", data_dir).find("events/dvs128_clips_slayer")
    files = sorted(folder.glob("*.bs2"), key=lambda p: int(p.stem)) if folder else []
    if not files:
        raise DfasimError("the ten 128x128 DVS clips (events/dvs128_clips_slayer/*.bs2) are "
                          "not in any data directory")
    drive, facts = [], []
    for f in files[:clips]:
        ev = read_atis_bin(f)
        t0 = int(ev["t"].min())
        fr = events_to_frames(ev, (128, 128), bins, "time", t_range=(t0, t0 + DVS_WINDOW_US),
                              pool=DVS_POOL, pad=DVS_PAD)
        drive.append((fr.reshape(bins, -1) > 0).astype(np.float64))
        facts.append({"clip": f.name, "events": int(len(ev)),
                      "duration_s": (int(ev["t"].max()) - t0) * 1e-6})
    return np.stack(drive, axis=1), facts


# ----------------------------------------------------------------------------- golden
class GoldenNetwork(torch.nn.Module):
    """FC network of :class:`AnalogLIFLayer` with the macro's one-bin delay between layers.

    Parameters
    ----------
    sizes : sequence of int
        ``(in, hidden..., out)``.
    macro : MacroConfig
        Gives the per-bin constants (``AnalogNeuron.golden_params`` at the data bin) and the
        current per unit weight ``V_read * G_max``.
    hardware : bool
        Hardware-aware forward pass (quantised, noisy weights) in training mode; evaluation
        uses the quantised weights without draws.
    generator : torch.Generator, optional
    init_gain : float
        Initial weights ``U(±init_gain / sqrt(n_in))`` (the golden layer's default times
        ``init_gain``).
    """

    def __init__(self, sizes, macro: MacroConfig, hardware: bool = False,
                 generator: torch.Generator | None = None, init_gain: float = 1.0) -> None:
        super().__init__()
        params = AnalogNeuron(macro.neuron, macro.time_scale).golden_params(macro.data_bin_s)
        hw = hardware_aware(macro.pe) if hardware else None
        unit = macro.pe.read_v * macro.pe.g_max_us * 1e-6
        self.layers = torch.nn.ModuleList(
            AnalogLIFLayer(a, b, params, unit, hardware=hw, generator=generator)
            for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.mul_(init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Output spike counts ``(B, out)`` for row drive ``x`` of shape ``(T, B, in)``."""
        for i, layer in enumerate(self.layers):
            layer.noisy = self.training
            s, _ = layer(x)
            if i + 1 < len(self.layers):
                x = torch.cat([torch.zeros_like(s[:1]), s[:-1]])
        return s.sum(dim=0)

    def weights(self) -> list[np.ndarray]:
        """Each layer's weight, ``(out, in)``, in units of ``G_max``."""
        return [layer.weight.detach().double().numpy() for layer in self.layers]


def train_golden(data: dict, sizes, macro: MacroConfig, cfg: MacroRunConfig,
                 hardware: bool = False, progress: bool | None = None) -> GoldenNetwork:
    """Train a :class:`GoldenNetwork` by BPTT (Adam, cross-entropy on output spike counts)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = GoldenNetwork(sizes, macro, hardware, torch.Generator().manual_seed(cfg.seed + 1),
                        cfg.init_gain)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    x = torch.from_numpy(data["x_train"])
    y = torch.from_numpy(data["y_train"])
    label = "hardware-aware" if hardware else "software"
    bar = tqdm(range(cfg.epochs), desc=f"macro train ({label})", unit="epoch",
               disable=progress is False)
    for _ in bar:
        net.train()
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            counts = net(x[idx].transpose(0, 1))
            loss = torch.nn.functional.cross_entropy(counts, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    net.eval()
    return net


@torch.no_grad()
def evaluate_golden(net: GoldenNetwork, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the golden network (argmax of output spike counts, lowest index on ties)."""
    net.eval()
    counts = net(torch.from_numpy(x).transpose(0, 1))
    return float((counts.argmax(dim=1).numpy() == y).mean())


# ----------------------------------------------------------------------------- macro
def deploy(weights, macro: MacroConfig, x: np.ndarray, y: np.ndarray | None = None,
           seed: int = 0, batch: int = 25, energy: EnergyConfig | None = None,
           progress: bool | None = None, desc: str = "macro deploy") -> dict[str, Any]:
    """Program ``weights`` on the macro and run ``x`` (``(N, T, in)``): predictions, accuracy,
    activity and energy per sample."""
    net = MacroNetwork(weights, macro, rng=seed)
    preds, runs = [], []
    for start in tqdm(range(0, len(x), batch), desc=desc, unit="batch",
                      disable=progress is False):
        run = net.run(np.moveaxis(x[start:start + batch], 0, 1))
        preds.append(run.predictions())
        runs.append(run.activity)
    activity = MacroActivity.concatenate(runs)
    report = sample_energy(activity, macro, energy)
    pred = np.concatenate(preds)
    out = {"network": net, "predictions": pred, "activity": activity, "energy": report}
    if y is not None:
        out["accuracy"] = float((pred == y).mean())
    return out


def clip_weights(sizes, gain: float, seed: int) -> list[np.ndarray]:
    """Seeded weights ``U(±gain / sqrt(n_in))`` per layer, clipped to the pair's ``[-1, 1]``."""
    rng = np.random.default_rng(seed)
    return [np.clip(rng.uniform(-gain, gain, (b, a)) / math.sqrt(a), -1.0, 1.0)
            for a, b in zip(sizes[:-1], sizes[1:])]


def run_clips(macro: MacroConfig, cfg: MacroRunConfig, data_dir: str | None = None,
              energy: EnergyConfig | None = None, progress: bool | None = None) -> dict:
    """The DVS clips through 800-480-120-11 on the macro: a row per clip."""
    drive, facts = dvs_clip_drive(cfg.clips, DVS_BINS, data_dir)
    weights = clip_weights(DVS_SIZES, cfg.dvs_init_gain, cfg.seed)
    res = deploy(weights, macro, np.moveaxis(drive, 1, 0), None, seed=cfg.seed, batch=2,
                 energy=energy, progress=progress, desc="macro clips")
    act, rep = res["activity"], res["energy"]
    rows = []
    for i, f in enumerate(facts):
        rows.append({**f, "input_spikes": int(act.layers[0].active_row_bins[i]),
                     "input_activity": float(act.layers[0].active_row_bins[i]
                                             / (DVS_SIZES[0] * DVS_BINS)),
                     "spikes": [int(la.spikes[i]) for la in act.layers],
                     "synaptic_ops": int(act.synaptic_ops[i]),
                     "energy_j": float(rep.total_j[i]), "latency_s": rep.latency_s,
                     "power_w": float(rep.power_w[i]),
                     "tsops_w": float(act.synaptic_ops[i] / rep.total_j[i] / 1e12)})
    return {"sizes": list(DVS_SIZES), "pes": map_network(DVS_SIZES, macro.pe).pes,
            "weights": f"U(±{cfg.dvs_init_gain:g}/sqrt(n_in)) seed {cfg.seed}, untrained",
            "clips": rows, "summary": rep.mean(), "activity": act.to_dict()}


# ----------------------------------------------------------------------------- figure
def raster_trains(macro: MacroConfig, current: np.ndarray, bin_s: float) -> dict:
    """One neuron's spike times at k = 1 and at the macro's k, both on the data's time axis."""
    out = {}
    for k in (1.0, macro.time_scale):
        st = AnalogNeuron(macro.neuron, k).simulate(current[:, None], bin_s)
        out[k] = st.normalised_times()[0]
    return out


def raster_figure(trains: dict, path: Path, bins: int, bin_s: float, title: str) -> None:
    """Spike raster of one neuron at each ``k`` on a shared normalised time axis (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 2.2))
    ks = list(trains)
    for row, k in enumerate(ks):
        ax.eventplot(trains[k] / (bins * bin_s), lineoffsets=row, linelengths=0.8,
                     colors=f"C{row}")
    ax.set_yticks(range(len(ks)), [f"k = {k:,.0f}" for k in ks])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"time x k / input duration ({bins} bins; 1 = {bins * bin_s * 1e3:g} ms of "
                  f"data = {bins * bin_s / ks[-1] * 1e6:g} µs on chip at k = {ks[-1]:,.0f})")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


# ----------------------------------------------------------------------------- run
def run_macro(cfg: MacroRunConfig, macro: MacroConfig, out: str | Path,
              data_dir: str | None = None, energy: EnergyConfig | None = None,
              progress: bool | None = None) -> dict[str, Any]:
    """Train, deploy, price, run the clips and write ``macro.json``, ``report.md`` and
    ``raster.png`` under ``out``; returns the results."""
    cfg.validate()
    macro.validate()
    energy = (EnergyConfig() if energy is None else energy).validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    data = load_events(cfg, data_dir)
    sizes = (data["x_train"].shape[-1],) + (
        tuple(cfg.hidden) if cfg.dataset == "nmnist" else DVS_SIZES[1:-1]) + (data["classes"],)
    res: dict[str, Any] = {
        "config": {**asdict(cfg), "hidden": list(sizes[1:-1]), "bins": cfg.n_bins},
        "macro": asdict(macro), "energy_constants": asdict(energy),
        "data": {"source": data["source"], "train": len(data["x_train"]),
                 "test": len(data["x_test"]),
                 "input_activity": float(data["x_test"].mean())},
        "sizes": list(sizes), "pes": map_network(sizes, macro.pe).pes, "accuracy": {}}
    variants = [("software", False)] + ([("hardware_aware", True)] if cfg.hardware_aware
                                        else [])
    deployed = {}
    for name, hw in variants:
        net = train_golden(data, sizes, macro, cfg, hw, progress)
        res["accuracy"][f"golden_{name}"] = evaluate_golden(net, data["x_test"], data["y_test"])
        dep = deploy(net.weights(), macro, data["x_test"], data["y_test"], seed=cfg.seed,
                     energy=energy, progress=progress, desc=f"macro deploy ({name})")
        res["accuracy"][f"macro_{name}"] = dep["accuracy"]
        deployed[name] = dep
    best = deployed["hardware_aware" if cfg.hardware_aware else "software"]
    res["deployed"] = "hardware_aware" if cfg.hardware_aware else "software"
    res["energy"] = best["energy"].mean()
    res["activity"] = best["activity"].to_dict()
    # One hidden neuron (the busiest on the first test sample) at k = 1 and k = 50,000.
    layer0 = best["network"].layers[0]
    current = layer0.current(data["x_test"][0].astype(np.float64))
    busiest = int(np.argmax(AnalogNeuron(macro.neuron, 1.0).simulate(
        current, macro.data_bin_s).counts))
    trains = raster_trains(macro, current[:, busiest], macro.data_bin_s)
    k1, kk = trains[1.0], trains[macro.time_scale]
    res["raster"] = {"neuron": busiest, "layer": 0, "test_sample": 0,
                     "spikes": {f"{k:g}": len(v) for k, v in trains.items()},
                     "max_abs_difference_s": float(np.max(np.abs(k1 - kk))) if len(k1) == len(
                         kk) and len(k1) else (0.0 if len(k1) == len(kk) else None)}
    raster_figure(trains, out / "raster.png", cfg.n_bins, macro.data_bin_s,
                  f"hidden neuron {busiest}, {cfg.dataset} test sample 0 on the macro")
    if cfg.clips:
        res["clips"] = run_clips(macro, cfg, data_dir, energy, progress)
    res["paper"] = {"split_percent": PAPER_SPLIT_PERCENT, "dvs_energy_j": PAPER_DVS_ENERGY_J,
                    "dvs_latency_s": PAPER_DVS_LATENCY_S, "nmnist_energy_j": PAPER_NMNIST_ENERGY_J,
                    "tsops_w": PAPER_TSOPS_W, "power_w": PAPER_POWER_W,
                    "accuracy": {"dvs_gesture": 0.9306, "nmnist": 0.9473}}
    res["wall_s"] = time.perf_counter() - t_start
    write_json(out / "macro.json", res)
    atomic_write_bytes(out / "report.md", format_report(res).encode())
    return res


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def format_report(res: dict) -> str:
    """The Markdown report of a :func:`run_macro` result."""
    cfg, e, acc = res["config"], res["energy"], res["accuracy"]
    paper = res["paper"]
    lines = [f"# Analog-neuron macro: {cfg['dataset']} {'-'.join(map(str, res['sizes']))}", "",
             f"Data: {res['data']['source']}", "",
             f"{res['data']['train']} train / {res['data']['test']} test samples, "
             f"{cfg['bins']} bins, input activity {_pct(res['data']['input_activity'])}; "
             f"{res['pes']} PE-equivalents; {cfg['epochs']} epochs; seed {cfg['seed']}.", "",
             "## Accuracy", "", "| network | golden (software model) | on the macro |",
             "|---|---|---|"]
    for name in ("software", "hardware_aware"):
        if f"golden_{name}" in acc:
            lines.append(f"| {name.replace('_', '-')} | {_pct(acc[f'golden_{name}'])} | "
                         f"{_pct(acc[f'macro_{name}'])} |")
    ref = paper["accuracy"].get(cfg["dataset"])
    lines += ["", f"Paper (measured, full test set): {_pct(ref)}." if ref else "", "",
              f"## Energy per sample ({res['deployed'].replace('_', '-')} network on the macro)",
              "", "| component | model (nJ) | model (%) | paper (%) |", "|---|---|---|---|"]
    for c in COMPONENTS:
        lines.append(f"| {c} | {e['components_j'][c] * 1e9:.1f} | "
                     f"{e['split_percent'][c]:.2f} | {paper['split_percent'][c]:.2f} |")
    paper_e = paper["nmnist_energy_j"] if cfg["dataset"] == "nmnist" else paper["dvs_energy_j"]
    lines += [f"| total | {e['energy_j'] * 1e9:.1f} | 100 | {paper_e * 1e9:.0f} nJ |", "",
              f"Latency {e['latency_s'] * 1e6:.2f} µs, power {e['power_w'] * 1e3:.2f} mW "
              f"(paper, DVS: {paper['dvs_latency_s'] * 1e6:.2f} µs, "
              f"{paper['power_w'] * 1e3:.2f} mW).", "",
              "TSOPS/W (SOP = one weight, a differential pair counted once, receiving one input "
              f"spike): {e['tsops_w']:.2f}; dense (every weight every bin) "
              f"{e['tsops_w_dense']:.2f}; dense counting both devices "
              f"{e['tsops_w_dense_devices']:.2f}; paper {paper['tsops_w']:.2f} (definition not "
              f"recoverable).", "",
              f"Raster (`raster.png`): hidden neuron {res['raster']['neuron']}, spikes "
              f"{res['raster']['spikes']}, largest |t(k=1) - k t(k)| = "
              f"{res['raster']['max_abs_difference_s']} s.", ""]
    if "clips" in res:
        c = res["clips"]
        lines += [f"## DVS clips through {'-'.join(map(str, c['sizes']))} ({c['pes']} "
                  f"PE-equivalents; weights {c['weights']})", "",
                  "| clip | events | input spikes (activity) | spikes per layer | SOP | "
                  "energy (µJ) | latency (µs) | power (mW) | TSOPS/W |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in c["clips"]:
            lines.append(f"| {r['clip']} | {r['events']:,} | {r['input_spikes']:,} "
                         f"({_pct(r['input_activity'])}) | "
                         f"{' / '.join(f'{s:,}' for s in r['spikes'])} | "
                         f"{r['synaptic_ops']:,} | {r['energy_j'] * 1e6:.3f} | "
                         f"{r['latency_s'] * 1e6:.2f} | {r['power_w'] * 1e3:.2f} | "
                         f"{r['tsops_w']:.2f} |")
        s = c["summary"]
        lines += ["", f"Mean: {s['energy_j'] * 1e6:.3f} µJ, {s['latency_s'] * 1e6:.2f} µs, "
                      f"{s['power_w'] * 1e3:.2f} mW, TSOPS/W {s['tsops_w']:.2f} (dense "
                      f"{s['tsops_w_dense']:.2f}, both devices "
                      f"{s['tsops_w_dense_devices']:.2f}); paper per DVS sample "
                      f"{paper['dvs_energy_j'] * 1e6:.2f} µJ, "
                      f"{paper['dvs_latency_s'] * 1e6:.2f} µs.", "",
                  "| component | clips (%) | paper (%) |", "|---|---|---|"]
        lines += [f"| {k} | {s['split_percent'][k]:.2f} | {paper['split_percent'][k]:.2f} |"
                  for k in COMPONENTS]
        lines.append("")
    lines.append(f"Wall time {res['wall_s']:.1f} s.")
    return "\n".join(lines) + "\n"


def apply_overrides(macro: MacroConfig, time_scale=None, c_mem_f=None, levels=None
                    ) -> MacroConfig:
    """The macro with the command line's overrides, validated (one-line errors)."""
    if c_mem_f is not None:
        macro = replace(macro, neuron=replace(macro.neuron, c_mem_f=c_mem_f))
    if levels is not None:
        macro = replace(macro, pe=replace(macro.pe, levels=levels))
    if time_scale is not None:
        # The data's bin stays (the input is binned on its own time scale); the chip's bin is
        # that bin compressed k-fold.
        data_bin = macro.data_bin_s
        macro = replace(macro, time_scale=time_scale)
        macro.validate()
        macro = replace(macro, chip_bin_s=data_bin / macro.time_scale)
    macro.validate()
    return macro
