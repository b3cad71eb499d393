# SPDX-License-Identifier: MIT
"""Every LIF neuron variant, for the tests that check a fast recurrence against a reference."""
import itertools

import torch

from dfasim.golden.lif import LIFConfig

__all__ = ["lif_variants", "lif_cases"]


def lif_variants():
    """Each reset, neuron model, ``decay_input`` and firing rule, at two thresholds and leaks."""
    for reset, neuron, decay, fire, thr, leak in itertools.product(
            ["hard", "soft", "none"], ["lif", "if"], [False, True], ["gt", "ge"], [0.5, 0.3],
            [0.75, 0.3]):
        yield LIFConfig(leak=leak, threshold=thr, reset=reset, neuron=neuron,
                        decay_input=decay, fire=fire)


def lif_cases(dtype: torch.dtype, scale: float, seed: int = 1):
    """``(cfg, currents (40, 5, 17), generator)`` for every variant: seeded normal currents times
    ``scale`` with five entries exactly at the threshold; the generator goes on to draw more."""
    generator = torch.Generator().manual_seed(seed)
    for cfg in lif_variants():
        currents = (torch.randn(40, 5, 17, generator=generator) * scale).to(dtype)
        currents[3, 0, :5] = cfg.threshold
        yield cfg, currents, generator
