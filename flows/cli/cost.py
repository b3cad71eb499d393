# SPDX-License-Identifier: MIT
"""``dfasim cost adapt|network|table1|sweep``: energy, latency and area of an adaptation epoch.

Every call into the cost flow goes through the module object ``flows.cost`` (imported in the
handlers, since it pulls in numpy, matplotlib and the models), one place per command; the chip
comes from :func:`dfasim.flows.config.load_chip`.
"""
from __future__ import annotations

import time
from pathlib import Path

from ...golden.networks import ARCHITECTURES, NETWORKS, format_layers, parse_network
from .parsing import NETWORK_HELP, RegistryNames, common_options, network_arg, positive_int

__all__ = ["register"]

MODES = RegistryNames("dfasim.models.cost.report", "MODES")

#: Dense workload when the command line does not say: the timesteps of an unnamed network,
#: samples per epoch and batch size (DFA_Sim's UCI-HAR setting, rounded).
DENSE_TIMESTEPS, DENSE_SAMPLES, DENSE_BATCH = 128, 2400, 50

_CONFIG_HELP = "TOML file with a [chip] table (default: DFA_Sim Table II)"
_SYNTH_HELP = ("also synthesise the digital blocks (yosys, about a minute) and show their "
               "node-scaled areas beside the library values")


