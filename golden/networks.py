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
  authors upsample the 40 Hz analog recording x2; the ``braille`` dataset cuts every letter to
  its shortest length, 76 samples (``shared/datasets/events/README.md``), so T = 2 x 76 = 152,
  chosen).
* dfasim's own defaults for datasets the papers do not use (BasicMotions, digits).

Convolutional networks are :class:`~dfasim.golden.architecture.Architecture` objects in
:data:`ARCHITECTURES` (PipeSDFA's DVS-Gesture ConvNet and VGG11); :func:`architecture_of` turns
any network name or dash form into an Architecture. They are not layer-size tuples, so
:func:`parse_network` refuses them with a line that says so.

* ``pipesdfa-dvsgesture-convnet``: five ``Conv3x3 (padding 1) + BN + neuron + MaxPool2`` blocks
  2 -> 32 -> 64 -> 128 -> 128 -> 128 on 2 x 128 x 128 frames (4 x 4 x 128 = 2048 features), then
  FC 2048 -> 1024 and FC 1024 -> 110, a vote of 10 neurons per class over the 11 gestures;
  T = 30. (The authors' code is built on spikingjelly's DVS-Gesture example, which also has
  dropout before each FC layer; dfasim has no dropout.)
* ``pipesdfa-dvsgesture-vgg11``: VGG11's feature stack (64, M, 128, M, 256, 256, M, 512, 512, M,
  512, 512, M; 3x3 convolutions with padding 1, no batch norm, max pooling 2) on 2 x 128 x 128
  (4 x 4 x 512 = 8192 features), T = 30. Its classifier head is not in the sources; dfasim's
  choice is one FC layer 8192 -> n_classes x 10 with the same vote of 10 as the ConvNet.
  :func:`vgg11` builds it for other inputs and class counts (e.g. N-Caltech101).
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from .architecture import Architecture, ConvLayer, DenseLayer

__all__ = ["NamedNetwork", "NETWORKS", "NamedArchitecture", "ARCHITECTURES", "parse_network",
           "format_layers", "check_layers", "architecture_of", "vgg11", "dvs_gesture_convnet",
           "VGG11_FEATURES"]


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
    NamedNetwork("braille", (4, 200, 200, 27), 152, "braille",
                 "dfasim default: PipeSDFA's Braille MLP with one output per class of the "
                 "offline recording (27: space and A-Z; the paper's network has 28 outputs)"),
    NamedNetwork("pipesdfa-braille", (4, 200, 200, 28), 152, "braille",
                 f"{_PIPESDFA}: Braille (IF); T chosen, see module docstring"),
)}


@dataclass(frozen=True)
class NamedArchitecture:
    """A convolutional network by name: its :class:`Architecture`, dataset and source."""

    name: str
    architecture: Architecture
    dataset: str
    source: str

    @property
    def timesteps(self) -> int:
        return self.architecture.timesteps


#: VGG11's feature stack: output channels of each 3x3 convolution, ``"M"`` a 2x2 max pool.
VGG11_FEATURES = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def dvs_gesture_convnet(input_shape=(2, 128, 128), n_classes: int = 11, timesteps: int = 30,
                        channels=(32, 64, 128, 128, 128), hidden: int = 1024,
                        vote_group: int = 10, name: str = "pipesdfa-dvsgesture-convnet"
                        ) -> Architecture:
    """PipeSDFA's DVS-Gesture ConvNet (module docstring); smaller variants for tests."""
    c, h, w = input_shape
    layers = []
    for out in channels:
        layers.append(ConvLayer(c, out, 3, 1, 1, batch_norm=True, pool="max", pool_size=2))
        c, h, w = out, h // 2, w // 2
    layers += [DenseLayer(c * h * w, hidden), DenseLayer(hidden, n_classes * vote_group)]
    return Architecture(name, tuple(input_shape), tuple(layers), timesteps, n_classes, "vote",
                        vote_group)


def vgg11(input_shape=(2, 128, 128), n_classes: int = 11, timesteps: int = 30,
          vote_group: int = 10, features=VGG11_FEATURES, batch_norm: bool = False,
          name: str = "vgg11") -> Architecture:
    """VGG11 without batch norm and dfasim's head: FC to ``n_classes * vote_group``, vote."""
    c, h, w = input_shape
    layers: list = []
    for item in features:
        if item == "M":
            last = layers[-1]
            layers[-1] = ConvLayer(last.in_channels, last.out_channels, 3, 1, 1,
                                   batch_norm=last.batch_norm, pool="max", pool_size=2)
            h, w = h // 2, w // 2
        else:
            layers.append(ConvLayer(c, int(item), 3, 1, 1, batch_norm=batch_norm))
            c = int(item)
    layers.append(DenseLayer(c * h * w, n_classes * vote_group))
    return Architecture(name, tuple(input_shape), tuple(layers), timesteps, n_classes, "vote",
                        vote_group)


#: Every named convolutional network.
ARCHITECTURES: dict[str, NamedArchitecture] = {n.name: n for n in (
    NamedArchitecture("pipesdfa-dvsgesture-convnet", dvs_gesture_convnet(), "dvs_gesture",
                      f"{_PIPESDFA}: DVS Gesture, 5 conv + 2 FC, T = 30; channels and FC width "
                      f"as described in the paper's code"),
    NamedArchitecture("pipesdfa-dvsgesture-vgg11",
                      vgg11(name="pipesdfa-dvsgesture-vgg11"), "dvs_gesture",
                      f"{_PIPESDFA}: DVS Gesture, VGG11, T = 30; head (FC to 11 x 10, vote) "
                      f"chosen by dfasim"),
)}


def architecture_of(text, timesteps: int | None = None) -> Architecture:
    """The :class:`Architecture` of a network name (convolutional or MLP), a dash form or a
    sequence of layer sizes; ``timesteps`` overrides the named network's (required for a dash
    form).

    Raises
    ------
    ValueError
        An unknown name, or a dash form without timesteps.
    """
    key = text.strip() if isinstance(text, str) else None
    if key in ARCHITECTURES:
        arch = ARCHITECTURES[key].architecture
        if timesteps is None or timesteps == arch.timesteps:
            return arch
        return Architecture(arch.name, arch.input_shape, arch.layers, int(timesteps),
                            arch.n_classes, arch.readout, arch.vote_group)
    layers = parse_network(text)
    if timesteps is None:
        if key not in NETWORKS:
            raise ValueError(f"network {text!r} needs its timesteps")
        timesteps = NETWORKS[key].timesteps
    return Architecture.mlp(layers, int(timesteps), name=key if key in NETWORKS else "")


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
    if key in ARCHITECTURES:
        raise ValueError(f"{key} is a convolutional network, not a sequence of layer sizes "
                         f"(golden.networks.architecture_of gives its Architecture)")
    parts = key.split("-")
    if not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"network must be layer sizes joined by dashes (e.g. 9-128-64-32-6) or "
                         f"one of {', '.join(NETWORKS)}, not {text!r}")
    return check_layers(int(p) for p in parts)


def format_layers(layers) -> str:
    """The dash form ``9-128-64-32-6`` of a sequence of layer sizes."""
    return "-".join(str(int(n)) for n in layers)
