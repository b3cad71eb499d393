# SPDX-License-Identifier: MIT
"""``dfasim rtl verilog|synth|verify BLOCK``: emit a digital block's Verilog, synthesise it, or
run its golden-model regression with functional coverage."""
from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path

from .parsing import RegistryNames, common_options, positive_int

__all__ = ["register"]

#: The block registry imports amaranth, so its names are read only when a command needs them.
BLOCKS = RegistryNames("dfasim.flows.rtl", "BLOCKS")


def register(sub) -> None:
    """Add ``rtl`` and its actions to the subcommands ``sub``."""
    group = sub.add_parser("rtl", help="emit Verilog of a digital block, or synthesise it",
                           description="The Amaranth blocks of the digital datapath.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION",
                                   title="actions")
    for name, helptext, handler in (
            ("verilog", "write the block's Verilog (same bytes every time)", run_verilog),
            ("synth", "synthesise the block with yosys: cells, transistors, area on OSU "
                      "0.18 µm", run_synth)):
        p = actions.add_parser(name, help=helptext,
                               parents=[common_options(out="default build/rtl/BLOCK[-K-V...]")])
        p.add_argument("block", choices=BLOCKS, metavar="BLOCK", help="block: %(choices)s")
        p.add_argument("--param", action="append", default=[], metavar="K=V",
                       help="block parameter (repeatable), e.g. --param lanes=8")
        p.set_defaults(handler=handler)
    _register_verify(actions)


def _register_verify(actions) -> None:
    p = actions.add_parser(
        "verify", help="run the block's golden-model regression (cocotb) with functional "
                       "coverage; JSON and markdown report",
        parents=[common_options(out="default build/verify; reports verify_BLOCK.json|md",
                                seed="stimulus seed: the run replays bit for bit with it "
                                     "(default 0)")])
    p.add_argument("block", metavar="BLOCK",
                   help="block: grad_lif, psum, shift_add, wgu, pingpong (the registry of "
                        "cosim/regression.py), or all")
    p.add_argument("--vectors", type=positive_int, metavar="N",
                   help="random vectors of the block's unit (forward beats, input beats, "
                        "update beats, words); default 2048; directed corners come on top")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                   help="simulator: %(choices)s (default %(default)s; verilator needs its "
                        "PyPI wheel)")
    p.set_defaults(handler=run_verify)


def _params_and_out(args) -> tuple[dict, Path]:
    from ..rtl import parse_params

    params = parse_params(args.param, args.block)
    tag = "".join(f"-{k}-{v}" for k, v in sorted(params.items()))
    return params, Path(args.out or f"build/rtl/{args.block}{tag}")


def run_verilog(args) -> int:
    """``dfasim rtl verilog``: print the path of the written Verilog."""
    from ..rtl import emit_verilog

    params, out = _params_and_out(args)
    print(f"wrote {emit_verilog(args.block, params, out)}")
    return 0


def run_synth(args) -> int:
    """``dfasim rtl synth``: print the synthesis figures and the memories found."""
    from amaranth.hdl import UnusedElaboratable

    from ..rtl import build, synth

    params, out = _params_and_out(args)
    # Construct the block first: bad parameters are one error line, not a banner and an error.
    # This instance is only a check (synth builds its own), so amaranth's warning that it was
    # never elaborated is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        build(args.block, params)
        # Amaranth components sit in a reference cycle: collect the check instance while the
        # warning is still ignored (otherwise it fires later, from the garbage collector).
        gc.collect()
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


def run_verify(args) -> int:
    """``dfasim rtl verify``: print one summary line per block; 1 if any mismatch, else 0."""
    from ..errors import DfasimError
    from ..rtl_verify import DEFAULT_OUT, block_names, verify

    if args.block != "all" and args.block not in block_names():
        raise DfasimError(f"unknown block {args.block!r}; choose from "
                          f"{', '.join([*block_names(), 'all'])}")
    out = Path(args.out or DEFAULT_OUT)
    failed = 0
    for name in block_names() if args.block == "all" else [args.block]:
        r = verify(name, vectors=args.vectors, sim=args.sim,
                   seed=0 if args.seed is None else args.seed, out=out)
        c = r["coverage_summary"]
        failed += len(r["mismatches"])
        missed = f"; never hit: {', '.join(c['never_hit'])}" if c["never_hit"] else ""
        print(f"{name}: {r['vectors']['run']} vectors, {len(r['mismatches'])} mismatches, "
              f"coverage {c['bins_hit']}/{c['bins']} bins{missed}, "
              f"{r['seconds']['wall']:.1f} s on {r['simulator']}")
        for m in r["mismatches"]:
            print(f"  mismatch in {m['test']}: {m['message'][:200]}", file=sys.stderr)
            print(f"  replay: {m['replay']}", file=sys.stderr)
        print(f"wrote {out / f'verify_{name}.json'} and {out / f'verify_{name}.md'}")
    return 1 if failed else 0
