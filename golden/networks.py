# SPDX-License-Identifier: MIT
"""Named networks (the papers' and the datasets' defaults) and the one network syntax.

A network is written everywhere as its layer sizes joined by dashes, input first
(``9-128-64-32-6``), or by name (``uci_har``, ``pipesdfa-nmnist-3fc``). :func:`parse_network`
reads both; :func:`format_layers` writes the dash form. Torch-free, so the command line can
offer the names without importing torch.

Sources of the published shapes (numbers in ``shared/REFERENCE.md``):

* DFA_Sim Table I (arXiv 2502.06736): Fashion-MNIST, UCI-HAR and HHAR MLPs.
* PipeSDFA (arXiv 2507.15603), its accuracy table: the N-MNIST MLPs 2312-1000x(L-1)-10 for
  L = 2..5 at T = 10, SHD 700-100-100-20 at T = 100, Braille 4-200-200-28 (T not given: the
  authors upsample the 40 Hz analog recording x2, and its letters are 76-77 samples long
  (``shared/datasets/events/README.md``), so the default here is 2 x 77 = 154 steps, chosen).
* dfasim's own defaults for datasets the papers do not use (BasicMotions, digits).
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

__all__ = ["NamedNetwork", "NETWORKS", "parse_network", "format_layers", "check_layers"]


@dataclass(frozen=True)
class NamedNetwork:
    """A network shape with its timesteps and where it comes from.

    Members
    -------
    name : str
        Registry key.
    layers : tuple of int
        Layer sizes, input first.
    timesteps : int
        ``T`` the source uses.
    dataset : str
        Dataset the network is for (a ``dfasim data list`` name where dfasim has it).
    source : str
        Paper and table, or ``"dfasim default"`` with the reason.
    """

    name: str
    layers: tuple[int, ...]
    timesteps: int
    dataset: str
    source: str


_DFA_SIM = "DFA_Sim (arXiv 2502.06736) Table I"
_PIPESDFA = "PipeSDFA (arXiv 2507.15603) accuracy table"


def _nmnist(fc_layers: int) -> NamedNetwork:
    layers = (2312, *([1000] * (fc_layers - 1)), 10)
    return NamedNetwork(f"pipesdfa-nmnist-{fc_layers}fc", layers, 10, "nmnist",
                        f"{_PIPESDFA}: N-MNIST, L = {fc_layers}")


#: Every named network. Dataset names map to the network ``dfasim train`` uses by default.
NETWORKS: dict[str, NamedNetwork] = {n.name: n for n in (
    NamedNetwork("fashion_mnist", (784, 512, 256, 128, 64, 10), 5, "fashion_mnist", _DFA_SIM),
    NamedNetwork("uci_har", (9, 128, 64, 32, 6), 128, "uci_har", _DFA_SIM),
    NamedNetwork("hhar", (6, 256, 128, 64, 6), 100, "hhar", _DFA_SIM),
    NamedNetwork("basic_motions", (6, 256, 128, 64, 4), 100, "basic_motions",
                 "dfasim default: the HHAR network (same 6 channels x 100) with 4 outputs"),
    NamedNetwork("digits", (64, 256, 128, 10), 5, "digits",
                 "dfasim default: a small MLP for the 8 x 8 scikit-learn digits"),
    *(_nmnist(fc) for fc in (2, 3, 4, 5)),
    NamedNetwork("pipesdfa-shd", (700, 100, 100, 20), 100, "shd", f"{_PIPESDFA}: SHD (IF)"),
    NamedNetwork("pipesdfa-braille", (4, 200, 200, 28), 154, "braille",
                 f"{_PIPESDFA}: Braille (IF); T chosen, see module docstring"),
)}


def check_layers(layers) -> tuple[int, ...]:
    """Return ``layers`` as a tuple of ints after checking it holds at least two positive
    integers (numpy integers included)."""
    sizes = tuple(layers)
    if len(sizes) < 2 or any(isinstance(n, bool) or not isinstance(n, Integral) or n < 1
                             for n in sizes):
        raise ValueError(f"a network needs at least two positive layer sizes, not {layers!r}")
    return tuple(int(n) for n in sizes)


def parse_network(text) -> tuple[int, ...]:
    """Layer sizes of ``text``: a name of :data:`NETWORKS` or sizes joined by dashes.

    A sequence of ints is checked and returned as a tuple.

    Raises
    ------
    ValueError
        One line naming the text and the accepted forms.
    """
    if not isinstance(text, str):
        return check_layers(text)
    key = text.strip()
    if key in NETWORKS:
        return NETWORKS[key].layers
    parts = key.split("-")
    if not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"network must be layer sizes joined by dashes (e.g. 9-128-64-32-6) or "
                         f"one of {', '.join(NETWORKS)}, not {text!r}")
    return check_layers(int(p) for p in parts)


def format_layers(layers) -> str:
    """The dash form ``9-128-64-32-6`` of a sequence of layer sizes."""
    return "-".join(str(int(n)) for n in layers)
