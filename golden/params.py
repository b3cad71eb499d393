# SPDX-License-Identifier: MIT
"""Torch-free parameters of the digital blocks, validated once for the golden models and the RTL.

Everything here is plain Python (numbers and frozen dataclasses), so the Amaranth blocks in
``rtl/`` import it without pulling in torch, and the bit-exact torch references in ``golden/``
re-export it. One check, one message: a parameter rejected by the RTL is rejected by the golden
model with the same ``TypeError`` / ``ValueError`` text (which always quotes the value with
``{value!r}``).

Upper bounds. Every integer parameter has one, so that an absurd request fails at construction
with a one-line error instead of elaborating (or hanging) for hours:

* :data:`MAX_WIDTH` (63 bits) for words: the golden models compute in ``int64``, and the sum of
  two 63-bit words still fits.
* :data:`MAX_LANES` (4096) for parallel lanes and the words of one memory row: Amaranth builds
  the datapath lane by lane in Python, and 4096 lanes (a 64 Kbit stream payload at 16 bits)
  already takes minutes to elaborate; the largest crossbar of the paper has 256 columns.
* :data:`MAX_DEPTH` (``2**20`` words) for memories (membrane store, gradient rows, ping-pong
  SRAM): 128 times the largest DFA_Sim Table II buffer (16 KB of 16-bit words is 8192 words);
  simulators and yosys model every word, so deeper memories only hang.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

from .papers import DFA_SIM_TABLE2

__all__ = [
    "MAX_WIDTH", "MAX_LANES", "MAX_DEPTH", "check_int", "check_width", "check_bool",
    "check_choice", "check_lanes", "check_depth", "int_range", "RESETS", "GradLIFParams",
    "READOUT_ROUNDINGS", "check_readout", "WGUParams", "PsumParams", "shift_add_sum_width",
    "ShiftAddParams", "GLOBAL_BUFFER_BYTES", "TILE_BUFFER_BYTES", "PE_BUFFER_BYTES",
    "buffer_depth", "PingPongParams",
]

#: Widest word any block or reference accepts: a sum of two 63-bit words still fits ``int64``.
MAX_WIDTH = 63
#: Most parallel lanes (and words per memory row) of a block; see the module docstring.
MAX_LANES = 4096
#: Deepest memory of a block, in words; see the module docstring.
MAX_DEPTH = 1 << 20


def check_int(value, *, name: str, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as a Python ``int`` after checking its type and bounds.

    Raises
    ------
    TypeError
        ``value`` is not an integer (``bool`` is rejected too).
    ValueError
        ``value`` lies outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, not {value!r}")
    return value


def check_width(width, *, name: str = "width", maximum: int = MAX_WIDTH) -> int:
    """Return ``width`` after checking it is an integer in ``[1, maximum]`` (default 63)."""
    return check_int(width, name=name, minimum=1, maximum=maximum)


def check_bool(value, *, name: str) -> bool:
    """Return ``value`` after checking it is a ``bool``; ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {value!r}")
    return value


