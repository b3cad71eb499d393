# SPDX-License-Identifier: MIT
"""Read a tile co-simulation's VCD back and draw one training step's phases.

``run_network(..., vcd=PATH)`` (and the tests' ``--waves``) write a VCD of every tile. This
module reads it with pyvcd's tokenizer (the VCD library amaranth itself depends on): the
controller state ``o_state`` of each tile and the handshakes of its ports, sampled on the
clock, and draws a picture of the step — one band per tile coloured by controller state and
grouped into the phases of ``cosim.tile.PHASES``, with the crossbar requests, the error beats
and the deltas as event rows under it. Run as a script::

    python -m dfasim.cosim.tile_waves STEP.vcd OUT.png [--title TEXT]

``docs/figures/tile-dfa-step.png`` is this module's picture of the DFA step of the test network.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..rtl.tile import STATES
from .tile import PHASES

__all__ = ["TileWaves", "read_tile_waves", "state_intervals", "render_step", "main"]

#: Port handshakes drawn as event rows: label, valid signal, ready signal (None: a strobe).
EVENTS = (("crossbar request", "o_req__valid", "o_req__ready"),
          ("crossbar response", "i_resp__valid", "i_resp__ready"),
          ("error in", "i_err__valid", "i_err__ready"),
          ("delta", "o_delta_valid", None),
          ("error out (BP)", "o_err__valid", "o_err__ready"))
#: Colour of each phase's states (matplotlib's default cycle, fixed so pictures compare).
PHASE_COLOURS = {"start": "#7f7f7f", "forward": "#1f77b4", "backward": "#d62728",
                 "update": "#2ca02c"}


@dataclass
class TileWaves:
    """What the VCD shows of one tile, per clock cycle (rising edges from the first).

    Members
    -------
    states : list of str
        Controller state in each cycle.
    events : dict of str to list of int
        Cycles in which each port of :data:`EVENTS` transferred (valid and ready high).
    """

    states: list[str] = field(default_factory=list)
    events: dict[str, list[int]] = field(default_factory=dict)


def read_tile_waves(vcd_path: str | Path) -> dict[str, TileWaves]:
    """Each tile scope's (``tile0``, ``tile1`` ...) waves, sampled before each rising edge."""
    from vcd.reader import TokenKind, tokenize

    wanted = {"o_state"} | {v for _, v, _ in EVENTS} | {r for _, _, r in EVENTS if r}
    ids: dict[str, list[tuple[str, str]]] = {}
    scopes: list[str] = []
    clock_id = None
    values: dict[str, int] = {}
    samples: dict[str, TileWaves] = {}
    with open(vcd_path, "rb") as handle:
        for token in tokenize(handle):
            kind = token.kind
            if kind is TokenKind.SCOPE:
                scopes.append(token.data.ident)
            elif kind is TokenKind.UPSCOPE:
                scopes.pop()
            elif kind is TokenKind.VAR:
                ref = token.data.reference
                tile = scopes[-1] if scopes and scopes[-1].startswith("tile") else None
                if ref == "clk" and clock_id is None:
                    clock_id = token.data.id_code
                if tile is not None and ref in wanted:
                    ids.setdefault(token.data.id_code, []).append((tile, ref))
                    samples.setdefault(tile, TileWaves())
            elif kind is TokenKind.CHANGE_SCALAR or kind is TokenKind.CHANGE_VECTOR:
                code = token.data.id_code
                raw = token.data.value
                if code == clock_id and raw in ("1", 1):
                    # A rising edge: the values held just before it are this cycle's.
                    for tile, waves in samples.items():
                        cycle = len(waves.states)
                        state = values.get(f"{tile}.o_state", 0)
                        waves.states.append(STATES[state] if state < len(STATES) else "?")
                        for label, valid, ready in EVENTS:
                            fired = values.get(f"{tile}.{valid}", 0) and (
                                ready is None or values.get(f"{tile}.{ready}", 0))
                            if fired:
                                waves.events.setdefault(label, []).append(cycle)
                for tile, ref in ids.get(code, ()):
                    values[f"{tile}.{ref}"] = _as_int(raw)
    if not samples:
        raise ValueError(f"{vcd_path}: no tile scope with an o_state signal")
    return samples


def _as_int(raw) -> int:
    if isinstance(raw, int):
        return raw
    try:
        return int(raw, 2) if isinstance(raw, str) else int(raw)
    except ValueError:                                    # x or z bits
        return 0


