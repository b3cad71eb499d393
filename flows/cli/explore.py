# SPDX-License-Identifier: MIT
"""``dfasim explore``: accuracy-and-cost design-space exploration on a Dask cluster.

The handler imports Dask, Optuna, torch and the models (through ``flows.explore``) only when it
runs, so building the parser stays as light as the rest of the command line.
"""
from __future__ import annotations

from pathlib import Path

from .parsing import apply_options, common_options, positive_int

__all__ = ["register", "SEARCH_CHOICES"]

#: ``flows.explore.space.SEARCHES``, copied so the parser does not load numpy.
SEARCH_CHOICES = ("grid", "random", "nsga2")

#: Options copied onto the ``[explore]`` table when given (dest names).
_EXPLORE_KEYS = ("checkpoint", "search", "samples", "chips", "seed")


def register(sub) -> None:
    """Add ``explore`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "explore", help="design-space exploration: deploy, adapt and price every point of a "
                        "TOML design space on N chips (Dask cluster); table, Pareto plot, "
                        "summary",
        description="Evaluate a design space (docs/explore.md) one task per (point, chip) on a "
                    "local or running Dask cluster: deploy the pre-trained network on noisy "
                    "chips, adapt it for a few epochs and price the epoch; finished tasks are "
                    "kept on disk and a rerun does only what is missing.",
        parents=[common_options(data_dir=True, out="default runs/explore/SPACE",
                                seed="seed of the random draws, NSGA-II and the chips "
                                     "(default: the space's, else 0)",
                                device="cpu (default) or cuda: where each task adapts",
                                quiet=True)])
    p.add_argument("space", metavar="SPACE_TOML",
                   help="design space: a TOML file with an [explore] table (see "
                        "docs/configs/explore-basic_motions.toml)")
    p.add_argument("--checkpoint", metavar="CHECKPOINT",
                   help="pre-trained checkpoint.pt (overrides explore.checkpoint)")
    p.add_argument("--search", choices=SEARCH_CHOICES,
                   help="how points are chosen: %(choices)s (overrides explore.search)")
    p.add_argument("--samples", type=positive_int, metavar="N",
                   help="points of a random or nsga2 search (overrides explore.samples)")
    p.add_argument("--chips", type=positive_int, metavar="N",
                   help="noisy chips per point (overrides explore.chips)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="worker processes of the local cluster (default: the CPU cores "
                        "divided by --threads)")
    p.add_argument("--threads", type=positive_int, metavar="N",
                   help="CPU threads per task (default 1); workers x threads may not exceed "
                        "the cores")
    p.add_argument("--address", metavar="ADDR",
                   help="scheduler of a running Dask cluster (tcp://host:8786) instead of a "
                        "local one; its workers need dfasim installed and the checkpoint at "
                        "the same path")
    p.add_argument("--cost-only", action="store_true", dest="cost_only",
                   help="price the chip axes only (vectorised roll-up in batches, no "
                        "adaptation): energy, latency and area per configuration and rule")
    p.set_defaults(handler=run_explore)


def run_explore(args) -> int:
    """``dfasim explore``: check the space, run it, print where the results are."""
    from ..explore import EngineConfig, available_cores, explore, load_space, prepare

    cfg = load_space(args.space)
    apply_options(args, cfg, _EXPLORE_KEYS)
    threads = args.threads or 1
    workers = args.workers or max(1, available_cores() // threads)
    engine = EngineConfig(workers=workers, threads=threads, address=args.address,
                          device=args.device or "cpu")
    # Everything that can be refused is refused here, before a cluster starts.
    engine.validate()
    if engine.device != "cpu":
        from ..runtime import resolve_device

        resolve_device(engine.device)
    out = Path(args.out or f"runs/explore/{Path(args.space).stem}")
    plan = prepare(cfg, out, cost_only=args.cost_only, data_dir=args.data_dir or "")
    res = explore(plan, engine, progress=False if args.quiet else None)
    rows = res["rows"]
    optimal = [r for r in rows if r.get("pareto")]
    if not args.quiet:
        where = args.address or f"a local cluster of {workers} workers x {threads} threads"
        print(f"{len(rows)} rows ({res['submitted']} tasks run on {where}, {res['skipped']} "
              f"found finished), {len(optimal)} Pareto-optimal")
        print(f"wrote {', '.join(str(p) for p in res['paths'])}")
    return 0
