# SPDX-License-Identifier: MIT
"""Network architectures as plain data: convolution and dense layers, their shapes and matrices.

An :class:`Architecture` is what the torch networks (``golden``), the crossbar mapping and the
cost model (``models``) and NIR import/export (``flows``) agree on, without torch: an input
shape, a sequence of :class:`ConvLayer` (3-D feature maps) and :class:`DenseLayer` (vectors),
the timesteps and the read-out. A convolution is followed by its spiking neurons and then,
optionally, by pooling; the first dense layer after a convolution sees the flattened map
(``C x H x W``, channel-major, as ``torch.flatten``).

On crossbars (:meth:`Architecture.matrices`) a convolution is unrolled as im2col: one matrix of
``k * k * C_in`` rows by ``C_out`` columns, read once per output position per timestep
(``H_conv * W_conv`` reads, before pooling); a dense layer is one ``n_in x n_out`` matrix read
once per timestep.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

__all__ = ["POOLS", "READOUTS_BY_VOTE", "ConvLayer", "DenseLayer", "Matrix", "Architecture"]

#: Pooling after a convolution's neurons (None: no pooling).
POOLS = ("max", "avg")
#: Read-outs: time-averaged output neurons, or the mean of ``vote_group`` neurons per class.
READOUTS_BY_VOTE = ("mean", "vote")


def _positive(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class ConvLayer:
    """A bias-free 2-D convolution, optional batch norm, spiking neurons, optional pooling.

    Members
    -------
    in_channels, out_channels : int
    kernel_size, stride, padding : int
        Square kernel, same stride and zero padding on both axes.
    batch_norm : bool
        Batch normalisation between the convolution and the neurons.
    pool : str or None
        ``"max"`` or ``"avg"`` pooling after the neurons, or None.
    pool_size : int
        Pooling window and stride.
    """

    in_channels: int
    out_channels: int
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1
    batch_norm: bool = False
    pool: str | None = None
    pool_size: int = 2

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "kernel_size", "stride", "pool_size"):
            _positive(getattr(self, name), name)
        _positive(self.padding, "padding", 0)
        if self.pool is not None and self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS} or None, not {self.pool!r}")

    def conv_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """``(C_out, H, W)`` after the convolution (and its neurons), before pooling."""
        channels, height, width = shape
        if channels != self.in_channels:
            raise ValueError(f"a convolution with {self.in_channels} input channels gets "
                             f"{channels}")
        size = [(n + 2 * self.padding - self.kernel_size) // self.stride + 1
                for n in (height, width)]
        if min(size) < 1:
            raise ValueError(f"a {self.kernel_size}x{self.kernel_size} kernel does not fit a "
                             f"{height}x{width} map (padding {self.padding})")
        return self.out_channels, size[0], size[1]

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """``(C_out, H, W)`` after pooling."""
        channels, height, width = self.conv_shape(shape)
        if self.pool is None:
            return channels, height, width
        if min(height, width) < self.pool_size:
            raise ValueError(f"{self.pool_size}x{self.pool_size} pooling does not fit a "
                             f"{height}x{width} map")
        return channels, height // self.pool_size, width // self.pool_size


@dataclass(frozen=True)
class DenseLayer:
    """A bias-free fully connected layer followed by spiking neurons."""

    n_in: int
    n_out: int

    def __post_init__(self) -> None:
        _positive(self.n_in, "n_in")
        _positive(self.n_out, "n_out")


@dataclass(frozen=True)
class Matrix:
    """One weight matrix as a crossbar sees it.

    Members
    -------
    name : str
        ``L0``, ``L1``, ... in layer order.
    rows, cols : int
        Inputs (``k * k * C_in`` for a convolution) and outputs (``C_out``).
    reads_per_timestep : int
        Input vectors per timestep: output positions for a convolution, 1 for a dense layer.
    """

    name: str
    rows: int
    cols: int
    reads_per_timestep: int


@dataclass(frozen=True)
class Architecture:
    """A spiking network as data.

    Members
    -------
    name : str
    input_shape : tuple of int
        ``(C, H, W)`` for a convolutional network, ``(F,)`` for an MLP.
    layers : tuple of ConvLayer or DenseLayer
    timesteps : int
    n_classes : int
    readout : str
        ``"mean"`` (the last layer has ``n_classes`` neurons) or ``"vote"`` (it has
        ``n_classes * vote_group``; a class's output is the mean of its group).
    vote_group : int
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[ConvLayer | DenseLayer, ...]
    timesteps: int
    n_classes: int
    readout: str = "mean"
    vote_group: int = 1

    def __post_init__(self) -> None:
        _positive(self.timesteps, "timesteps")
        _positive(self.n_classes, "n_classes")
        _positive(self.vote_group, "vote_group")
        if self.readout not in READOUTS_BY_VOTE:
            raise ValueError(f"readout must be one of {READOUTS_BY_VOTE}, not {self.readout!r}")
        if not self.layers:
            raise ValueError("an architecture needs at least one layer")
        outputs = self.n_classes * (self.vote_group if self.readout == "vote" else 1)
        last = self.layers[-1]
        if not isinstance(last, DenseLayer) or last.n_out != outputs:
            raise ValueError(f"the last layer must be dense with {outputs} outputs "
                             f"({self.readout} read-out of {self.n_classes} classes)")
        self.shapes()   # checks that the layers chain

    @classmethod
    def mlp(cls, layers, timesteps: int, name: str = "") -> "Architecture":
        """A fully connected network of sizes ``layers`` (input first)."""
        sizes = tuple(layers)
        return cls(name or "-".join(map(str, sizes)), (sizes[0],),
                   tuple(DenseLayer(a, b) for a, b in zip(sizes[:-1], sizes[1:])),
                   timesteps, sizes[-1])

    def to_dict(self) -> dict:
        """Plain data (str, int, bool, lists, dicts) for checkpoints and files; each layer
        carries ``"type": "conv"`` or ``"dense"``. :meth:`from_dict` reads it back."""
        layers = []
        for layer in self.layers:
            kind = "conv" if isinstance(layer, ConvLayer) else "dense"
            layers.append({"type": kind, **{f: getattr(layer, f)
                                            for f in layer.__dataclass_fields__}})
        return {"name": self.name, "input_shape": list(self.input_shape), "layers": layers,
                "timesteps": self.timesteps, "n_classes": self.n_classes,
                "readout": self.readout, "vote_group": self.vote_group}

    @classmethod
    def from_dict(cls, data: dict) -> "Architecture":
        """The inverse of :meth:`to_dict`; ``ValueError`` on a malformed description."""
        try:
            layers = []
            for item in data["layers"]:
                fields = {k: v for k, v in item.items() if k != "type"}
                kind = {"conv": ConvLayer, "dense": DenseLayer}[item["type"]]
                layers.append(kind(**fields))
            return cls(str(data["name"]), tuple(int(n) for n in data["input_shape"]),
                       tuple(layers), data["timesteps"], data["n_classes"], data["readout"],
                       data["vote_group"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an architecture description ({type(exc).__name__}: "
                             f"{exc})") from None

    @property
    def is_convolutional(self) -> bool:
        return any(isinstance(layer, ConvLayer) for layer in self.layers)

    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """``(input shape, output shape)`` of every layer; raises ``ValueError`` on a break."""
        out = []
        shape = tuple(self.input_shape)
        for index, layer in enumerate(self.layers):
            if isinstance(layer, ConvLayer):
                if len(shape) != 3:
                    raise ValueError(f"layer {index}: a convolution needs a (C, H, W) input, "
                                     f"not {shape}")
                new = layer.output_shape(shape)
            else:
                flat = 1
                for n in shape:
                    flat *= n
                if flat != layer.n_in:
                    raise ValueError(f"layer {index}: a dense layer with {layer.n_in} inputs "
                                     f"gets {flat} ({'x'.join(map(str, shape))})")
                new = (layer.n_out,)
            out.append((shape, new))
            shape = new
        return out

    def matrices(self) -> list[Matrix]:
        """The weight matrices in crossbar form (module docstring)."""
        out = []
        for index, (layer, (shape, _)) in enumerate(zip(self.layers, self.shapes())):
            if isinstance(layer, ConvLayer):
                _, height, width = layer.conv_shape(shape)
                out.append(Matrix(f"L{index}", layer.kernel_size ** 2 * layer.in_channels,
                                  layer.out_channels, height * width))
            else:
                out.append(Matrix(f"L{index}", layer.n_in, layer.n_out, 1))
        return out

    def neurons(self) -> list[int]:
        """Spiking neurons of every layer (a convolution's whole map, before pooling)."""
        sizes = []
        for layer, (shape, _) in zip(self.layers, self.shapes()):
            if isinstance(layer, ConvLayer):
                channels, height, width = layer.conv_shape(shape)
                sizes.append(channels * height * width)
            else:
                sizes.append(layer.n_out)
        return sizes

    @property
    def hidden_sizes(self) -> list[int]:
        """Neurons of every layer but the last: the sizes the DFA feedback matrices project
        the output error onto (their neurons come before any pooling)."""
        return self.neurons()[:-1]