def check_choice(value, *, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` after checking it is one of the strings ``choices``.

    Raises ``TypeError`` for a non-string and ``ValueError`` for an unknown string.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")
    return value


def check_lanes(value, *, name: str = "lanes") -> int:
    """Return a lane (or column) count after checking it is in ``[1, MAX_LANES]``."""
    return check_int(value, name=name, minimum=1, maximum=MAX_LANES)


def check_depth(value, *, name: str = "depth", minimum: int = 1, maximum: int = MAX_DEPTH,
                power_of_two: bool = False) -> int:
    """Return a memory depth in words after checking it is in ``[minimum, maximum]``.

    With ``power_of_two=True`` the depth must also be a power of two (address counters that
    wrap for free).
    """
    value = check_int(value, name=name, minimum=minimum, maximum=maximum)
    if power_of_two and value & (value - 1):
        raise ValueError(f"{name} must be a power of two, not {value!r}")
    return value


def int_range(width: int, *, signed: bool = True) -> tuple[int, int]:
    """Return ``(min, max)`` of a ``width``-bit word.

    ``signed=True``: ``[-2**(width-1), 2**(width-1) - 1]``; unsigned: ``[0, 2**width - 1]``.
    """
    width = check_width(width)
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


# -- GradLIF unit ---------------------------------------------------------------------------------

#: Membrane after a spike: 0 (``hard``), ``u - theta`` (``soft``) or ``u`` (``none``).
RESETS = ("hard", "soft", "none")


@dataclass(frozen=True, kw_only=True)
class GradLIFParams:
    """Arithmetic parameters of the GradLIF unit (all keyword-only, all validated).

    The RTL block ``rtl.neuron.GradLIF`` takes these plus ``lanes`` and ``max_timesteps``.

    Parameters
    ----------
    mem_width : int
        Membrane register width, signed, ``2 <= mem_width <= 62``. Default 16.
    frac_bits : int
        Fractional bits of membrane, current and threshold (``0 <= frac_bits <= 62``); it sets
        the meaning of the codes, not the datapath. Default 8 (LSB = 1/256).
    leak_shift : int
        ``k`` in ``leak = 1 - 2**-k``, ``0 <= k < mem_width``. ``k = 2`` gives 0.75 (default);
        ``k = 0`` means no leak (IF neuron), not ``leak = 0``.
    threshold : int or None
        Firing threshold code ``theta``, ``1 <= theta <= 2**(mem_width-1) - 1``. ``None``
        (default) means ``round(0.5 * 2**frac_bits)`` (ties to even), i.e. 0.5.
    reset : {"hard", "soft", "none"}
        Membrane after a spike: 0, ``u - theta`` or ``u``. Default ``"hard"`` (DFA_Sim eq. 2).
    current_width : int or None
        Width of the signed input current, ``1 <= current_width <= 62``; ``None`` (default)
        means ``mem_width``.
    sg_width : int or None
        Triangle half-width ``g`` as a code with ``frac_bits`` fraction bits,
        ``1 <= g <= 2**mem_width``. ``None`` (default) means ``2**frac_bits`` (g = 1.0).
    grad_shift : int or None
        Right shift applied to ``h * err``, ``0 <= grad_shift <= h_width + err_width``.
        ``None`` (default) means ``2*log2(g) - frac_bits``, the exact scale when ``err`` and
        ``delta`` share a binary point (see ``golden.grad_lif.grad_lif_backward_int``); that
        needs ``g`` to be a power of two with ``g**2 >= 2**frac_bits``. Default: 8.
    err_width : int
        Signed error input width, ``1 <= err_width <= 61``. Default 8.
    delta_width : int
        Signed delta output width, ``1 <= delta_width <= 62``. Default 8.

    Raises
    ------
    TypeError
        A width, shift or code is not an integer, or ``reset`` is not a string.
    ValueError
        A value is out of range (message names it), e.g. a threshold not representable in
        ``mem_width`` bits or ``h_width + err_width > 62``.
    """

    mem_width: int = 16
    frac_bits: int = 8
    leak_shift: int = 2
    threshold: int | None = None
    reset: str = "hard"
    current_width: int | None = None
    sg_width: int | None = None
    grad_shift: int | None = None
    err_width: int = 8
    delta_width: int = 8

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        narrow = MAX_WIDTH - 1
        mem = check_int(self.mem_width, name="mem_width", minimum=2, maximum=narrow)
        put("mem_width", mem)
        frac = check_int(self.frac_bits, name="frac_bits", minimum=0, maximum=narrow)
        put("frac_bits", frac)
        put("leak_shift", check_int(self.leak_shift, name="leak_shift", minimum=0,
                                    maximum=mem - 1))
        theta = round(math.ldexp(0.5, frac)) if self.threshold is None else self.threshold
        put("threshold", check_int(theta, name="threshold", minimum=1,
                                   maximum=int_range(mem)[1]))
        check_choice(self.reset, name="reset", choices=RESETS)
        cur = mem if self.current_width is None else self.current_width
        put("current_width", check_width(cur, name="current_width", maximum=narrow))
        g = (1 << frac) if self.sg_width is None else self.sg_width
        g = check_int(g, name="sg_width", minimum=1, maximum=1 << mem)
        put("sg_width", g)
        err = check_width(self.err_width, name="err_width", maximum=narrow - 1)
        put("err_width", err)
        put("delta_width", check_width(self.delta_width, name="delta_width", maximum=narrow))
        if self.h_width + err > narrow:
            raise ValueError(f"h_width + err_width = {self.h_width + err} exceeds {narrow} "
                             f"bits (sg_width={g!r}, err_width={err!r})")
        shift = self.grad_shift
        if shift is None:
            log2g = g.bit_length() - 1
            if g != 1 << log2g or 2 * log2g < frac:
                raise ValueError(f"sg_width={g!r} is not a power of two with "
                                 f"sg_width**2 >= 2**frac_bits; give grad_shift explicitly")
            shift = 2 * log2g - frac
        put("grad_shift", check_int(shift, name="grad_shift", minimum=0,
                                    maximum=self.h_width + err))

    @property
    def fmt(self):
        """Membrane format ``golden.fixed.FixedFormat(mem_width, frac_bits)``."""
        from .fixed import FixedFormat      # torch: only the golden models ask for formats

        return FixedFormat(self.mem_width, self.frac_bits)

    @property
    def current_fmt(self):
        """Current format ``golden.fixed.FixedFormat(current_width, frac_bits)``."""
        from .fixed import FixedFormat

        return FixedFormat(self.current_width, self.frac_bits)

    @property
    def leak(self) -> float:
        """Real leak factor ``1 - 2**-leak_shift`` (1.0 for ``leak_shift = 0``)."""
        return 1.0 if self.leak_shift == 0 else 1.0 - math.ldexp(1.0, -self.leak_shift)

    @property
    def sum_width(self) -> int:
        """Width of the signed adder ``leak(v) + I`` before saturation."""
        return max(self.mem_width, self.current_width) + 1

    @property
    def h_width(self) -> int:
        """Width of the unsigned surrogate code ``h`` (holds ``0 .. sg_width``)."""
        return self.sg_width.bit_length()

    @property
    def product_width(self) -> int:
        """Width of the signed product ``h * err``."""
        return self.h_width + self.err_width


# -- weight-gradient unit -------------------------------------------------------------------------

#: Rounding of the WGU readout shift: ``floor`` (arithmetic shift) or ``half_up`` (ties up).
READOUT_ROUNDINGS = ("floor", "half_up")


def check_readout(*, grad_width, shift, out_width,
                  rounding) -> tuple[int, int, int, str]:
    """Return ``(grad_width, shift, out_width, rounding)`` of a WGU readout, checked.

    ``grad_width`` and ``out_width`` (``None``: ``grad_width``) are ``1 .. 63``; ``shift`` is
    ``0 .. grad_width``, and at most 62 for ``"half_up"`` (its adder needs one more bit);
    ``rounding`` is one of :data:`READOUT_ROUNDINGS`.
    """
    grad_width = check_width(grad_width, name="grad_width")
    rounding = check_choice(rounding, name="rounding", choices=READOUT_ROUNDINGS)
    max_shift = grad_width if rounding == "floor" else min(grad_width, MAX_WIDTH - 1)
    shift = check_int(shift, name="shift", minimum=0, maximum=max_shift)
    out_width = grad_width if out_width is None else check_width(out_width, name="out_width")
    return grad_width, shift, out_width, rounding


@dataclass(frozen=True, kw_only=True)
class WGUParams:
    """Parameters of the SRAM weight-gradient unit (all keyword-only, all validated).

    Parameters
    ----------
    rows : int
        Gradient rows (``out`` neurons; the memory depth), ``1 .. MAX_DEPTH``.
    cols : int
        Gradient words per row (``in`` neurons), ``1 .. MAX_LANES``.
    grad_width : int
        Signed width of a gradient word, ``1 .. 63``. Default 16.
    delta_width : int
        Signed width of ``delta``, ``1 .. 62``. Default 8 (``GradLIFParams.delta_width``).
    shift : int
        Readout right shift, ``0 .. grad_width`` (``"half_up"``: at most 62). Default 0.
    out_width : int or None
        Signed width of the readout words, ``1 .. 63``; ``None`` (default) means
        ``grad_width``.
    rounding : {"floor", "half_up"}
        Readout rounding (:data:`READOUT_ROUNDINGS`). Default ``"floor"``.

    Raises
    ------
    TypeError
        A count, width or shift is not an integer, or ``rounding`` is not a string.
    ValueError
        A value is out of range or ``rounding`` is unknown.
    """

    rows: int
    cols: int
    grad_width: int = 16
    delta_width: int = 8
    shift: int = 0
    out_width: int | None = None
    rounding: str = "floor"

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "rows", check_depth(self.rows, name="rows"))
        put(self, "cols", check_lanes(self.cols, name="cols"))
        put(self, "delta_width", check_width(self.delta_width, name="delta_width",
                                             maximum=MAX_WIDTH - 1))
        grad_width, shift, out_width, rounding = check_readout(
            grad_width=self.grad_width, shift=self.shift, out_width=self.out_width,
            rounding=self.rounding)
        put(self, "grad_width", grad_width)
        put(self, "shift", shift)
        put(self, "out_width", out_width)


# -- partial-sum accumulator and shift-adder ------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class PsumParams:
    """Parameters of the tile partial-sum accumulator (keyword-only, validated).

    Parameters
    ----------
    lanes : int
        Parallel lanes (output columns), ``1 .. MAX_LANES``.
    in_width : int
        Signed width of the input codes, ``1 .. acc_width``. Default 16.
    acc_width : int
        Signed width of the accumulators and output sums, ``in_width .. 63``. Default 16.

    Raises
    ------
    TypeError
        A parameter is not an integer.
    ValueError
        A parameter is out of range, or ``acc_width < in_width``.
    """

    lanes: int
    in_width: int = 16
    acc_width: int = 16

    def __post_init__(self) -> None:
        object.__setattr__(self, "lanes", check_lanes(self.lanes))
        in_width = check_width(self.in_width, name="in_width")
        acc_width = check_width(self.acc_width, name="acc_width")
        if acc_width < in_width:
            raise ValueError(f"acc_width must be >= in_width ({in_width!r}), not {acc_width!r}")
        object.__setattr__(self, "in_width", in_width)
        object.__setattr__(self, "acc_width", acc_width)


def shift_add_sum_width(*, slices: int, slice_bits: int, code_width: int) -> int:
    """Return the signed width ``code_width + slice_bits * (slices - 1) + 1`` of the exact
    shift-add sum, after checking it is at most :data:`MAX_WIDTH` (``ValueError`` naming the
    slice count otherwise)."""
    width = code_width + slice_bits * (slices - 1) + 1
    if width > MAX_WIDTH:
        raise ValueError(f"{slices!r} slices of {slice_bits!r} bits with code_width="
                         f"{code_width!r} need a {width}-bit sum, more than {MAX_WIDTH} bits")
    return width


@dataclass(frozen=True, kw_only=True)
class ShiftAddParams:
    """Parameters of the PE shift-adder (keyword-only, validated).

    Parameters
    ----------
    lanes : int
        Parallel lanes (output columns), ``1 .. MAX_LANES``.
    slices : int
        Bit slices ``S`` per weight, ``>= 1`` (bounded by the 63-bit exact sum).
    slice_bits : int
        Significance step between slices (bits per RRAM cell), ``1 .. 32``. Default 4.
    code_width : int or None
        Signed width of a slice code, ``1 .. acc_width``. ``None`` (default): 5, or
        ``adc_bits + 1`` in differential mode (where any other value is rejected).
    acc_width : int
        Signed output width, ``code_width .. 63``. Default 16.
    adc_bits : int or None
        ADC code width, ``1 .. 61``; selects differential mode. Default ``None``.

    Raises
    ------
    TypeError
        A parameter is not an integer (or ``None`` where allowed).
    ValueError
        A parameter is out of range, ``acc_width < code_width``, ``code_width`` does not
        match ``adc_bits``, or the exact sum needs more than 63 bits.
    """

    lanes: int
    slices: int
    slice_bits: int = 4
    code_width: int | None = None
    acc_width: int = 16
    adc_bits: int | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "lanes", check_lanes(self.lanes))
        put(self, "slices", check_int(self.slices, name="slices", minimum=1,
                                      maximum=MAX_WIDTH))
        put(self, "slice_bits", check_int(self.slice_bits, name="slice_bits", minimum=1,
                                          maximum=32))
        code_width = self.code_width
        if self.adc_bits is not None:
            adc = check_width(self.adc_bits, name="adc_bits", maximum=MAX_WIDTH - 2)
            put(self, "adc_bits", adc)
            if code_width is not None and code_width != adc + 1:
                check_int(code_width, name="code_width", minimum=1)
                raise ValueError(f"code_width must be adc_bits + 1 = {adc + 1} in "
                                 f"differential mode, not {code_width!r}")
            code_width = adc + 1
        elif code_width is None:
            code_width = 5
        code_width = check_width(code_width, name="code_width")
        acc_width = check_width(self.acc_width, name="acc_width")
        if acc_width < code_width:
            raise ValueError(f"acc_width must be >= code_width ({code_width!r}), "
                             f"not {acc_width!r}")
        put(self, "code_width", code_width)
        put(self, "acc_width", acc_width)
        shift_add_sum_width(slices=self.slices, slice_bits=self.slice_bits,
                            code_width=code_width)

    @property
    def differential(self) -> bool:
        """Whether the input carries ``pos``/``neg`` ADC code pairs."""
        return self.adc_bits is not None

    @property
    def sum_width(self) -> int:
        """Signed width of the exact internal sum, ``code_width + slice_bits * (S - 1) + 1``."""
        return shift_add_sum_width(slices=self.slices, slice_bits=self.slice_bits,
                                   code_width=self.code_width)


# -- buffers --------------------------------------------------------------------------------------

#: DFA_Sim Table II buffer capacities in bytes (:data:`golden.papers.DFA_SIM_TABLE2`): global
#: 16 KB, tile 4 KB, PE 1 KB.
GLOBAL_BUFFER_BYTES = round(DFA_SIM_TABLE2["global_buffer_kb"] * 1024)
TILE_BUFFER_BYTES = round(DFA_SIM_TABLE2["tile_buffer_kb"] * 1024)
PE_BUFFER_BYTES = round(DFA_SIM_TABLE2["pe_buffer_kb"] * 1024)


def buffer_depth(size_bytes: int, word_bits: int) -> int:
    """Return the depth in words of a ``size_bytes`` SRAM with ``word_bits``-bit words.

    The depth is the largest power of two not above ``size_bytes * 8 // word_bits`` (bits that
    do not fill a power-of-two depth stay unused), so addresses are ``log2(depth)``-bit
    counters that wrap for free. E.g. 16 KB of 16-bit words: 8192; 1 KB of 24-bit words: 256.

    ``word_bits`` may exceed 63 here (wide SRAM words); the data models hold up to 63 bits.

    Raises
    ------
    TypeError
        An argument is not an integer.
    ValueError
        ``size_bytes`` or ``word_bits`` is not positive, or a single word does not fit.
    """
    size_bytes = check_int(size_bytes, name="size_bytes", minimum=1)
    word_bits = check_int(word_bits, name="word_bits", minimum=1)
    words = size_bytes * 8 // word_bits
    if words < 1:
        raise ValueError(f"a {word_bits!r}-bit word does not fit in {size_bytes!r} bytes")
    return 1 << (words.bit_length() - 1)


@dataclass(frozen=True, kw_only=True)
class PingPongParams:
    """Parameters of the ping-pong (double-buffered) SRAM (keyword-only, validated).

    Parameters
    ----------
    depth : int
        Total depth in words, a power of two in ``2 .. MAX_DEPTH`` (two banks of ``depth/2``;
        :func:`buffer_depth` derives it from a byte size).
    width : int
        Word width in bits, ``1 .. 63``. Default 16.
    signed : bool
        Whether words are two's complement. Default False.

    Raises
    ------
    TypeError
        ``depth`` or ``width`` is not an integer, or ``signed`` is not a bool.
    ValueError
        ``depth`` is out of range or not a power of two, or ``width`` is out of range.
    """

    depth: int
    width: int = 16
    signed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", check_depth(self.depth, minimum=2,
                                                      power_of_two=True))
        object.__setattr__(self, "width", check_width(self.width))
        check_bool(self.signed, name="signed")

    @property
    def bank_depth(self) -> int:
        """Words per bank, ``depth / 2``."""
        return self.depth // 2
