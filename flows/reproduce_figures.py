# SPDX-License-Identifier: MIT
"""The figures of a ``dfasim reproduce`` run: accuracy per adaptation epoch, and the list of all."""
from __future__ import annotations

import io
from pathlib import Path

from .fileio import atomic_write_bytes
from .reproduce_report import accuracy_curves

__all__ = ["write_figures"]


def write_figures(results: dict, out: Path) -> list[str]:
    """Draw the accuracy per epoch with bands over chips; list it, the cost bars and the GPR fit.

    Parameters
    ----------
    results : dict
        ``adapt.json`` of the run.
    out : Path
        The run folder (``figures/``, ``cost/`` and ``adapt/`` inside it).

    Returns
    -------
    list of str
        The figures' paths relative to ``out``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    curves = accuracy_curves(results)
    summary = results["summary"]
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = {"bp": "tab:blue", "dfa": "tab:orange"}
    for rule, c in curves.items():
        lo = [m - s for m, s in zip(c["mean"], c["std"])]
        hi = [m + s for m, s in zip(c["mean"], c["std"])]
        ax.plot(c["epoch"], c["mean"], label=f"{rule.upper()} (mean over chips)",
                color=colours.get(rule))
        ax.fill_between(c["epoch"], lo, hi, alpha=0.25, color=colours.get(rule))
    ax.axhline(100 * summary["fp32"], ls="--", color="k", lw=1, label="FP32")
    ax.axhline(100 * summary["nonideal"]["mean"], ls=":", color="tab:red", lw=1,
               label="non-ideal, no adaptation")
    ax.set_xlabel("adaptation epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{results['dataset']}: online adaptation, ±1 std over "
                 f"{len(results['chips'])} chips")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(fig_dir / "accuracy_per_epoch.png", buf.getvalue())
    figures = ["figures/accuracy_per_epoch.png"]
    for name in ("energy_by_component.png", "latency_by_phase.png", "area_by_component.png"):
        if (out / "cost" / name).is_file():
            figures.append(f"cost/{name}")
    for png in sorted((out / "adapt").glob("noise_*.png")):
        figures.append(f"adapt/{png.name}")        # the GPR fit of the noise model
    return figures
