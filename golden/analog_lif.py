# SPDX-License-Identifier: MIT
"""Discrete-time analog LIF layer with the dynamics of the analog-neuron macro, trainable by BPTT.

The behavioural neuron (``models/macro/neuron.py``) is an RC membrane driven by a TIA pair:
``C dV/dt = -g V + a I`` with ``I`` the differential column current (A) and ``a`` the TIA's
current gain, the membrane clamped at ground. With ``I`` constant over a bin of width ``dt``
the exact solution at the bin's end is

    ``V(t0 + dt) = beta * V(t0) + (1 - beta) * (a / g) * I``,  ``beta = exp(-dt / tau)``,
    ``tau = C / g``,

and this layer applies exactly that update once per bin:

    ``u[t] = beta * v[t-1] + r * I[t]``        ``r = (1 - beta) * a / g``  (V/A)
    ``s[t] = H(u[t] - v_th)``                  (fires when ``u >= v_th``)
    ``v[t] = v_reset`` if ``s[t]``, else ``max(u[t], v_floor)``
    after a spike the membrane is held at ``v_reset`` for ``refractory_bins`` further bins.

Where it is exact. Under piecewise-constant input the membrane moves monotonically within a bin
(towards ``(a / g) I``), so the continuous neuron crosses the threshold inside bin ``t`` exactly
when ``u[t] >= v_th``: the bin of the first crossing is always the same. Clamping at the floor
at the bin's end equals clamping during it for the same reason. What differs is the time after a
crossing: the circuit resets at the crossing time ``t*`` and, after ``t_ref``, integrates the
rest of the bin (and may fire again in it); this layer resets at the bin's end. The two are
identical when the circuit's refractory period is *aligned* to the bins (held at reset to the
end of the crossing's bin and then ``ceil(t_ref / dt)`` whole bins, the ``"aligned"`` mode of
the behavioural neuron) -- then every bin's state and spike agree, up to floating-point ties at
the threshold. ``beta`` and ``r`` are invariant under the macro's time scaling (``dt``, ``C``
and ``t_ref`` all divided by ``k``), so one trained layer serves every ``k``.

Weights are in units of the full-scale conductance difference, ``w = (G+ - G-) / G_max`` in
``[-1, 1]``; the differential column current is ``I = (V_read * G_max) * x @ w.T`` for row drive
``x`` in ``[0, 1]`` (the fraction of the bin a row is driven). Hardware-aware training
(:class:`HardwareAwareConfig`) quantises ``w`` to the macro's differential states with a
straight-through gradient and injects device spread and stuck-off devices in the forward pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .params import check_int
from .surrogate import Surrogate, spike

__all__ = ["AnalogLIFParams", "HardwareAwareConfig", "analog_lif_forward",
           "quantise_differential", "device_conductances", "AnalogLIFLayer"]


def _finite(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class AnalogLIFParams:
    """Per-bin constants of the discrete analog LIF update.

    Members
    -------
    beta : float
        Membrane decay per bin, ``exp(-dt / tau)``, in ``(0, 1]``.
    input_gain_v_per_a : float
        ``r = (1 - beta) * tia_gain / g_leak``, V of membrane per A of differential column
        current held for one bin.
    v_th : float
        Threshold, V; fires when ``u >= v_th``.
    v_reset : float
        Reset voltage, V, in ``[v_floor, v_th)``.
    v_floor : float
        Lower rail of the membrane, V (ground).
    refractory_bins : int
        Whole bins held at reset after a spike's bin.
    surrogate : Surrogate
        Surrogate gradient of the spike, as a function of ``u - v_th`` in volts. Triangle of
        width 0.5 V (chosen: the macro's default threshold, so the gradient spans ``[0, 1] V``).
    """

    beta: float
    input_gain_v_per_a: float
    v_th: float
    v_reset: float = 0.0
    v_floor: float = 0.0
    refractory_bins: int = 0
    surrogate: Surrogate = field(default_factory=lambda: Surrogate("triangle", 0.5))

    def __post_init__(self) -> None:
        beta = _finite(self.beta, "beta")
        if not 0.0 < beta <= 1.0:
            raise ValueError(f"beta must be in (0, 1], not {self.beta!r}")
        if _finite(self.input_gain_v_per_a, "input_gain_v_per_a") <= 0:
            raise ValueError(f"input_gain_v_per_a must be positive, not "
                             f"{self.input_gain_v_per_a!r}")
        v_th, v_reset = _finite(self.v_th, "v_th"), _finite(self.v_reset, "v_reset")
        v_floor = _finite(self.v_floor, "v_floor")
        if not v_floor <= v_reset < v_th:
            raise ValueError(f"need v_floor <= v_reset < v_th, not {v_floor!r}, {v_reset!r}, "
                             f"{v_th!r}")
        check_int(self.refractory_bins, name="refractory_bins", minimum=0)
        if not isinstance(self.surrogate, Surrogate):
            raise TypeError(f"surrogate must be a Surrogate, not {self.surrogate!r}")


@dataclass(frozen=True)
class HardwareAwareConfig:
    """The macro's devices as seen by hardware-aware training.

    Values come from the macro's PE description (``models/macro/config.py``, ``PEConfig``;
    convert with ``models.macro.pe.hardware_aware``); they are not repeated here.

    Members
    -------
    levels : int
        Conductance states per device; a weight has ``2 * levels - 1`` values.
    g_max_us : float
        Highest state, µS; states are ``0, step, ..., (levels - 1) * step``.
    g_off_us : float
        Off-state (state 0 and stuck-off) conductance bound, µS: uniform in ``[0, g_off_us)``.
    sigma_us : float
        Gaussian programming spread of a programmed device, µS.
    stuck_off_fraction : float
        Fraction of devices stuck off.
    """

    levels: int
    g_max_us: float
    g_off_us: float
    sigma_us: float
    stuck_off_fraction: float

    def __post_init__(self) -> None:
        check_int(self.levels, name="levels", minimum=2)
        if _finite(self.g_max_us, "g_max_us") <= 0:
            raise ValueError(f"g_max_us must be positive, not {self.g_max_us!r}")
        for name in ("g_off_us", "sigma_us"):
            if _finite(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)!r}")
        if not 0.0 <= _finite(self.stuck_off_fraction, "stuck_off_fraction") <= 1.0:
            raise ValueError(f"stuck_off_fraction must be in [0, 1], not "
                             f"{self.stuck_off_fraction!r}")

    @property
    def step_us(self) -> float:
        """Spacing of adjacent states, µS."""
        return self.g_max_us / (self.levels - 1)


def analog_lif_forward(current: torch.Tensor, params: AnalogLIFParams,
                       v0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run analog LIF neurons over ``T`` bins.

    Parameters
    ----------
    current : Tensor, shape ``(T, ..., N)``
        Differential column current per bin, A.
    params : AnalogLIFParams
    v0 : Tensor, optional
        Initial membrane, V (``v_floor`` by default).

    Returns
    -------
    spikes, membrane : Tensor, shape ``(T, ..., N)``
        Spikes (0/1) and the membrane ``u[t]`` before reset, V (``v_reset`` while refractory).
    """
    if current.ndim < 1 or current.shape[0] < 1:
        raise ValueError(f"current must have a leading time axis, not shape "
                         f"{tuple(current.shape)}")
    p = params
    v = torch.full_like(current[0], p.v_floor) if v0 is None else v0
    hold = torch.zeros_like(current[0], dtype=torch.int64)
    spikes, membrane = [], []
    for t in range(current.shape[0]):
        held = hold > 0
        u = p.beta * v + p.input_gain_v_per_a * current[t]
        u = torch.where(held, torch.full_like(u, p.v_reset), u)
        s = spike(u - p.v_th, p.surrogate, inclusive=True) * (~held).to(u.dtype)
        floor = torch.clamp(u, min=p.v_floor)
        v = s * p.v_reset + (1.0 - s) * floor
        fired = s.detach() > 0
        hold = torch.where(fired, torch.full_like(hold, p.refractory_bins),
                           torch.clamp(hold - 1, min=0))
        spikes.append(s)
        membrane.append(u)
    return torch.stack(spikes), torch.stack(membrane)