def state_intervals(states: list[str]) -> list[tuple[int, int, str]]:
    """Runs of equal state: ``(first cycle, last cycle + 1, state)``."""
    runs: list[tuple[int, int, str]] = []
    for cycle, state in enumerate(states):
        if runs and runs[-1][2] == state:
            runs[-1] = (runs[-1][0], cycle + 1, state)
        else:
            runs.append((cycle, cycle + 1, state))
    return runs


def _phase_of(state: str) -> str:
    return next((p for p, members in PHASES.items() if state in members), "start")


#: What each phase of a step does, written next to its first occurrence in the first tile.
NOTES = {"forward": "forward: per timestep the input word, R reads,\npartial sums into GradLIF",
         "backward": "backward: per timestep an error beat, GradLIF's\ndelta, n_out WGU beats "
                     "(BP: R x K transposed reads)",
         "update": "update: WGU read-out,\none write request per row"}


def _annotate(ax, waves: TileWaves, y: float) -> None:
    """Arrows from the first run of each phase to a note above the band."""
    seen = set()
    right = 0.7 * len(waves.states)
    for start, stop, state in state_intervals(waves.states):
        phase = _phase_of(state)
        if phase not in NOTES or phase in seen:
            continue
        seen.add(phase)
        ax.annotate(NOTES[phase], xy=((start + stop) / 2, y + 0.4),
                    xytext=(start, y + 1.6 + 0.9 * len(seen)), fontsize=7,
                    ha="right" if start > right else "left",
                    arrowprops=dict(arrowstyle="->", linewidth=0.6))


def render_step(vcd_path: str | Path, png_path: str | Path, *, title: str = "") -> Path:
    """Draw the step of every tile in the VCD; returns the written path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    waves = read_tile_waves(vcd_path)
    tiles = sorted(waves)
    # Event rows no tile used (the propagated error in a DFA step) are left out.
    events = [e for e in EVENTS if any(w.events.get(e[0]) for w in waves.values())]
    rows_per_tile = 1 + len(events)
    fig, ax = plt.subplots(figsize=(13, 2.6 + 0.42 * rows_per_tile * len(tiles)))
    labels, y = [], 0.0
    for tile in tiles:
        tw = waves[tile]
        busy = [c for c, s in enumerate(tw.states) if s != "IDLE"]
        for start, stop, state in state_intervals(tw.states):
            if state == "IDLE":
                continue
            ax.broken_barh([(start, stop - start)], (y - 0.4, 0.8),
                           color=PHASE_COLOURS[_phase_of(state)], alpha=0.85)
        counted = Counter(_phase_of(s) for s in tw.states if s != "IDLE")
        per_phase = ", ".join(f"{p} {counted[p]}" for p in PHASE_COLOURS if p != "start"
                              and counted[p])
        labels.append(f"{tile}: controller, {busy[-1] + 1 if busy else 0} cycles\n"
                      f"({per_phase})")
        if tile == tiles[0]:
            _annotate(ax, tw, y)
        y -= 1.0
        for label, _, _ in events:
            cycles = tw.events.get(label, [])
            ax.vlines(cycles, y - 0.3, y + 0.3, color="black", linewidth=0.6)
            labels.append(f"{tile}: {label} ({len(cycles)})")
            y -= 1.0
        y -= 0.5
    ticks = []
    yy = 0.0
    for _ in tiles:
        for _ in range(rows_per_tile):
            ticks.append(yy)
            yy -= 1.0
        yy -= 0.5
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.set_xlabel("clock cycle")
    ax.set_xlim(0, max(len(w.states) for w in waves.values()))
    ax.set_ylim(yy + 0.5, 5.2)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[Patch(color=c, label=p) for p, c in PHASE_COLOURS.items()],
              loc="upper center", fontsize=8, ncol=4)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = Path(png_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m dfasim.cosim.tile_waves STEP.vcd OUT.png [--title TEXT]``."""
    parser = argparse.ArgumentParser(prog="python -m dfasim.cosim.tile_waves",
                                     description="Draw a tile co-simulation VCD's step.")
    parser.add_argument("vcd", help="VCD written by run_network(..., vcd=PATH) or --waves")
    parser.add_argument("png", help="picture to write")
    parser.add_argument("--title", default="", help="title over the picture")
    args = parser.parse_args(argv)
    try:
        out = render_step(args.vcd, args.png, title=args.title)
    except (OSError, ValueError) as exc:
        print(f"tile_waves: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
