# SPDX-License-Identifier: MIT
"""``dfasim bench aihwkit``: one 256 x 256 layer on dfasim's crossbar and on aihwkit's tiles.

The same weights, spike rows and error rows go through

* dfasim's :class:`~dfasim.models.crossbar.matrix.AnalogMatrix` (forward ``x W^T`` on spikes,
  transposed read ``e W`` on errors), programmed with the spread aihwkit fits to NeuRRAM
  (:func:`wan2022_programming_spread`), and
* aihwkit's ``AnalogLinear`` with ``ReRamWan2022NoiseModel``, forward and autograd backward, on
  its C++ tile (``InferenceRPUConfig``) and its torch tile (``TorchInferenceRPUConfig``), run by
  :mod:`.aihwkit_runner` in a separate process (any interpreter that has aihwkit).

Two settings (``SETTINGS``):

``programming``
    Programming noise only, ideal periphery on both sides (aihwkit ``is_perfect``; dfasim an
    ideal ADC and analog drivers). Both draw from the same sigma(G) polynomial with the same
    pair mapping, so the output error statistics must agree up to sampling: a check of dfasim
    against an independent implementation.
``periphery``
    Plus each tool's own 8-bit converters and 1 % read noise (the level aihwkit's docstring
    advises for ReRAM). The conventions differ and are compared, not matched: aihwkit quantises
    each output after the differential sum to ``out_res`` of its bound-managed range and applies
    inputs as 8-bit analog words; dfasim converts every physical column with its own unsigned
    ADC over a calibrated full scale and applies errors bit-serially (7 magnitude planes x 2
    sign phases). aihwkit's torch tile refuses weight (read) noise, so it runs this setting
    without; the table says which runs had read noise.

Statistics per output (``error_stats``): relative RMS error, relative bias, correlation and
99th percentile of the absolute error, all against the ideal float product with the *target*
weights. Speed: rows per second of forward + backward over the rows in batches.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models.chip import ChipConfig
from ..models.crossbar.matrix import AnalogMatrix
from ..models.rram.noise import PolynomialSpread
from .errors import DfasimError

__all__ = ["WAN2022_PROGRAMMING_1S", "WAN2022_G_REF_US", "SETTINGS", "Setting",
           "wan2022_programming_spread", "layer_problem", "error_stats", "run_dfasim",
           "run_aihwkit", "bench_aihwkit", "render_markdown"]

#: aihwkit's fit of NeuRRAM's programming spread at 1 s after programming, sigma in µS as
#: ``sum_i c_i (g / 40 µS)^i``, c_0 first. Source: IBM/aihwkit (MIT),
#: ``src/aihwkit/inference/noise/reram.py``, ``ReRamWan2022NoiseModel`` default ``coeff_dic[1.0]``
#: (``[-16.815, 45.393, -43.853, 16.030, 0.348][::-1]``), fitted to Wan et al., Nature 2022.
WAN2022_PROGRAMMING_1S = (0.348, 16.030, -43.853, 45.393, -16.815)
#: Offset between the problem's seed and the devices' seed (both tools use it).
DEVICE_SEED_OFFSET = 1_000_003
#: Conductance (µS) the polynomial's argument is normalised to (same source).
WAN2022_G_REF_US = 40.0


@dataclass(frozen=True)
class Setting:
    """One comparison setting (both tools get the equivalent of it).

    Members
    -------
    name : str
        ``"programming"`` or ``"periphery"``.
    periphery : str
        ``"ideal"`` (no converters, no read noise) or ``"io"``.
    adc_bits, dac_bits, error_bits : int
        Converter resolutions of the ``"io"`` setting (bits); spikes need only 1.
    read_noise_rel : float
        Read noise per read as a fraction of ``g_max`` (``"io"`` only).
    noise_scale : float
        Multiplier of the programming spread on both sides.
    """

    name: str
    periphery: str
    adc_bits: int = 8
    dac_bits: int = 8
    error_bits: int = 8
    read_noise_rel: float = 0.0
    noise_scale: float = 1.0


SETTINGS = (Setting("programming", "ideal"),
            # 0.01 of g_max: aihwkit's ReRamWan2022NoiseModel docstring advice for read noise.
            Setting("periphery", "io", read_noise_rel=0.01))


def wan2022_programming_spread(scale: float = 1.0) -> PolynomialSpread:
    """dfasim's :class:`PolynomialSpread` with aihwkit's 1 s NeuRRAM polynomial.

    ``sigma(g) = sum_i c_i (g / 40)^i`` becomes coefficients of ``g`` itself,
    ``c_i / 40**i``, highest order first; valid up to 40 µS (the fit's normalisation).
    """
    coeffs = [scale * c / WAN2022_G_REF_US ** i for i, c in enumerate(WAN2022_PROGRAMMING_1S)]
    return PolynomialSpread(tuple(reversed(coeffs)), g_valid_max=WAN2022_G_REF_US)


def layer_problem(size: int, rows: int, *, seed: int, spike_rate: float
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights ``(size, size)`` ~ N(0, 1/size), Bernoulli spike rows, N(0, 1) error rows."""
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn(size, size, generator=gen) / size ** 0.5
    spikes = (torch.rand(rows, size, generator=gen) < spike_rate).float()
    errors = torch.randn(rows, size, generator=gen)
    return weights, spikes, errors


def error_stats(output: np.ndarray, ideal: np.ndarray) -> dict[str, float]:
    """Error of ``output`` against ``ideal``, both ``(rows, n)``, relative to ``rms(ideal)``."""
    err = output.astype(np.float64) - ideal.astype(np.float64)
    rms_ideal = float(np.sqrt(np.mean(ideal.astype(np.float64) ** 2)))
    corr = float(np.corrcoef(output.ravel(), ideal.ravel())[0, 1])
    return {"rel_rms": float(np.sqrt(np.mean(err ** 2))) / rms_ideal,
            "rel_bias": float(np.mean(err)) / rms_ideal,
            "rel_p99_abs": float(np.quantile(np.abs(err), 0.99)) / rms_ideal,
            "correlation": corr}


def _dfasim_chip(setting: Setting, g_min_us: float, g_max_us: float) -> ChipConfig:
    ideal = setting.periphery == "ideal"
    return ChipConfig().updated({
        "device.g_min_us": g_min_us, "device.g_max_us": g_max_us,
        # 16 bits per cell: levels 0.6 nS apart over 40 µS, as good as aihwkit's continuous
        # targets next to a spread of >= 0.35 µS.
        "device.cell_bits": 16, "device.mapping": "differential",
        "crossbar.adc_bits": 0 if ideal else setting.adc_bits,
        "datapath.error_bits": 0 if ideal else setting.error_bits,
        "nonideal.read_noise": not ideal and setting.read_noise_rel > 0,
        "nonideal.read_noise_rel": setting.read_noise_rel or 0.01})


def run_dfasim(setting: Setting, weights: torch.Tensor, spikes: torch.Tensor,
               errors: torch.Tensor, *, batch_rows: int, seed: int, g_min_us: float,
               g_max_us: float) -> dict[str, Any]:
    """Program, calibrate, then time forward + transposed reads over the rows in batches."""
    chip = _dfasim_chip(setting, g_min_us, g_max_us)
    # The devices' draws must not share a stream with the problem's weights (same seed would
    # make the programming error a copy of the weights): an offset seed.
    gen = torch.Generator().manual_seed(seed + DEVICE_SEED_OFFSET)
    t0 = time.perf_counter()
    matrix = AnalogMatrix.from_weight(weights, chip, wan2022_programming_spread(
        setting.noise_scale), gen)
    program_s = time.perf_counter() - t0
    if setting.periphery != "ideal":
        # The ADC full scale is set once from a calibration batch, as on the chip.
        matrix.calibrate(spikes[:batch_rows], errors[:batch_rows])
    forward = torch.empty(spikes.shape[0], weights.shape[0])
    backward = torch.empty(errors.shape[0], weights.shape[1])
    t0 = time.perf_counter()
    for start in range(0, spikes.shape[0], batch_rows):
        stop = start + batch_rows
        forward[start:stop] = matrix.forward(spikes[start:stop], binary=True)
        backward[start:stop] = matrix.transpose(errors[start:stop])
    seconds = time.perf_counter() - t0
    out = {"setting": setting.name, "tile": "dfasim", "seconds": seconds,
           "program_s": program_s, "rows": int(spikes.shape[0]),
           "rows_per_s": spikes.shape[0] / seconds,
           "read_noise_rel": setting.read_noise_rel if chip.nonideal.read_noise else 0.0,
           "forward": forward.numpy(), "backward": backward.numpy()}
    if setting.periphery == "ideal":
        out["weights"] = matrix.effective_weight().numpy()
    return out


def run_aihwkit(python: str, weights: torch.Tensor, spikes: torch.Tensor, errors: torch.Tensor,
                *, settings: tuple[Setting, ...], tiles: list[str], batch_rows: int, seed: int,
                g_min_us: float, g_max_us: float, threads: int) -> list[dict[str, Any]]:
    """Run :mod:`.aihwkit_runner` under ``python``; the runs with their outputs loaded."""
    runner = Path(__file__).with_name("aihwkit_runner.py")
    with tempfile.TemporaryDirectory(prefix="dfasim-aihwkit-") as tmp:
        work = Path(tmp)
        for name, tensor in (("weights", weights), ("spikes", spikes), ("errors", errors)):
            np.save(work / f"{name}.npy", tensor.numpy())
        spec = {"weights": "weights.npy", "spikes": "spikes.npy", "errors": "errors.npy",
                "g_min_us": g_min_us, "g_max_us": g_max_us, "batch_rows": batch_rows,
                "seed": seed, "threads": threads, "tiles": tiles,
                "settings": [vars(s) for s in settings]}
        (work / "spec.json").write_text(json.dumps(spec))
        try:
            proc = subprocess.run([python, str(runner), str(work / "spec.json")],
                                  capture_output=True, text=True, check=False)
        except OSError as exc:
            raise DfasimError(f"cannot run the aihwkit interpreter {python!r}: {exc}") from exc
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise DfasimError(f"the aihwkit side failed under {python}: {last}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        for run in result["runs"]:
            stem = work / f"{run['setting']}-{run['tile']}"
            run["forward"] = np.load(f"{stem}-forward.npy")
            run["backward"] = np.load(f"{stem}-backward.npy")
            if Path(f"{stem}-weights.npy").exists():
                run["weights"] = np.load(f"{stem}-weights.npy")
            run["tile"] = f"aihwkit-{run['tile']}"
    for run in result["runs"]:
        run["versions"] = {"aihwkit": result["aihwkit"], "torch": result["torch"]}
    return result["runs"]


def bench_aihwkit(*, python: str | None, size: int = 256, rows: int = 6400,
                  batch_rows: int = 128, spike_rate: float = 0.1, seed: int = 0,
                  g_min_us: float = 1.0, g_max_us: float = 40.0,
                  tiles: tuple[str, ...] = ("cpp", "torch")) -> dict[str, Any]:
    """Both tools on the same layer; statistics and speed per (setting, tile)."""
    if size < 2 or rows < 1 or batch_rows < 1:
        raise DfasimError(f"size, rows and batch rows must be positive (size >= 2), not "
                        f"{size!r}, {rows!r}, {batch_rows!r}")
    if not 0.0 < spike_rate <= 1.0:
        raise DfasimError(f"spike rate must be in (0, 1], not {spike_rate!r}")
    threads = torch.get_num_threads()
    weights, spikes, errors = layer_problem(size, rows, seed=seed, spike_rate=spike_rate)
    ideal = {"forward": (spikes @ weights.t()).numpy(), "backward": (errors @ weights).numpy()}
    runs = [run_dfasim(s, weights, spikes, errors, batch_rows=batch_rows, seed=seed,
                       g_min_us=g_min_us, g_max_us=g_max_us) for s in SETTINGS]
    runs[0]["versions"] = runs[1]["versions"] = {"torch": torch.__version__}
    skipped = None
    if python:
        runs += run_aihwkit(python, weights, spikes, errors, settings=SETTINGS,
                            tiles=list(tiles), batch_rows=batch_rows,
                            seed=seed + DEVICE_SEED_OFFSET, g_min_us=g_min_us,
                            g_max_us=g_max_us, threads=threads)
    else:
        skipped = "no --aihwkit-python given and aihwkit is not importable here"
    w_scale = float(weights.abs().max())
    table = []
    for run in runs:
        row = {k: run[k] for k in ("setting", "tile", "seconds", "program_s", "rows",
                                   "rows_per_s", "read_noise_rel", "versions")}
        for direction in ("forward", "backward"):
            row[direction] = error_stats(run[direction], ideal[direction])
        if "weights" in run:
            # Programming error of the weights, as a fraction of the largest |w| (g_max).
            diff = run["weights"] - weights.numpy()
            row["weight_rel_std"] = float(np.std(diff)) / w_scale
        table.append(row)
    return {"size": size, "rows": rows, "batch_rows": batch_rows, "spike_rate": spike_rate,
            "seed": seed, "g_min_us": g_min_us, "g_max_us": g_max_us, "threads": threads,
            "load_average": list(os.getloadavg()), "python": python, "skipped": skipped,
            "settings": [vars(s) for s in SETTINGS], "runs": table}


def default_python() -> str | None:
    """This interpreter if it can import aihwkit, else None."""
    try:
        import aihwkit  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def render_markdown(res: dict[str, Any]) -> str:
    """The comparison as a markdown table (one row per setting and tile)."""
    lines = [f"{res['size']} x {res['size']} layer, {res['rows']} spike rows (rate "
             f"{res['spike_rate']}) forward + {res['rows']} error rows backward, batches of "
             f"{res['batch_rows']}, {res['threads']} threads, seed {res['seed']}, window "
             f"[{res['g_min_us']}, {res['g_max_us']}] µS.", "",
             "| setting | tile | read noise | weight error (std / max abs w) | forward rel. RMS "
             "| forward bias | forward p99 | backward rel. RMS | backward bias | backward p99 "
             "| rows/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        f, b = r["forward"], r["backward"]
        w = f"{r['weight_rel_std']:.4f}" if "weight_rel_std" in r else "–"
        lines.append(f"| {r['setting']} | {r['tile']} | {r['read_noise_rel']:g} | {w} | "
                     f"{f['rel_rms']:.4f} | "
                     f"{f['rel_bias']:+.4f} | {f['rel_p99_abs']:.3f} | {b['rel_rms']:.4f} | "
                     f"{b['rel_bias']:+.4f} | {b['rel_p99_abs']:.3f} | "
                     f"{r['rows_per_s']:,.0f} |")
    if res["skipped"]:
        lines += ["", f"aihwkit side skipped: {res['skipped']}."]
    return "\n".join(lines) + "\n"
