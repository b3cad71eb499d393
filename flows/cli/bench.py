# SPDX-License-Identifier: MIT
"""``dfasim bench train|conv|adapt|gpu|noise|rtl|simulate|aihwkit``: speed figures, each written to
OUT/bench_WHAT.json."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ...golden.options import TRAINING_RULES
from .parsing import (NETWORK_HELP, NameList, RegistryNames, common_options, network_arg,
                      positive_int)

__all__ = ["register"]

DATASETS = RegistryNames("dfasim.flows.datasets.registry", "DATASETS")
SIMULATORS = RegistryNames("dfasim.flows.bench", "RTL_SIMULATORS")
DATAFLOWS = RegistryNames("dfasim.models.archsim.dataflows", "DATAFLOWS")


def _out_help(action: str) -> str:
    return f"default runs/bench; the figures go to OUT/bench_{action}.json"


def _training_batches(p, batches_help: str) -> None:
    """``--batches`` and ``--batch-size`` of the actions that time training batches."""
    p.add_argument("--batches", type=positive_int, default=10,
                   help=f"{batches_help} (default %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=50, dest="batch_size",
                   help="samples per batch (default %(default)s)")


def register(sub) -> None:
    """Add ``bench`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser("bench", help="measure speed figures",
                           description="Throughput of training, adaptation, noise sampling "
                                       "and RTL simulation.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")
    p = actions.add_parser(
        "train", help="training throughput (sample-timesteps per second) per rule",
        parents=[common_options(data_dir=True, out=_out_help("train"),
                                device="cpu (default), cuda or cuda:N")])
    p.add_argument("--dataset", choices=DATASETS, metavar="NAME", default="uci_har",
                   help="dataset: %(choices)s (default %(default)s)")
    p.add_argument("--rules", type=NameList(TRAINING_RULES, "rule"), metavar="RULES",
                   default=list(TRAINING_RULES),
                   help="comma-separated subset of %(type)s (default all)")
    _training_batches(p, "batches timed per rule")
    p.set_defaults(handler=run_train)

    p = actions.add_parser(
        "conv", help="seconds per training epoch of a convolutional network on real DVS frames",
        description="One training epoch of a named convolutional network on the ten real "
                    "128x128 DVS clips (T frames each), per rule.",
        parents=[common_options(data_dir=True, out=_out_help("conv"),
                                device="cpu (default), cuda or cuda:N")])
    p.add_argument("--network", default="pipesdfa-dvsgesture-convnet", metavar="NAME",
                   help="named convolutional network with 2x128x128 inputs (default %(default)s)")
    p.add_argument("--rules", type=NameList(TRAINING_RULES, "rule"), metavar="RULES",
                   default=list(TRAINING_RULES),
                   help="comma-separated subset of %(type)s (default all)")
    p.add_argument("--timesteps", type=positive_int,
                   help="frames per clip (default: the network's T)")
    p.add_argument("--batch-size", type=positive_int, default=5, dest="batch_size",
                   help="clips per batch (default %(default)s)")
    p.add_argument("--init-gain", type=float, default=1.0, dest="init_gain",
                   help="weight initialisation gain (VGG11 needs about 6 to spike past its "
                        "first layer; default %(default)s)")
    p.set_defaults(handler=run_conv)

    p = actions.add_parser(
        "adapt", help="seconds and GFLOP/s of one adaptation epoch, BP and DFA",
        parents=[common_options(data_dir=True, out=_out_help("adapt"),
                                device="cpu (default), cuda or cuda:N")])
    p.add_argument("--checkpoint", required=True, metavar="CHECKPOINT",
                   help="pre-trained checkpoint.pt to deploy (from dfasim train)")
    p.add_argument("--batch-size", type=positive_int, default=50, dest="batch_size",
                   help="samples per batch (default %(default)s)")
    p.add_argument("--repeats", type=positive_int, metavar="N", default=1,
                   help="epochs timed per rule, each from a fresh copy of the chip, the rules "
                        "taking turns; the figure is their median (default %(default)s)")
    p.add_argument("--profile", type=positive_int, metavar="N", default=0,
                   help="run each epoch under cProfile and list its N most expensive functions "
                        "by own time (the profiler's cost inflates the seconds; default off)")
    p.set_defaults(handler=run_adapt)

    p = actions.add_parser(
        "gpu", help="a CUDA GPU against the CPU: training and adaptation speed-ups",
        description="Training throughput per rule and one adaptation epoch per rule, each on "
                    "the CPU and on the GPU back to back; writes the figures and a markdown "
                    "table naming the card.",
        parents=[common_options(data_dir=True, out=_out_help("gpu"),
                                device="cuda (default) or cuda:N")])
    p.add_argument("--checkpoint", required=True, metavar="CHECKPOINT",
                   help="pre-trained checkpoint.pt to adapt (training uses its dataset)")
    _training_batches(p, "training batches timed per rule")
    p.set_defaults(handler=run_gpu)

    p = actions.add_parser("noise", help="sampling speed of the GPR noise model",
                           parents=[common_options(out=_out_help("noise"))])
    p.set_defaults(handler=run_noise)

    p = actions.add_parser(
        "rtl", help="GradLIF simulation speed (cycles per second) per RTL simulator",
        parents=[common_options(out=_out_help("rtl"), seed="stimulus seed (default 0)")])
    p.add_argument("--cycles", action="append", default=[], metavar="N|SIM=N",
                   help="forward beats (one per cycle) for every simulator, or SIM=N for one "
                        "(repeatable; default amaranth=20000, icarus=verilator=100000)")
    p.add_argument("--sims", type=NameList(SIMULATORS, "simulator"), metavar="SIMS",
                   help="comma-separated subset of %(type)s (default all)")
    p.add_argument("--lanes", type=positive_int, default=16,
                   help="GradLIF lanes (default %(default)s)")
    p.set_defaults(handler=run_rtl)

    p = actions.add_parser(
        "simulate", help="seconds to simulate one training epoch per dataflow, and the "
                         "scheduler's operations per second",
        parents=[common_options(out=_out_help("simulate"))])
    p.add_argument("--network", type=network_arg, default="uci_har", metavar="NETWORK",
                   help=NETWORK_HELP + " (default %(default)s)")
    p.add_argument("--dataflows", type=NameList(DATAFLOWS, "dataflow"), metavar="DATAFLOWS",
                   help="comma-separated subset of %(type)s (default all)")
    p.add_argument("--samples", type=positive_int, default=7352,
                   help="samples per epoch (default %(default)s, UCI-HAR's training split)")
    p.add_argument("--batch-size", type=positive_int, default=50, dest="batch_size",
                   help="samples per batch (default %(default)s)")
    p.add_argument("--timesteps", type=positive_int,
                   help="timesteps T (default: the named network's, else 128)")
    p.set_defaults(handler=run_simulate)

    p = actions.add_parser(
        "aihwkit", help="one 256x256 layer on dfasim's crossbar and on aihwkit's tiles: output "
                        "error statistics and rows per second",
        description="The same weights, spike rows (forward) and error rows (backward) through "
                    "dfasim's crossbar and aihwkit's C++ and torch tiles, both with the "
                    "NeuRRAM-fitted programming spread; once with ideal periphery, once with "
                    "8-bit converters and 1 % read noise. Writes OUT/bench_aihwkit.json and "
                    ".md.",
        parents=[common_options(out=_out_help("aihwkit"),
                                seed="seed of the weights, spikes and errors (default 0)")])
    p.add_argument("--aihwkit-python", dest="aihwkit_python", metavar="PYTHON",
                   help="Python interpreter that can import aihwkit (default: this one if it "
                        "can; otherwise only dfasim's side runs)")
    p.add_argument("--size", type=positive_int, default=256,
                   help="rows and columns of the layer (default %(default)s)")
    p.add_argument("--rows", type=positive_int, default=6400,
                   help="spike rows forward and error rows backward (default %(default)s)")
    p.add_argument("--batch-rows", type=positive_int, default=128, dest="batch_rows",
                   help="rows per call (default %(default)s)")
    p.add_argument("--spike-rate", type=float, default=0.1, dest="spike_rate",
                   help="probability of a spike per input (default %(default)s)")
    p.add_argument("--tiles", type=NameList(("cpp", "torch"), "aihwkit tile"), metavar="TILES",
                   default=["cpp", "torch"],
                   help="comma-separated subset of %(type)s (default both)")
    p.set_defaults(handler=run_aihwkit)


def _out_file(args) -> Path:
    return Path(args.out or "runs/bench") / f"bench_{args.action}.json"


def _write_with_table(out: Path, res: dict, table: str) -> int:
    """Write the figures (``out``) and their markdown table (``out`` with ``.md``), print the
    table and what was written."""
    from ..fileio import write_json

    write_json(out, res)
    out.with_suffix(".md").write_text(table)
    print(table, end="")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


def run_train(args) -> int:
    """``dfasim bench train``: samples and sample-timesteps per second of each rule."""
    from ..bench import bench_train
    from ..fileio import write_json

    out = _out_file(args)
    res = bench_train(args.dataset, args.rules, batches=args.batches, batch_size=args.batch_size,
                      device=args.device or "cpu", data_dir=args.data_dir)
    write_json(out, res)
    print(f"training throughput on {res['dataset']} ({res['device']}, "
          f"{res['torch_threads']} threads, batch {res['batch_size']}):")
    for name, r in res["rules"].items():
        print(f"  {name:<5} {r['sample_timesteps_per_second']:>12,.0f} sample-timesteps/s  "
              f"({r['samples_per_second']:.1f} samples/s, T={r['timesteps']})")
    print(f"wrote {out}")
    return 0


def gpu_table(res: dict) -> str:
    """Markdown table of :func:`flows.bench.bench_gpu`'s figures."""
    lines = [f"CPU: {res['cpu']} ({res['torch_threads']} threads); GPU: {res['gpu']}; "
             f"torch {res['torch']}; {res['dataset']}", "",
             "| work | rule | CPU | GPU | speed-up |", "|---|---|---|---|---|"]
    for rule, speedup in res["speedup"]["train"].items():
        cpu, gpu = (res["train"][k]["rules"][rule]["sample_timesteps_per_second"]
                    for k in ("cpu", "cuda"))
        lines.append(f"| train (sample-timesteps/s) | {rule} | {cpu:,.0f} | {gpu:,.0f} | "
                     f"{speedup:.1f}x |")
    for rule, speedup in res["speedup"]["adapt"].items():
        cpu, gpu = (res["adapt"][k]["rules"][rule]["seconds_per_epoch"] for k in ("cpu", "cuda"))
        lines.append(f"| adapt (s/epoch) | {rule} | {cpu:.2f} | {gpu:.2f} | {speedup:.1f}x |")
    return "\n".join(lines) + "\n"


def run_gpu(args) -> int:
    """``dfasim bench gpu``: the GPU's speed-ups over the CPU for training and adaptation."""
    from ..bench import bench_gpu

    out = _out_file(args)
    res = bench_gpu(args.checkpoint, device=args.device or "cuda", batches=args.batches,
                    batch_size=args.batch_size, data_dir=args.data_dir)
    return _write_with_table(out, res, gpu_table(res))


def run_adapt(args) -> int:
    """``dfasim bench adapt``: seconds per epoch and the fraction of peak FLOP/s, per rule."""
    from ..bench import bench_adapt
    from ..fileio import write_json

    out = _out_file(args)
    res = bench_adapt(args.checkpoint, ["dfa", "bp"], batch_size=args.batch_size,
                      device=args.device or "cpu", data_dir=args.data_dir,
                      profile=args.profile, repeats=args.repeats)
    write_json(out, res)
    print(f"adaptation epoch on {res['dataset']} ({res['samples']} x {res['timesteps']} "
          f"timesteps, {res['device_name']}, {res['torch_threads']} threads), peak "
          f"{res['peak_flops'] / 1e9:.1f} GFLOP/s:")
    for name, r in res["rules"].items():
        spread = r["epoch_seconds"]
        repeats = (f"  (median of {len(spread)}: {min(spread):.2f}-{max(spread):.2f} s)"
                   if len(spread) > 1 else "")
        print(f"  {name:<4} {r['seconds_per_epoch']:7.2f} s/epoch  "
              f"{r['achieved_flops'] / 1e9:6.2f} GFLOP/s = "
              f"{100 * r['fraction_of_peak']:.1f} % of peak{repeats}")
        for row in r.get("profile", []):
            print(f"       {row['own_s']:7.3f} s own {row['cumulative_s']:7.3f} s with callees "
                  f"{row['calls']:7d} calls  {row['function']}")
    print(f"wrote {out}")
    return 0


def run_noise(args) -> int:
    """``dfasim bench noise``: the sampling figures as JSON."""
    from ..fileio import write_json
    from ..noise import bench_noise_sampling

    out = _out_file(args)
    res = bench_noise_sampling()
    write_json(out, res)
    print(json.dumps(res, indent=2, sort_keys=True, default=str))
    print(f"wrote {out}")
    return 0


def run_rtl(args) -> int:
    """``dfasim bench rtl``: a table per simulator; status 1 if any disagrees with golden."""
    from ..bench import RTL_SIMULATORS, bench_rtl, parse_rtl_cycles
    from ..fileio import write_json

    out = _out_file(args)
    res = bench_rtl(parse_rtl_cycles(args.cycles), args.sims or RTL_SIMULATORS,
                    lanes=args.lanes, seed=args.seed or 0)
    write_json(out, res)
    print(f"GradLIF, {res['lanes']} lanes: {res['loop']} (seed {res['seed']})")
    print(f"  {'simulator':<10} {'build s':>8} {'cycles':>9} {'run s':>7} {'cycles/s':>9} "
          f"{'mismatches':>10}")
    wrong = []
    for sim, r in res["simulators"].items():
        if "skipped" in r:
            print(f"  {sim:<10} skipped: {r['skipped']}")
            continue
        print(f"  {sim:<10} {r['build_s']:8.2f} {r['cycles']:9,d} {r['run_s']:7.2f} "
              f"{r['cycles_per_s']:9,.0f} {r['mismatches']:10d}")
        if r["mismatches"]:
            wrong.append(sim)
    for tool, version in res["versions"].items():
        print(f"  {tool}: {version or 'not installed'}")
    print(f"wrote {out}")
    if wrong:
        # A wrong result is not a usage error: status 1, after the table that shows it.
        print(f"dfasim: error: GradLIF output differs from the golden model under "
              f"{', '.join(wrong)}", file=sys.stderr)
        return 1
    return 0


def run_conv(args) -> int:
    """``dfasim bench conv``: seconds per epoch of a convolutional network, per rule."""
    from ..bench import bench_conv_epoch
    from ..fileio import write_json

    out = _out_file(args)
    res = bench_conv_epoch(args.network, args.rules, timesteps=args.timesteps,
                           batch_size=args.batch_size, device=args.device or "cpu",
                           data_dir=args.data_dir, init_gain=args.init_gain)
    write_json(out, res)
    print(f"{res['network']} on {res['event_frames']} real DVS event frames ({res['samples']} "
          f"clips x T={res['timesteps']}), {res['device_name']} ({res['device']}):")
    for name, r in res["rules"].items():
        memory = f", peak {r['peak_memory_gib']:.1f} GiB" if "peak_memory_gib" in r else ""
        print(f"  {name:<5} {r['seconds_per_epoch']:8.2f} s/epoch  "
              f"{r['event_frames_per_second']:8.1f} frames/s{memory}")
    print(f"wrote {out}")
    return 0


def run_simulate(args) -> int:
    """``dfasim bench simulate``: seconds per simulated epoch per dataflow."""
    from ...models.archsim import DATAFLOWS as ALL_DATAFLOWS
    from ..bench_simulate import bench_simulate
    from ..fileio import write_json

    out = _out_file(args)
    res = bench_simulate(args.network, args.dataflows or ALL_DATAFLOWS, samples=args.samples,
                         batch_size=args.batch_size, timesteps=args.timesteps)
    write_json(out, res)
    load = ", ".join(f"{x:.2f}" for x in res["load_average"])
    print(f"one simulated epoch of {res['network']} ({res['samples']} samples x "
          f"T={res['timesteps']}, batch {res['batch_size']}; load average {load}):")
    for flow, r in res["dataflows"].items():
        print(f"  {flow:<9} {r['seconds']:6.2f} s  ({r['operations']:,} operations in "
              f"{r['simulated_batches']} of {r['batches']} batches; epoch "
              f"{r['makespan_s']:.3f} s, {r['energy_j'] * 1e3:.2f} mJ)")
    engine = res["engine"]
    print(f"  engine: {engine['ops_per_s']:,.0f} operations/s scheduled, "
          f"{engine['tensors_per_s']:,.0f} tensors/s placed")
    print(f"wrote {out}")
    return 0


def run_aihwkit(args) -> int:
    """``dfasim bench aihwkit``: the comparison table, as JSON and markdown."""
    from ..bench_aihwkit import bench_aihwkit, default_python, render_markdown

    out = _out_file(args)
    res = bench_aihwkit(python=args.aihwkit_python or default_python(), size=args.size,
                        rows=args.rows, batch_rows=args.batch_rows, spike_rate=args.spike_rate,
                        seed=args.seed or 0, tiles=tuple(args.tiles))
    return _write_with_table(out, res, render_markdown(res))
