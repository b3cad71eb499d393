# SPDX-License-Identifier: MIT
"""The reference side of ``dfasim bench aihwkit``: one layer through aihwkit, in its own process.

Run as a script by the Python interpreter that has aihwkit installed (it may be another virtual
environment than dfasim's, because aihwkit pins its own torch builds)::

    python aihwkit_runner.py SPEC.json

It imports only numpy, torch and aihwkit, never dfasim. ``SPEC.json`` names the weight matrix,
the spike rows and the error rows (``.npy``), the conductance window, the settings and the tile
kinds to run; for each (setting, tile kind) it programs the layer with aihwkit's NeuRRAM-fitted
programming noise (``ReRamWan2022NoiseModel``, Wan et al., Nature 2022, fitted at 1 s after
programming), runs forward on the spikes and backward on the errors in batches, and writes the
outputs, the programmed effective weights and the seconds taken next to the spec. Prints one
JSON line of results on stdout.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

__all__: list[str] = []


def _rpu_config(kind: str, setting: dict, g_min: float, g_max: float):
    from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
    from aihwkit.inference.noise.reram import ReRamWan2022NoiseModel
    from aihwkit.simulator.configs import InferenceRPUConfig, TorchInferenceRPUConfig
    from aihwkit.simulator.parameters.enums import WeightNoiseType

    config = InferenceRPUConfig() if kind == "cpp" else TorchInferenceRPUConfig()
    # A weight pair per cross-point, |w| max mapped to g_max, zero to g_min on both devices: the
    # same mapping as dfasim's differential one.
    converter = SinglePairConductanceConverter(g_max=g_max, g_min=g_min)
    config.noise_model = ReRamWan2022NoiseModel(g_converter=converter,
                                                noise_scale=setting["noise_scale"])
    config.drift_compensation = None
    if setting["periphery"] == "ideal":
        config.forward.is_perfect = True
        config.backward.is_perfect = True
        return config
    for io, in_bits in ((config.forward, setting["dac_bits"]),
                        (config.backward, setting["error_bits"])):
        # aihwkit's resolutions are step sizes over [-1, 1] after its per-row abs-max input
        # scaling: 1 / (2**bits - 2) is a sign-magnitude word of ``bits`` bits.
        io.is_perfect = False           # the inference config's backward is perfect by default
        io.inp_res = 1.0 / (2 ** in_bits - 2)
        io.out_res = 1.0 / (2 ** setting["adc_bits"] - 2)
        io.out_noise = 0.0
        if kind == "cpp":
            # The torch tile rejects weight noise (ConfigError): it runs without read noise.
            io.w_noise = setting["read_noise_rel"]
            io.w_noise_type = WeightNoiseType.ADDITIVE_CONSTANT
    return config


def _run(kind: str, setting: dict, spec: dict, weights, spikes, errors, out_dir: Path) -> dict:
    from aihwkit.nn import AnalogLinear

    torch.manual_seed(spec["seed"])
    n_out, n_in = weights.shape
    layer = AnalogLinear(n_in, n_out, bias=False,
                         rpu_config=_rpu_config(kind, setting, spec["g_min_us"],
                                                spec["g_max_us"]))
    layer.set_weights(weights)
    layer.eval()
    t0 = time.perf_counter()
    layer.program_analog_weights()
    program_s = time.perf_counter() - t0
    batch = spec["batch_rows"]
    y = torch.empty(spikes.shape[0], n_out)
    dx = torch.empty(errors.shape[0], n_in)
    t0 = time.perf_counter()
    for start in range(0, spikes.shape[0], batch):
        x = spikes[start:start + batch].clone().requires_grad_(True)
        out = layer(x)
        out.backward(errors[start:start + batch])
        y[start:start + batch] = out.detach()
        dx[start:start + batch] = x.grad
    seconds = time.perf_counter() - t0
    name = f"{setting['name']}-{kind}"
    np.save(out_dir / f"{name}-forward.npy", y.numpy())
    np.save(out_dir / f"{name}-backward.npy", dx.numpy())
    if setting["periphery"] == "ideal":
        with torch.no_grad():
            # Reading the identity gives the programmed weights as the layer uses them.
            effective = layer(torch.eye(n_in)).t().contiguous()
        np.save(out_dir / f"{name}-weights.npy", effective.numpy())
    read_noise = setting["periphery"] != "ideal" and kind == "cpp"
    return {"setting": setting["name"], "tile": kind, "seconds": seconds,
            "read_noise_rel": setting["read_noise_rel"] if read_noise else 0.0,
            "program_s": program_s, "rows": int(spikes.shape[0]),
            "rows_per_s": spikes.shape[0] / seconds}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: aihwkit_runner.py SPEC.json", file=sys.stderr)
        return 2
    spec_path = Path(argv[0])
    spec = json.loads(spec_path.read_text())
    out_dir = spec_path.parent
    try:
        import aihwkit
    except ImportError as exc:
        print(f"aihwkit is not importable by {sys.executable}: {exc}", file=sys.stderr)
        return 3
    torch.set_num_threads(spec["threads"])
    weights = torch.from_numpy(np.load(out_dir / spec["weights"]))
    spikes = torch.from_numpy(np.load(out_dir / spec["spikes"]))
    errors = torch.from_numpy(np.load(out_dir / spec["errors"]))
    runs = [_run(kind, setting, spec, weights, spikes, errors, out_dir)
            for setting in spec["settings"] for kind in spec["tiles"]]
    print(json.dumps({"aihwkit": aihwkit.__version__, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