def device_conductances(q: torch.Tensor, hw: HardwareAwareConfig,
                        generator: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Read conductances ``(G+, G-)`` in µS of differential pairs holding signed states ``q``.

    ``q > 0`` programs the positive device to state ``q`` and leaves the negative one off;
    ``q < 0`` the reverse. A programmed device reads ``q * step + N(0, sigma)`` (clipped at
    0 µS); an off device, or any device that is stuck off, reads ``U[0, g_off)``.
    """
    q = q.detach().to(torch.int64)
    dtype = torch.float64

    def one(k: torch.Tensor) -> torch.Tensor:
        shape, dev = k.shape, k.device
        spread = torch.randn(shape, generator=generator, dtype=dtype, device=dev) * hw.sigma_us
        on = torch.clamp(k.to(dtype) * hw.step_us + spread, min=0.0)
        off = torch.rand(shape, generator=generator, dtype=dtype, device=dev) * hw.g_off_us
        stuck = torch.rand(shape, generator=generator, dtype=dtype, device=dev) \
            < hw.stuck_off_fraction
        return torch.where((k > 0) & ~stuck, on, off)

    return one(torch.clamp(q, min=0)), one(torch.clamp(-q, min=0))


def quantise_differential(w: torch.Tensor, hw: HardwareAwareConfig, noisy: bool = True,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Weights ``w`` (units of ``G_max``) as the macro holds them, with a straight-through
    gradient.

    ``q = round(clamp(w, -1, 1) * (levels - 1))``; the forward value is ``q / (levels - 1)``, or
    with ``noisy`` the read-back ``(G+ - G-) / G_max`` of :func:`device_conductances`; the
    backward pass is the identity inside ``[-1, 1]`` and zero outside (the clamp's gradient).
    """
    unit = hw.levels - 1
    wc = torch.clamp(w, -1.0, 1.0)
    q = torch.round(wc.detach() * unit)
    target = q / unit
    if noisy:
        g_pos, g_neg = device_conductances(q, hw, generator)
        target = ((g_pos - g_neg) / hw.g_max_us).to(w.dtype)
    return wc + (target.to(w.dtype) - wc).detach()


class AnalogLIFLayer(torch.nn.Module):
    """Fully connected layer of analog LIF neurons on differential conductance pairs.

    Parameters
    ----------
    in_features, out_features : int
    params : AnalogLIFParams
    current_per_weight_a : float
        Column current of one unit weight on a fully driven row, A: ``V_read * G_max``
        (0.2 V x 150 µS = 30 µA for the macro).
    hardware : HardwareAwareConfig, optional
        Quantise (and, with ``noisy``, perturb) the weights in the forward pass.
    noisy : bool
        With ``hardware``: inject device spread and stuck-off devices (a fresh draw per call).
    generator : torch.Generator, optional
        For the device draws.

    Members
    -------
    weight : Parameter, shape ``(out_features, in_features)``
        ``(G+ - G-) / G_max``; initialised uniform in ``±1 / sqrt(in_features)``.
    """

    def __init__(self, in_features: int, out_features: int, params: AnalogLIFParams,
                 current_per_weight_a: float, hardware: HardwareAwareConfig | None = None,
                 noisy: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_int(in_features, name="in_features", minimum=1)
        check_int(out_features, name="out_features", minimum=1)
        if _finite(current_per_weight_a, "current_per_weight_a") <= 0:
            raise ValueError(f"current_per_weight_a must be positive, not "
                             f"{current_per_weight_a!r}")
        self.params = params
        self.current_per_weight_a = float(current_per_weight_a)
        self.hardware = hardware
        self.noisy = noisy
        self.generator = generator
        bound = 1.0 / math.sqrt(in_features)
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features).uniform_(
            -bound, bound))

    def effective_weight(self) -> torch.Tensor:
        """The weight the forward pass uses (quantised / perturbed with ``hardware``)."""
        if self.hardware is None:
            return self.weight
        return quantise_differential(self.weight, self.hardware, self.noisy, self.generator)

    def current(self, x: torch.Tensor) -> torch.Tensor:
        """Differential column currents, A, for row drive ``x`` of shape ``(T, ..., in)``."""
        return self.current_per_weight_a * (x @ self.effective_weight().t())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Spikes and membranes ``(T, ..., out)`` for row drive ``x`` ``(T, ..., in)``."""
        if x.shape[-1] != self.weight.shape[1]:
            raise ValueError(f"input has {x.shape[-1]} features, the layer takes "
                             f"{self.weight.shape[1]}")
        return analog_lif_forward(self.current(x), self.params)
