# SPDX-License-Identifier: MIT
"""Activity counters of the behavioural accelerator model, per layer and per phase.

The crossbar and network models count events instead of energy, so a cost model can price them
later with cited per-event constants. Every counter is an integer; its unit is listed in
:data:`UNITS`. Counters are keyed by ``(layer, phase)``: ``layer`` is the name of a weight matrix
(``"L0"``, ``"L1"``, ... for network layers, ``"B0"``, ... for DFA feedback matrices) and
``phase`` one of :data:`PHASES`; ``AnalogSNN`` also uses ``"calibrate"`` (ADC range set-up) and
``"inference"`` (``evaluate``), which a training-cost report leaves out.

Buffer traffic is counted in whole bytes per vector (``ceil(bits / 8)``), since buffers are
byte-addressed. Word widths: spikes 1 bit, partial sums and membranes 16 bits (the ``acc_width``
and ``mem_width`` defaults of ``golden/psum.py`` and ``golden/grad_lif.py``), errors
``error_bits``, deltas 8 bits (``delta_width`` of ``golden/grad_lif.py``), gradient words 16
bits (``grad_width`` of ``golden/wgu.py``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

__all__ = ["PHASES", "UNITS", "FIELDS", "Counts", "ActivityCounters", "vector_bytes"]

#: Phases in the order a training step runs them; ``deploy`` is the initial programming.
PHASES = ("deploy", "forward", "backward", "update")

#: Unit (and meaning) of every counter.
UNITS: dict[str, str] = {
    "reads": "crossbar activations: one 1-bit read of one crossbar (skipped all-zero reads "
             "excluded)",
    "active_rows": "input lines at 1, summed over reads (rows forward, columns transposed); "
                   "these lines draw current",
    "rows_driven": "input lines presented to the decoder/drivers, summed over reads "
                   "(populated lines of the crossbar, 0 or 1)",
    "adc_conversions": "ADC conversions (one per converted column, or row when transposed)",
    "psum_adds": "digital additions in shift-adders and partial-sum accumulators",
    "buffer_read_bytes": "bytes read from on-chip SRAM buffers (tile, PE, WGU)",
    "buffer_write_bytes": "bytes written to on-chip SRAM buffers (tile, PE, WGU)",
    "lif_ops": "LIF neuron updates (neuron-timesteps, forward)",
    "gradlif_ops": "GradLIF surrogate-gradient evaluations (neuron-timesteps, backward)",
    "wgu_macs": "WGU accumulations: one per (weight, sample, timestep) with a non-zero input",
    "write_pulses": "RRAM programming pulses (first pulse and write-verify corrections)",
    "verify_reads": "single-device verify reads of write-verify",
    "devices_written": "devices whose level changed and were programmed",
    "tile_bytes": "bytes moved on the global H-tree between tiles / global buffer",
}


def vector_bytes(n_elements: int, bits: int) -> int:
    """Bytes of one buffered vector of ``n_elements`` words of ``bits`` bits (byte-aligned)."""
    return -(-int(n_elements) * int(bits) // 8)


@dataclass
class Counts:
    """One ``(layer, phase)`` cell of counters; units in :data:`UNITS`.

    Members
    -------
    reads, active_rows, rows_driven, adc_conversions, psum_adds : int
        Crossbar read activity.
    buffer_read_bytes, buffer_write_bytes, tile_bytes : int
        Data movement.
    lif_ops, gradlif_ops, wgu_macs : int
        Digital neuron and gradient work.
    write_pulses, verify_reads, devices_written : int
        RRAM programming.
    """

    reads: int = 0
    active_rows: int = 0
    rows_driven: int = 0
    adc_conversions: int = 0
    psum_adds: int = 0
    buffer_read_bytes: int = 0
    buffer_write_bytes: int = 0
    lif_ops: int = 0
    gradlif_ops: int = 0
    wgu_macs: int = 0
    write_pulses: int = 0
    verify_reads: int = 0
    devices_written: int = 0
    tile_bytes: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                         for f in fields(self)})


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counts))
_FIELD_SET = frozenset(FIELDS)                  # (membership checked on every add)


class ActivityCounters:
    """Counters per ``(layer, phase)``; mergeable with ``+`` and serialisable to JSON.

    Members
    -------
    cells : dict[tuple[str, str], Counts]
        The counters, created on first use.
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], Counts] = {}

    def add(self, layer: str, phase: str, **counts: int) -> None:
        """Add ``counts`` (field name -> integer) to the cell of ``(layer, phase)``."""
        cell = self.cells.setdefault((str(layer), str(phase)), Counts())
        for name, value in counts.items():
            if name not in _FIELD_SET:
                raise ValueError(f"unknown counter {name!r}; choose from {FIELDS}")
            setattr(cell, name, getattr(cell, name) + int(value))

    def get(self, layer: str, phase: str) -> Counts:
        """The cell of ``(layer, phase)`` (all zero if never touched)."""
        return self.cells.get((layer, phase), Counts())

    def total(self, field: str, *, layer: str | None = None, phase: str | None = None) -> int:
        """Sum of counter ``field`` over all cells, optionally only one layer and/or phase."""
        if field not in FIELDS:
            raise ValueError(f"unknown counter {field!r}; choose from {FIELDS}")
        return sum(getattr(c, field) for (lay, ph), c in self.cells.items()
                   if (layer is None or lay == layer) and (phase is None or ph == phase))

    @property
    def layers(self) -> list[str]:
        return sorted({lay for lay, _ in self.cells})

    @property
    def phases(self) -> list[str]:
        return sorted({ph for _, ph in self.cells})

    def clear(self) -> None:
        """Reset every counter (in place: matrices sharing this object keep counting into it)."""
        self.cells.clear()

    def copy(self) -> "ActivityCounters":
        out = ActivityCounters()
        out.cells = {k: Counts(**asdict(v)) for k, v in self.cells.items()}
        return out

    def __add__(self, other: "ActivityCounters") -> "ActivityCounters":
        if not isinstance(other, ActivityCounters):
            return NotImplemented
        out = self.copy()
        out += other
        return out

    def __iadd__(self, other: "ActivityCounters") -> "ActivityCounters":
        if not isinstance(other, ActivityCounters):
            return NotImplemented
        for (layer, phase), c in other.cells.items():
            self.add(layer, phase, **asdict(c))
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActivityCounters):
            return NotImplemented
        keys = set(self.cells) | set(other.cells)
        return all(self.get(*k) == other.get(*k) for k in keys)

    def __repr__(self) -> str:
        return f"ActivityCounters({len(self.cells)} cells, reads={self.total('reads')})"

    def to_dict(self) -> dict:
        """``{"units": UNITS, "layers": {layer: {phase: {field: int}}}}``."""
        layers: dict[str, dict[str, dict[str, int]]] = {}
        for (layer, phase), c in sorted(self.cells.items()):
            layers.setdefault(layer, {})[phase] = asdict(c)
        return {"units": dict(UNITS), "layers": layers}

    @classmethod
    def from_dict(cls, data: dict) -> "ActivityCounters":
        out = cls()
        for layer, phases in data.get("layers", {}).items():
            for phase, counts in phases.items():
                out.add(layer, phase, **counts)
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "ActivityCounters":
        return cls.from_dict(json.loads(text))
