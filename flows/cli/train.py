# SPDX-License-Identifier: MIT
"""``dfasim train`` and ``dfasim evaluate``: off-chip training of the golden SNN, test accuracy."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...golden.networks import ARCHITECTURES, format_layers, parse_network
from ...golden.options import (DFA_ERRORS, FIRE_MODES, LOSSES, MSE_REDUCTIONS, NEURON_MODELS,
                               READOUTS, RESETS, SURROGATE_NAMES, TRAINING_RULES)
from .parsing import NETWORK_HELP, RegistryNames, apply_options, common_options, network_arg

__all__ = ["register"]

DATASETS = RegistryNames("dfasim.flows.datasets.registry", "DATASETS")

#: ``dfasim train`` options copied onto the ``[train]`` table when given (dest names).
_TRAIN_KEYS = ("dataset", "rule", "timesteps", "epochs", "batch_size", "lr", "loss",
               "mse_reduction", "readout", "dfa_error", "init_gain", "seed", "device",
               "data_dir")
#: ... and onto its ``[train.neuron]`` table.
_NEURON_KEYS = ("neuron", "leak", "threshold", "reset", "surrogate", "surrogate_width",
                "decay_input", "fire")


def _train_network_arg(text: str) -> str:
    """``--layers`` of ``dfasim train``: an MLP (:func:`network_arg`) or a convolutional
    network's name."""
    if text.strip() in ARCHITECTURES:
        return text.strip()
    return network_arg(text)


def register(sub) -> None:
    """Add ``train`` and ``evaluate`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "train", help="train an SNN from scratch (BPTT, DFA or SDFA)",
        description="Train the golden SNN off-chip; the run folder holds the checkpoint, the "
                    "metrics and the resolved config, and an unfinished run resumes.",
        parents=[common_options(data_dir=True, out="default runs/train/DATASET-RULE-sSEED",
                                seed="seed of weights, feedback matrices and batches "
                                     "(default 0)",
                                device="cpu (default), cuda or cuda:N", quiet=True)])
    p.add_argument("--config", metavar="TOML",
                   help="file with a [train] table; options given here override it")
    p.add_argument("--dataset", choices=DATASETS, metavar="NAME",
                   help="dataset: %(choices)s (default basic_motions)")
    p.add_argument("--rule", choices=TRAINING_RULES, help="training rule (default bptt)")
    p.add_argument("--layers", type=_train_network_arg, metavar="NETWORK",
                   help=f"network, {NETWORK_HELP}; or a convolutional network on a dataset "
                        f"of frames: {', '.join(ARCHITECTURES)} (default: the dataset's)")
    p.add_argument("--timesteps", type=int,
                   help="timesteps T (default: the dataset's; sequences fix it)")
    p.add_argument("--epochs", type=int, help="training epochs (default 30)")
    p.add_argument("--batch-size", type=int, dest="batch_size",
                   help="samples per batch (default: the dataset's, 50 for most)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 3e-3)")
    p.add_argument("--init-gain", type=float, dest="init_gain",
                   help="initial weights U(-g, g)/sqrt(fan in) with this g (default 1; deep "
                        "networks without batch norm such as VGG11 need more)")
    p.add_argument("--loss", choices=LOSSES, help="output loss (default mse)")
    p.add_argument("--mse-reduction", choices=MSE_REDUCTIONS, dest="mse_reduction",
                   help="MSE summed over classes or averaged as PyTorch's MSELoss "
                        "(default sum)")
    p.add_argument("--readout", choices=READOUTS,
                   help="output read as spike counts or membrane (default spike)")
    p.add_argument("--dfa-error", choices=DFA_ERRORS, dest="dfa_error",
                   help="DFA output error averaged over T or per timestep (default average)")
    p.add_argument("--neuron", choices=NEURON_MODELS, help="neuron model (default lif)")
    p.add_argument("--leak", type=float,
                   help="membrane leak per timestep, 1 - 1/tau (default 0.75)")
    p.add_argument("--threshold", type=float, help="firing threshold (default 0.5)")
    p.add_argument("--reset", choices=RESETS, help="membrane reset after a spike (default hard)")
    p.add_argument("--surrogate", choices=SURROGATE_NAMES,
                   help="surrogate gradient of the spike (default triangle)")
    p.add_argument("--surrogate-width", type=float, dest="surrogate_width",
                   help="the surrogate's width or sharpness (default 1)")
    p.add_argument("--decay-input", action=argparse.BooleanOptionalAction, dest="decay_input",
                   help="scale the LIF input by the decay too, as spikingjelly's decay_input "
                        "(default off)")
    p.add_argument("--fire", choices=FIRE_MODES,
                   help="spike when the membrane is above (gt, default) or at least (ge) the "
                        "threshold")
    p.add_argument("--overwrite", action="store_true",
                   help="start again even if the run folder holds an unfinished run")
    p.set_defaults(handler=run_train)

    p = sub.add_parser(
        "evaluate", help="test accuracy of a trained checkpoint",
        description="Test accuracy of a dfasim train checkpoint, normalised with the "
                    "statistics stored at training time.",
        parents=[common_options(data_dir=True, device="cpu (default), cuda or cuda:N")])
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.pt of a dfasim train run")
    p.add_argument("--dataset", choices=DATASETS, metavar="NAME",
                   help="dataset: %(choices)s (default: the one it was trained on)")
    p.set_defaults(handler=run_evaluate)


def run_train(args) -> int:
    """``dfasim train``: train, print the test accuracy and what was written."""
    from ..config import TrainConfig, load_toml
    from ..train import train

    cfg = load_toml(args.config, TrainConfig, "train") if args.config else TrainConfig()
    apply_options(args, cfg, _TRAIN_KEYS)
    if args.layers is not None:
        cfg.layers = (args.layers if args.layers in ARCHITECTURES
                      else format_layers(parse_network(args.layers)))
    apply_options(args, cfg.neuron, _NEURON_KEYS)
    out = Path(args.out or f"runs/train/{cfg.dataset}-{cfg.rule}-s{cfg.seed}")
    m = train(cfg, out, overwrite=args.overwrite, progress=False if args.quiet else None)
    network = m["architecture"]["name"] if "architecture" in m else format_layers(m["layers"])
    print(f"{m['dataset']} {m['rule']} {network} T={m['timesteps']}: "
          f"test accuracy {100 * m['test_accuracy']:.2f} % ({m['n_test']} samples)")
    print(f"wrote {out / 'checkpoint.pt'} and {out / 'metrics.json'}")
    return 0


def run_evaluate(args) -> int:
    """``dfasim evaluate``: the checkpoint's test accuracy on its (or another) dataset."""
    import torch

    from ..checkpoint import load_checkpoint
    from ..data_prep import prepare_data
    from ..evaluation import evaluate
    from ..networks import check_network_fits
    from ..runtime import resolve_device

    device = resolve_device(args.device or "cpu")
    ckpt = load_checkpoint(args.checkpoint, device=str(device))
    data = prepare_data(args.dataset or ckpt.dataset, args.data_dir)
    ds = data.dataset
    check_network_fits(ckpt.model.spec, ds)
    # Normalise with the statistics stored at training time, not this split's.
    x_test = ckpt.normalise(torch.from_numpy(ds.x_test).float())
    acc = evaluate(ckpt.model, x_test, data.y_test, device=device)
    print(f"{ds.name}: test accuracy {100 * acc:.2f} % ({len(x_test)} samples)")
    return 0
