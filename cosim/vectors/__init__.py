# SPDX-License-Identifier: MIT
"""Seeded block test vectors and their golden results, shared by both RTL test tiers.

The stimuli come from :mod:`golden.stimulus` with explicit seeds and the expected values from
the golden block references; everything is returned as plain Python lists so that testbenches
(in amaranth.sim or inside a cocotb simulator) compare integers without touching torch per
cycle. One module per concept: :mod:`.seeds` (derived seeds, chunking), :mod:`.packing`
(payload packing), :mod:`.mixes` (code mixtures) and the per-block vectors :mod:`.grad_lif`,
:mod:`.accum` (partial-sum accumulator and shift-adder), :mod:`.wgu` and :mod:`.pingpong`.
"""
from .accum import (PsumVectors, ShiftAddVectors, psum_vectors, reference_psum,
                    reference_shift_add, shift_add_vectors)
from .grad_lif import (GradLIFVectors, grad_lif_corner_vectors, grad_lif_vectors,
                       reference_backward, reference_forward)
from .mixes import code_mix
from .packing import fast_packer
from .pingpong import PingPongVectors, pingpong_vectors
from .seeds import chunks, sub_seed
from .wgu import WGUVectors, wgu_layer_vectors, wgu_vectors

__all__ = ["GradLIFVectors", "grad_lif_vectors", "grad_lif_corner_vectors", "sub_seed", "chunks",
           "reference_forward", "reference_backward", "PsumVectors", "psum_vectors",
           "reference_psum",
           "ShiftAddVectors", "shift_add_vectors", "reference_shift_add", "fast_packer",
           "code_mix", "WGUVectors", "wgu_vectors", "wgu_layer_vectors", "PingPongVectors",
           "pingpong_vectors"]
