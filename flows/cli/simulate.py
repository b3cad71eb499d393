# SPDX-License-Identifier: MIT
"""``dfasim simulate``: schedule a training epoch on the chip under one dataflow or all four.

The handler imports the simulator, numpy and matplotlib (through ``flows.simulate``) only when
it runs, so building the parser stays as light as the rest of the command line.
"""
from __future__ import annotations

from pathlib import Path

from ...golden.networks import ARCHITECTURES, NETWORKS, format_layers, parse_network
from .cost import DENSE_BATCH, DENSE_SAMPLES, DENSE_TIMESTEPS
from .cost import dense_spec_of
from .parsing import NETWORK_HELP, common_options, network_arg, positive_int

__all__ = ["register", "DATAFLOW_CHOICES", "DEFAULT_SIMULATED_BATCHES"]

#: The four dataflows of ``docs/simulator.md`` and ``all`` (kept here, not imported from the
#: simulator, so the parser does not load numpy; a test checks they agree).
DATAFLOW_CHOICES = ("bp", "dfa", "pipelayer", "pipesdfa", "all")

#: The simulator's default scheduled batches per dataflow, for the help text (a copy, so the
#: parser does not load numpy; a test checks it against ``simulator.SIMULATED_BATCHES``).
DEFAULT_SIMULATED_BATCHES = {"bp": 2, "dfa": 2, "pipelayer": 2, "pipesdfa": 3}


def _simulated_batches_help() -> str:
    by_count: dict[int, list[str]] = {}
    for name, count in DEFAULT_SIMULATED_BATCHES.items():
        by_count.setdefault(count, []).append(name)
    return "; ".join(f"{count} for {', '.join(names)}" for count, names in by_count.items())


_DENSE_OPTIONS = ("timesteps", "samples", "batch_size", "spike_rate", "static")


def simulated_network(text: str) -> str:
    """argparse type of ``--network``: an MLP (dash form or name) or a named convolutional
    network (its im2col matrices are simulated, docs/simulator.md)."""
    if text.strip() in ARCHITECTURES:
        return text.strip()
    return network_arg(text)


def register(sub) -> None:
    """Add ``simulate`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "simulate", help="schedule a training epoch on the chip (BP, DFA, PipeLayer, "
                         "PipeSDFA): makespan, buffers, DRAM spills, Gantt chart",
        description="Schedule the first batches of a training epoch operation by operation on "
                    "the chip's resources, place every stored tensor in the finite buffers, "
                    "and extrapolate the epoch (docs/simulator.md).",
        parents=[common_options(out="default runs/simulate/NETWORK-DATAFLOW")])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", type=simulated_network, metavar="NETWORK",
                        help=f"dense workload of a network, {NETWORK_HELP}; or a "
                             f"convolutional one: {', '.join(ARCHITECTURES)}")
    source.add_argument("--adapt", metavar="ADAPT_JSON",
                        help="the activity a dfasim adapt run recorded (its adapt.json); the "
                             "chip is the one it ran on unless --config is given")
    p.add_argument("--dataflow", required=True, choices=DATAFLOW_CHOICES, metavar="DATAFLOW",
                   help="%(choices)s (all: the four side by side)")
    p.add_argument("--config", metavar="TOML",
                   help="TOML file with a [chip] table (default: DFA_Sim Table II)")
    p.add_argument("--timesteps", type=positive_int, metavar="T",
                   help=f"timesteps T of --network (default: the named network's, else "
                        f"{DENSE_TIMESTEPS})")
    p.add_argument("--samples", type=positive_int, metavar="N",
                   help=f"samples per epoch of --network (default {DENSE_SAMPLES})")
    p.add_argument("--batch-size", type=positive_int, dest="batch_size", metavar="N",
                   help=f"samples per batch of --network (default {DENSE_BATCH})")
    p.add_argument("--spike-rate", type=float, dest="spike_rate", metavar="RATE",
                   help="hidden-layer spike rate of --network (default 0.38, measured on "
                        "UCI-HAR)")
    p.add_argument("--static", action="store_true", default=None,
                   help="static input of --network repeated every timestep (DRAM line), not "
                        "a sequence")
    p.add_argument("--simulated-batches", type=positive_int, dest="simulated_batches", metavar="K",
                   help=f"batches scheduled exactly before the epoch is extrapolated "
                        f"(default {_simulated_batches_help()}: batches separated by the "
                        f"update barrier repeat the first, pipesdfa's overlap)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(handler=run_simulate)


def run_simulate(args) -> int:
    """``dfasim simulate``: simulate, write the outputs, print the summary."""
    from .. import simulate as flow
    from ..config import load_chip

    if args.adapt is not None:
        given = [f"--{name.replace('_', '-')}" for name in _DENSE_OPTIONS
                 if getattr(args, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} set the dense workload of --network; "
                             f"--adapt takes its network, T and batch from the adapt.json")
        chip = None if args.config is None else load_chip(args.config)
        workload, chip, name = flow.adapt_simulation_input(args.adapt, chip)
    else:
        chip = load_chip(args.config)
        args.static = bool(args.static)
        spec = dense_spec_of(args.network, args)
        workload = flow.dense_simulation_workload(spec, chip)
        name = args.network if args.network in NETWORKS or args.network in ARCHITECTURES \
            else format_layers(parse_network(args.network))
    dataflows = flow.DATAFLOWS if args.dataflow == "all" else (args.dataflow,)
    kwargs = {} if args.simulated_batches is None else \
        {"simulated_batches": args.simulated_batches}
    simulations = flow.run_simulations(workload, chip, dataflows, **kwargs)
    out = Path(args.out or f"runs/simulate/{name}-{args.dataflow}")
    paths = flow.write_simulation_outputs(simulations, out, title=name)
    if not args.quiet:
        print(flow.format_text(simulations, title=name))
        print(f"wrote {len(paths)} files under {out}")
    return 0
