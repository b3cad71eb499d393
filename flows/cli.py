# SPDX-License-Identifier: MIT
"""The ``dfasim`` command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from .config import TrainConfig, load_toml
from .cost import add_cost_parser, run_cost
from .datasets import DATASETS, DatasetError
from .errors import DfasimError
from .reproduce import add_reproduce_parser, run_reproduce

__all__ = ["main", "build_parser"]


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train an SNN from scratch (BPTT, DFA or SDFA)")
    p.add_argument("--config", help="TOML file with a [train] table; flags override it")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("--rule", choices=["bptt", "dfa", "sdfa"])
    p.add_argument("--layers", help="layer sizes, e.g. 9-128-64-32-6 (default: per dataset)")
    p.add_argument("--timesteps", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--lr", type=float)
    p.add_argument("--loss", choices=["mse", "ce"])
    p.add_argument("--readout", choices=["spike", "membrane"])
    p.add_argument("--dfa-error", choices=["average", "timestep"], dest="dfa_error")
    p.add_argument("--neuron", choices=["lif", "if"])
    p.add_argument("--reset", choices=["hard", "soft", "none"])
    p.add_argument("--surrogate", choices=["triangle", "rectangular", "atan", "fast_sigmoid"])
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--out", help="run directory (default runs/train/DATASET-RULE-sSEED)")
    p.add_argument("--overwrite", action="store_true",
                   help="start again even if the run directory holds an unfinished run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _train(args) -> int:
    from .train import train

    cfg = load_toml(args.config, TrainConfig, "train") if args.config else TrainConfig()
    for key in ("dataset", "rule", "layers", "timesteps", "epochs", "batch_size", "lr", "loss",
                "readout", "dfa_error", "seed", "device", "data_dir"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    for key in ("neuron", "reset", "surrogate"):
        if getattr(args, key) is not None:
            setattr(cfg.neuron, key, getattr(args, key))
    out = Path(args.out or f"runs/train/{cfg.dataset}-{cfg.rule}-s{cfg.seed}")
    m = train(cfg, out, overwrite=args.overwrite, progress=False if args.quiet else None)
    print(f"{m['dataset']} {m['rule']} {'-'.join(map(str, m['layers']))} T={m['timesteps']}: "
          f"test accuracy {100 * m['test_accuracy']:.2f} % ({m['n_test']} samples)")
    print(f"wrote {out / 'checkpoint.pt'} and {out / 'metrics.json'}")
    return 0


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="test accuracy of a trained checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--dataset", help="default: the dataset it was trained on")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--device", default="cpu")


def _evaluate(args) -> int:
    from .checkpoint import load_checkpoint
    from .train import evaluate, prepare_data, resolve_device

    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, device=str(device))
    data = prepare_data(args.dataset or ckpt.dataset, args.data_dir)
    ds = data.dataset
    if ds.n_features != ckpt.model.spec.n_inputs or ds.n_classes != ckpt.model.spec.n_classes:
        raise DfasimError(f"checkpoint network {'-'.join(map(str, ckpt.model.spec.layers))} "
                          f"does not fit dataset {ds.name} ({ds.n_features} features, "
                          f"{ds.n_classes} classes)")
    # Normalise with the statistics stored at training time, not this split's.
    x_test = ckpt.normalise(torch.from_numpy(ds.x_test).float())
    acc = evaluate(ckpt.model, x_test, data.y_test, device=device)
    print(f"{ds.name}: test accuracy {100 * acc:.2f} % ({len(x_test)} samples)")
    return 0


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="datasets: where they are, which are available")
    p.add_argument("action", choices=["list"])
    p.add_argument("--data-dir", dest="data_dir")


def _data(args) -> int:
    from .datasets import describe_datasets

    for d in describe_datasets(args.data_dir):
        state = "available" if d["available"] else "missing  "
        print(f"{d['name']:<14} {state} {d.get('where') or ''}  {d.get('note') or ''}".rstrip())
    return 0


def _add_adapt(sub) -> None:
    p = sub.add_parser("adapt", help="deploy a trained SNN on noisy crossbars, adapt with BP/DFA")
    p.add_argument("--config", help="TOML file with an [adapt] table; flags override it")
    p.add_argument("--checkpoint", help="pre-trained FP32 checkpoint (from dfasim train)")
    p.add_argument("--dataset", help="default: the checkpoint's dataset")
    p.add_argument("--rules", help="comma-separated subset of bp,dfa (default both)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--lr-bp", type=float, dest="lr_bp")
    p.add_argument("--lr-dfa", type=float, dest="lr_dfa")
    p.add_argument("--lr-schedule", choices=["cosine", "constant"], dest="lr_schedule")
    p.add_argument("--chips", type=int, help="Monte Carlo chip instances (mean ± std)")
    p.add_argument("--seed", type=int)
    p.add_argument("--noise", help="neurram (default), radar, crosssim, ideal, or a model file")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--max-tiles", type=int, dest="max_tiles", help="tile budget of the chip")
    p.add_argument("--g-min", type=float, dest="g_min", help="conductance window low (µS)")
    p.add_argument("--g-max", type=float, dest="g_max", help="conductance window high (µS)")
    p.add_argument("--out", help="run directory (default runs/adapt/DATASET-sSEED)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")


def _adapt(args) -> int:
    from .adapt import AdaptConfig, adapt

    cfg = load_toml(args.config, AdaptConfig, "adapt") if args.config else AdaptConfig()
    for key in ("checkpoint", "dataset", "epochs", "batch_size", "lr_bp", "lr_dfa", "lr_schedule",
                "chips",
                "seed", "noise", "data_dir"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    if args.rules is not None:
        cfg.rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    if args.max_tiles is not None:
        cfg.crossbar.max_tiles = args.max_tiles
    for key in ("g_min", "g_max"):
        if getattr(args, key) is not None:
            setattr(cfg.crossbar.device, key, getattr(args, key))
    out = Path(args.out or f"runs/adapt/{cfg.dataset or Path(cfg.checkpoint).parent.name}"
                           f"-s{cfg.seed}")
    res = adapt(cfg, out, overwrite=args.overwrite, progress=False if args.quiet else None)
    s = res["summary"]
    pct = lambda d: f"{100 * d['mean']:.2f} ± {100 * d['std']:.2f} %"  # noqa: E731
    print(f"{res['dataset']} {'-'.join(map(str, res['layers']))}, {len(res['chips'])} chips, "
          f"{res['epochs']} epochs: FP32 {100 * s['fp32']:.2f} %, non-ideal {pct(s['nonideal'])}"
          + "".join(f", {r.upper()} {pct(s[r])}" for r in res["rules"] if r in s))
    print(f"wrote {out / 'adapt.json'}")
    return 0


def _add_noise(sub) -> None:
    p = sub.add_parser("noise", help="fit or inspect a GPR RRAM noise model")
    p.add_argument("action", choices=["fit", "show"])
    p.add_argument("target", nargs="?", help="fit: radar or neurram; show: a model file")
    p.add_argument("--out", help="model file for fit (default runs/noise/noise_SOURCE.pt)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--g-min", type=float, default=1.0, dest="g_min")
    p.add_argument("--g-max", type=float, default=10.0, dest="g_max")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--quiet", action="store_true")


def _noise(args) -> int:
    from .noise import noise_fit, noise_show

    if not args.target:
        raise DfasimError(f"noise {args.action} needs "
                          f"{'a source (radar or neurram)' if args.action == 'fit' else 'a file'}")
    if args.action == "show":
        print(noise_show(Path(args.target)))
        return 0
    out = Path(args.out or f"runs/noise/noise_{args.target}.pt")
    noise_fit(args.target, out, epochs=args.epochs, seed=args.seed, g_min=args.g_min,
                    g_max=args.g_max, data_dir=args.data_dir,
                    progress=False if args.quiet else None)
    print(noise_show(out))
    print(f"wrote {out} and its report {out.with_suffix('.json')}, plot "
          f"{out.with_suffix('.png')}")
    return 0


def _add_rtl(sub) -> None:
    p = sub.add_parser("rtl", help="emit Verilog of a digital block, or synthesise it with yosys")
    p.add_argument("action", choices=["verilog", "synth"])
    p.add_argument("block", help="grad_lif, psum, shift_add, wgu or pingpong")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="block parameter (repeatable), e.g. --param lanes=8")
    p.add_argument("--out", help="output directory (default build/rtl/BLOCK[-K-V...])")


def _rtl(args) -> int:
    from .rtl import emit_verilog, parse_params, synth

    params = parse_params(args.param, args.block)
    tag = "".join(f"-{k}-{v}" for k, v in sorted(params.items()))
    out = Path(args.out or f"build/rtl/{args.block}{tag}")
    if args.action == "verilog":
        print(f"wrote {emit_verilog(args.block, params, out)}")
        return 0
    print(f"running yosys on {args.block} (memories become flip-flops; see 'memories')",
          file=sys.stderr)
    r = synth(args.block, params, out)
    print(f"{r['module']}: {r['cell_count']} generic cells, {r['transistors']} transistors "
          f"(estimate), {r['area_um2']:.0f} µm² on OSU 0.18 µm ({r['liberty_cell_count']} cells)")
    for m in r["memories"]:
        print(f"  memory {m['name']}: {m['words']} x {m['width']} bits = {m['bits']} bits "
              f"(area above is flip-flops, not an SRAM estimate)")
    print(f"wrote {out / (r['module'] + '.synth.json')}")
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure speed figures")
    p.add_argument("what", choices=["train", "noise", "adapt", "rtl"])
    p.add_argument("--checkpoint", help="adapt: the pre-trained checkpoint to deploy")
    p.add_argument("--cycles", action="append", default=[], metavar="N|SIM=N",
                   help="rtl: forward beats (one per cycle) for every simulator, or SIM=N for "
                        "one (repeatable; default amaranth=20000, icarus=verilator=100000)")
    p.add_argument("--sims", default="amaranth,icarus,verilator",
                   help="rtl: comma-separated simulators (amaranth, icarus, verilator)")
    p.add_argument("--lanes", type=int, default=16, help="rtl: GradLIF lanes")
    p.add_argument("--seed", type=int, default=0, help="rtl: stimulus seed")
    p.add_argument("--dataset", default="uci_har")
    p.add_argument("--rules", default="bptt,dfa,sdfa")
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=50, dest="batch_size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-dir", dest="data_dir")
    p.add_argument("--out", help="JSON file (default runs/bench/WHAT.json)")


def _bench(args) -> int:
    from .bench import bench_train
    from .fileio import write_json

    out = args.out or f"runs/bench/{args.what}.json"
    if args.what == "noise":
        from .noise import bench_noise_sampling

        res = bench_noise_sampling()
        write_json(out, res)
        print(json.dumps(res, indent=2, sort_keys=True, default=str))
        return 0
    if args.what == "rtl":
        return _bench_rtl(args, out)
    if args.what == "adapt":
        from .bench import bench_adapt

        if not args.checkpoint:
            raise DfasimError("bench adapt needs --checkpoint (a dfasim train checkpoint)")
        res = bench_adapt(args.checkpoint, ["dfa", "bp"], batch_size=args.batch_size,
                          data_dir=args.data_dir)
        write_json(out, res)
        print(f"adaptation epoch on {res['dataset']} ({res['samples']} x {res['timesteps']} "
              f"timesteps, {res['torch_threads']} threads), peak "
              f"{res['peak_flops'] / 1e9:.1f} GFLOP/s:")
        for name, r in res["rules"].items():
            print(f"  {name:<4} {r['seconds_per_epoch']:7.2f} s/epoch  "
                  f"{r['achieved_flops'] / 1e9:6.2f} GFLOP/s = "
                  f"{100 * r['fraction_of_peak']:.1f} % of peak")
        print(f"wrote {out}")
        return 0
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    bad = [r for r in rules if r not in ("bptt", "dfa", "sdfa")]
    if bad:
        raise DfasimError(f"unknown rule {bad[0]!r}; choose from bptt, dfa, sdfa")
    res = bench_train(args.dataset, rules, batches=args.batches, batch_size=args.batch_size,
                      device=args.device, data_dir=args.data_dir)
    write_json(out, res)
    print(f"training throughput on {res['dataset']} ({res['device']}, "
          f"{res['torch_threads']} threads, batch {res['batch_size']}):")
    for name, r in res["rules"].items():
        print(f"  {name:<5} {r['sample_timesteps_per_second']:>12,.0f} sample-timesteps/s  "
              f"({r['samples_per_second']:.1f} samples/s, T={r['timesteps']})")
    print(f"wrote {out}")
    return 0


def _bench_rtl(args, out: str) -> int:
    from .bench import bench_rtl, parse_rtl_cycles
    from .fileio import write_json

    sims = [x.strip() for x in args.sims.split(",") if x.strip()]
    res = bench_rtl(parse_rtl_cycles(args.cycles), sims, lanes=args.lanes, seed=args.seed)
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
        print(f"dfasim: error: GradLIF output differs from the golden model under "
              f"{', '.join(wrong)}", file=sys.stderr)
        return 1
    return 0


_COMMANDS = {"train": _train, "evaluate": _evaluate, "data": _data, "adapt": _adapt,
             "noise": _noise, "rtl": _rtl, "bench": _bench, "cost": run_cost,
             "reproduce": run_reproduce}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dfasim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_evaluate, _add_data, _add_adapt, _add_noise, _add_rtl,
                _add_bench, add_cost_parser, add_reproduce_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one line on stderr and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (DfasimError, DatasetError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"dfasim: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dfasim: interrupted; finished epochs are kept and the run resumes", file=sys.stderr)
        return 130
    except (json.JSONDecodeError, OSError) as exc:
        if os.environ.get("DFASIM_DEBUG"):
            raise
        print(f"dfasim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