def register(sub) -> None:
    """Add ``cost`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser(
        "cost", help="energy / latency / area of an adaptation epoch, BP vs DFA (Fig. 6, "
                     "Table I, design sweep)",
        description="Price one adaptation epoch, BP vs DFA, on the chip's cost model.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")

    p = actions.add_parser(
        "adapt", help="price the activity counts a dfasim adapt run recorded",
        parents=[common_options(out="default runs/cost/NAME-MODE")])
    p.add_argument("adapt", metavar="ADAPT_JSON", help="adapt.json of a dfasim adapt run")
    p.add_argument("--mode", choices=MODES, metavar="MODE",
                   help="%(choices)s: measured activity (default) or the dense analytical "
                        "workload of the same network")
    _add_hardware(p, synth=True)
    p.set_defaults(handler=run_adapt)

    p = actions.add_parser(
        "network", help="price the dense analytical workload of a network",
        parents=[common_options(out="default runs/cost/LAYERS")])
    p.add_argument("network", type=network_arg, metavar="NETWORK", help=NETWORK_HELP)
    _add_dense(p)
    _add_hardware(p, synth=True)
    p.set_defaults(handler=run_network)

    p = actions.add_parser(
        "table1", help="dense roll-up of the three Table I networks vs the paper's ratios, "
                       "with the rule-overhead (backward + update) ratios, the three WGU "
                       "designs side by side and leakage as a separate line",
        parents=[common_options(out="default runs/cost/table1")])
    p.add_argument("--spike-rate", type=float, dest="spike_rate",
                   help="hidden-layer spike rate of every network (default: measured rates)")
    _add_hardware(p, synth=True)
    p.set_defaults(handler=run_table1)

    p = actions.add_parser(
        "sweep", help="vectorised design-space sweep (crossbar size, ADC bits, mux ratio, "
                      "buffers); reports configurations per second",
        parents=[common_options(out="default runs/cost/sweep")])
    workload = p.add_mutually_exclusive_group()
    workload.add_argument("--network", type=network_arg, metavar="NETWORK", default="uci_har",
                          help=f"dense workload of a network, {NETWORK_HELP} (default "
                               f"%(default)s)")
    workload.add_argument("--adapt", metavar="ADAPT_JSON",
                          help="the network, T and batch of a dfasim adapt run instead")
    _add_dense(p)
    p.add_argument("--random", type=positive_int, metavar="N",
                   help="sweep N random configurations instead of the full grid")
    _add_hardware(p, synth=False)
    p.set_defaults(handler=run_sweep)


def _add_dense(p) -> None:
    p.add_argument("--timesteps", type=int,
                   help=f"timesteps T (default: the named network's, else {DENSE_TIMESTEPS})")
    p.add_argument("--samples", type=int,
                   help=f"samples per epoch (default {DENSE_SAMPLES})")
    p.add_argument("--batch-size", type=int, dest="batch_size",
                   help=f"samples per batch (default {DENSE_BATCH})")
    p.add_argument("--spike-rate", type=float, dest="spike_rate",
                   help="hidden-layer spike rate (default 0.38, measured on UCI-HAR)")
    p.add_argument("--static", action="store_true",
                   help="static input repeated every timestep (DRAM line), not a sequence")


def _add_hardware(p, *, synth: bool) -> None:
    p.add_argument("--config", metavar="TOML", help=_CONFIG_HELP)
    if synth:
        p.add_argument("--synth", action="store_true", help=_SYNTH_HELP)


def dense_spec_of(network: str, args):
    """The dense workload of ``network`` with the command line's T, samples, batch and rate:
    an MLP (dash form or name) or a named convolutional network (``dfasim simulate``)."""
    from ...models.cost.workload import DenseSpec

    def given(value, default):
        return default if value is None else value

    samples, batch = given(args.samples, DENSE_SAMPLES), given(args.batch_size, DENSE_BATCH)
    if network in ARCHITECTURES:
        from ...golden.networks import architecture_of

        architecture = architecture_of(network, args.timesteps)
        spec = DenseSpec([1, 1], architecture.timesteps, samples, batch,
                         sequence=not args.static, name=network, architecture=architecture)
    else:
        named = NETWORKS.get(network)
        spec = DenseSpec(list(parse_network(network)),
                         given(args.timesteps, named.timesteps if named else DENSE_TIMESTEPS),
                         samples, batch, sequence=not args.static)
    if args.spike_rate is not None:
        spec.spike_rate = args.spike_rate
    return spec.validate()


def _synth(flow, args, chip):
    if not args.synth:
        return None
    print("synthesising shift_add, psum, grad_lif and wgu with yosys ...", flush=True)
    return flow.synth_areas(Path(args.out or "runs/cost") / "synth", chip.tech.node_nm)


def _print_and_write(flow, report: dict, synth, chip, out: Path) -> int:
    print(flow.format_report(report))
    if synth is not None:
        for name, b in synth["blocks"].items():
            print(f"  synth {name}: {b['logic_um2_per_lane_180nm']:,.0f} µm²/lane at 180 nm -> "
                  f"{b['logic_um2_per_lane_scaled']:,.1f} µm² at {chip.tech.node_nm:g} nm "
                  f"(library {b['library_um2_per_lane_scaled']:,.1f})")
    paths = flow.write_cost_outputs(report, out)
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def run_adapt(args) -> int:
    """``dfasim cost adapt``: the activity (or dense) report of an adapt.json."""
    from .. import cost as flow
    from ..config import load_chip

    chip = load_chip(args.config)
    synth = _synth(flow, args, chip)
    # Without --config the report takes the chip the adapt run simulated.
    report = flow.cost_report(args.adapt, None if args.config is None else chip,
                              mode=args.mode or "activity", synth=synth)
    name = report["network"]["name"] or Path(args.adapt).parent.name
    out = Path(args.out or f"runs/cost/{name}-{report['mode']}")
    return _print_and_write(flow, report, synth, chip, out)


def run_network(args) -> int:
    """``dfasim cost network``: the dense report of a network."""
    from .. import cost as flow
    from ..config import load_chip

    chip = load_chip(args.config)
    spec = dense_spec_of(args.network, args)
    synth = _synth(flow, args, chip)
    report = flow.cost_report(spec, chip, mode="dense", synth=synth)
    out = Path(args.out or "runs/cost/" + format_layers(report["network"]["layers"]))
    return _print_and_write(flow, report, synth, chip, out)


def run_table1(args) -> int:
    """``dfasim cost table1``: the three Table I reports and the comparison table."""
    from ...golden.papers import DFA_SIM_RATIO_RANGES
    from .. import cost as flow
    from ..config import load_chip
    from ..fileio import atomic_write_bytes, write_json

    chip = load_chip(args.config)
    out = Path(args.out or "runs/cost/table1")
    synth = _synth(flow, args, chip)
    t0 = time.perf_counter()
    t = flow.table1_report(chip, spike_rate=args.spike_rate, synth=synth)
    seconds = time.perf_counter() - t0
    written = []
    for key, rep in t["networks"].items():
        print(flow.format_report(rep))
        print()
        written += flow.write_cost_outputs(rep, out / key)
    table = flow.format_table1(t)
    print(table)
    paper_ratios = {q: list(v) for q, v in DFA_SIM_RATIO_RANGES.items()}
    write_json(out / "table1.json", {"rows": t["rows"], "seconds": seconds,
                                     "paper_ratios": paper_ratios})
    rows = t["rows"]
    flow._write_csv(out / "table1.csv", [list(rows[0])] + [list(r.values()) for r in rows])
    atomic_write_bytes(out / "table1.md", (table + "\n").encode())
    print(f"wrote {out / 'table1.json'}, table1.csv, table1.md and {len(written)} files under "
          f"{out}/<network>/")
    return 0


def run_sweep(args) -> int:
    """``dfasim cost sweep``: sweep.csv (one row per configuration) and sweep.json."""
    from ...models.cost.workload import DenseSpec
    from .. import cost as flow
    from ..config import load_chip
    from ..fileio import write_json

    chip = load_chip(args.config)
    if args.adapt:
        d, where = flow.read_adapt(args.adapt)
        layers, timesteps, batch, _ = flow.adapt_fields(d, where)
        spec = DenseSpec(layers, timesteps, DENSE_SAMPLES, batch)
        if args.spike_rate is not None:
            spec.spike_rate = args.spike_rate
    else:
        spec = dense_spec_of(args.network, args)
    out = Path(args.out or "runs/cost/sweep")
    res, summary = flow.run_sweep(spec, chip, n=args.random)
    out.mkdir(parents=True, exist_ok=True)
    rows = res.rows()
    flow._write_csv(out / "sweep.csv", [list(rows[0])] + [list(r.values()) for r in rows])
    write_json(out / "sweep.json", summary)
    print(f"sweep of {summary['configurations']:,} configurations ({summary['feasible']:,} "
          f"feasible) of {summary['network']} T={spec.timesteps}: "
          f"{summary['seconds'] * 1e3:.1f} ms, {summary['configs_per_second']:,.0f} "
          f"configurations/s")
    if "best_dfa_energy_delay" in summary:
        b = summary["best_dfa_energy_delay"]
        print("lowest DFA energy x latency: " + ", ".join(f"{k}={b[k]}" for k in res.configs))
    print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.json'}")
    return 0
