# SPDX-License-Identifier: MIT
"""Networks in and out through NIR, the Neuromorphic Intermediate Representation.

Export turns a dfasim checkpoint into a ``nir.NIRGraph`` written by ``nir.write``: a spiking MLP
is ``Input -> Linear -> LIF -> ... -> Linear -> LIF -> Output``; a convolutional network
(``golden/conv.py``) is ``Conv2d`` (zero bias) ``-> LIF`` over the whole map ``-> AvgPool2d``
(window = stride, when the layer pools) per convolution, then ``Flatten -> Linear -> LIF`` (max
pooling and batch norm have no NIR form and are refused). Import turns a NIR graph written by
dfasim or another framework into a :class:`Checkpoint` that ``dfasim adapt`` deploys on noisy
crossbars like one trained here (a convolutional one where the checkpoint format holds
convolutional networks). A ``SumPool2d`` of a ``k x k`` window is dfasim's average pool with the
next layer's weights times ``k * k``; a ``Conv2d`` needs a square kernel, one stride and one
padding (or ``'valid'`` / ``'same'``) on both axes, no dilation, no groups.

Neuron mapping (one timestep of dfasim is one forward-Euler step of length ``dt``)
------------------------------------------------------------------------------------
NIR's LIF is continuous: ``tau dv/dt = (v_leak - v) + R I``, a spike when ``v > v_threshold``,
then ``v = v_reset``. One Euler step of length ``dt`` with ``v_leak = 0`` gives

    v[t] = v[t-1] + dt/tau (-v[t-1] + R I[t]) = (1 - dt/tau) v[t-1] + (R dt / tau) I[t]

and dfasim's LIF (``golden/lif.py``) is ``u[t] = leak * v[t-1] + I[t]``, a spike when
``u > threshold``, hard reset to 0. They agree for

    leak = 1 - dt/tau        tau = dt / (1 - leak)        R = tau / dt      (R dt / tau = 1)
    v_threshold = threshold  v_leak = 0                   v_reset = 0

With ``dt = 1`` (dfasim's default, stored in the graph's metadata as ``dfasim.dt``) a leak of
0.75 is ``tau = 4``, ``R = 4``. ``leak = 1 - dt/tau`` is chosen over ``leak = exp(-dt/tau)``
because it is the exact Euler step that other frameworks (snnTorch: ``tau = dt / (1 - beta)``,
``R = tau / dt``) write. The import works ``1 - dt/tau`` in exact rational arithmetic and
rounds once; the export nudges ``tau`` by a few ulps where needed so that this gives back the
very same float64 ``leak``: exact for every leak in [0.5, 1] and for 0 (there ``dt/tau`` moves by
less than an ulp of ``leak`` per ulp of ``tau``); below 0.5 at worst one float64 ulp off, which
rounds to the same float32 the network computes with. So an exported and re-imported network
gives the same outputs bit for bit. IF neurons (``leak = 1``) are NIR's IF, ``dv/dt = R I``,
with ``R = 1 / dt``.

On import the input gain ``R dt / tau`` (``R dt`` for IF) and a per-neuron threshold are folded
into the rows of the weight matrix before the neurons (``W_i * gain_i * threshold /
threshold_i``): with ``v_leak = v_reset = 0`` a neuron's dynamics are linear in its input, so
scaling a row by ``c > 0`` scales its membrane by ``c`` and leaves its spikes unchanged (for a
convolution the factor must be one per output channel). A graph
whose gains and thresholds are already 1 and uniform is copied unchanged (folding other
factors rounds the weights once, so a foreign graph runs as its framework runs it up to float32
rounding; exactly where the factors are powers of two). What dfasim cannot
represent is refused in one line naming the node: a bias, a leak or reset voltage other than 0,
leaks that differ between neurons or layers, recurrent edges, subgraphs, synaptic-current
neurons (CubaLIF), a non-spiking read-out, anything but a chain.

NIR carries no timestep count, training data, normalisation or DFA feedback matrices: the export
stores them in the
graph's metadata (``dfasim.*`` keys, with a vote read-out's group size: the graph's output is
the voting layer's spikes); an imported foreign graph needs ``timesteps`` (and, for
``dfasim adapt``, a dataset) from the caller.
"""
from __future__ import annotations

from .export import export_checkpoint, export_graph, write_graph
from .importer import ImportedNetwork, import_file, import_graph, read_graph, to_checkpoint
from .mapping import DT, leak_to_tau, tau_to_leak

__all__ = ["DT", "leak_to_tau", "tau_to_leak", "export_graph", "write_graph", "read_graph",
           "import_graph", "to_checkpoint", "export_checkpoint", "import_file",
           "ImportedNetwork"]
