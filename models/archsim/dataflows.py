# SPDX-License-Identifier: MIT
"""The four training dataflows as task graphs: ``bp``, ``dfa``, ``pipelayer``, ``pipesdfa``.

Each builder turns a network, its operation durations (:class:`~.durations.OpTimes`) and the
resources of a chip into a :class:`~.engine.TaskGraph` for a number of batches: operations with
their resources, dependencies and priorities, plus every stored tensor with its home buffer,
producer and consumers. ``docs/simulator.md`` states the semantics each builder follows; the
tests check them against schedules worked by hand.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..chip import DatapathConfig
from ..cost.mapping import MatrixUse
from .durations import OpTimes
from .engine import TaskGraph

__all__ = ["DATAFLOWS", "SCHEME_OF", "GraphPlan", "BuiltGraph", "build_graph"]

#: Dataflows the simulator knows, in the order reports list them.
DATAFLOWS = ("bp", "dfa", "pipelayer", "pipesdfa")
#: The training rule (and so the mapping) each dataflow runs: transposed reads or a B tile.
SCHEME_OF = {"bp": "bp", "dfa": "dfa", "pipelayer": "bp", "pipesdfa": "dfa"}


@dataclass
class GraphPlan:
    """What a builder needs besides the durations.

    Members
    -------
    uses : list of MatrixUse
        The weight matrices (``models/cost/mapping.matrix_uses``).
    timesteps, batch_size, batches : int
        ``T``, samples per batch, batches to build.
    classes : int
        Width of the output error.
    copies : list of int
        Crossbar copies of every layer's weights (servers of its tile resource).
    b_copies : int
        Copies of the DFA feedback matrices (0 without a B tile).
    wgu_bank : list of int
        WGU bank of every layer.
    buffers : list of (str, float, str or None)
        ``(name, capacity in bytes, parent)``; parents are declared first.
    datapath : DatapathConfig
        Word widths of the stored tensors (``ChipConfig.datapath``; an input or error width of
        0, an ideal driver, is stored as 8 bits).
    sample_bytes : float
        One sample's inputs and label as loaded from DRAM.
    """

    uses: list[MatrixUse]
    timesteps: int
    batch_size: int
    batches: int
    classes: int
    copies: list[int]
    b_copies: int
    wgu_bank: list[int]
    buffers: list[tuple[str, float, str | None]]
    datapath: DatapathConfig = field(default_factory=DatapathConfig)
    sample_bytes: float = 0.0

    @property
    def n_layers(self) -> int:
        return len(self.uses)


@dataclass
class BuiltGraph:
    """A dataflow's task graph and the operations that close each batch.

    Members
    -------
    graph : TaskGraph
    batch_end : list of int
        Per batch, a barrier that ends after every operation of the batch.
    resources : dict
        Resource ids by name.
    """

    graph: TaskGraph
    batch_end: list[int] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)


def _nbytes(values, bits) -> int:
    return math.ceil(values * bits / 8)


class _Builder:
    """State shared by the builders: the graph, resources, and per-sample bookkeeping."""

    def __init__(self, plan: GraphPlan, times: OpTimes, dataflow: str):
        if len(times.layers) != plan.n_layers:
            raise ValueError(f"durations for {len(times.layers)} layers, the network has "
                             f"{plan.n_layers}")
        self.plan, self.times, self.dataflow = plan, times, dataflow
        g = self.graph = TaskGraph()
        for name, capacity, parent in plan.buffers:
            g.buffer(name, capacity, parent)
        layers = range(plan.n_layers)
        self.res: dict[str, int] = {"dram": g.resource("dram", "dram")}
        self.link = [self._resource(f"link:L{l}", "link") for l in layers]
        self.tile = [self._resource(f"tile:L{l}", "tile", plan.copies[l]) for l in layers]
        self.neuron = [self._resource(f"neuron:L{l}", "neuron") for l in layers]
        banks = sorted(set(plan.wgu_bank))
        wgu = {k: self._resource(f"wgu:{k}", "wgu") for k in banks}
        self.wgu = [wgu[plan.wgu_bank[l]] for l in layers]
        self.btile = self.blink = None
        if plan.b_copies > 0 and plan.n_layers > 1:
            self.btile = self._resource("btile", "btile", plan.b_copies)
            self.blink = self._resource("link:B", "link")
        # Layer l's last forward op of the previous sample: one sample at a time per layer.
        self.last_forward: list[int | None] = [None] * plan.n_layers
        # When layer 0 has finished each sample: a sample is loaded once the one two places
        # before it has left layer 0 (one sample prefetched, not the whole batch at once).
        self.entered: list[int] = []
        self.batch_end: list[int] = []

    def _resource(self, name, kind, servers=1) -> int:
        self.res[name] = self.graph.resource(name, kind, servers)
        return self.res[name]

    # -- forward ---------------------------------------------------------------------------

    def load(self, batch, sample, deps):
        """The sample from DRAM into the global buffer, one sample ahead of layer 0."""
        plan = self.plan
        if len(self.entered) >= 2:
            deps = list(deps) + [self.entered[-2]]
        op = self.graph.op("load", self.times.load_ns, resources=[self.res["dram"]], deps=deps,
                           priority=(batch, sample, 0, -1, -1), batch=batch, sample=sample,
                           nbytes=plan.sample_bytes)
        return op

    def forward_timesteps(self, batch, sample, deps):
        """``send -> fwd -> lif`` for every timestep and layer (timestep-level pipeline).

        Returns ``(send, fwd, lif, loss)``: per layer, per timestep op ids, and the loss op."""
        g, plan, times = self.graph, self.plan, self.times
        T, L = plan.timesteps, plan.n_layers
        load = self.load(batch, sample, deps)
        send = [[0] * T for _ in range(L)]
        fwd = [[0] * T for _ in range(L)]
        lif = [[0] * T for _ in range(L)]
        for t in range(T):
            below = load
            for l in range(L):
                lt = times.layers[l]
                use = plan.uses[l]
                # A layer takes one sample at a time: every timestep of this sample waits
                # for the layer's last timestep of the previous one.
                step_deps = [below]
                if self.last_forward[l] is not None:
                    step_deps.append(self.last_forward[l])
                in_bits = (plan.datapath.input_bits or 8) if l == 0 else 1
                common = dict(batch=batch, sample=sample, timestep=t, layer=l,
                              priority=(batch, sample, 0, t, l))
                s_op = g.op("send", lt.send_ns, resources=[self.link[l]], deps=step_deps,
                            nbytes=_nbytes(use.in_size, in_bits), **common)
                # The partial sums are double-buffered: a read waits until the LIF has taken
                # the vector two timesteps back (back-pressure; at most two vectors wait).
                f_deps = [s_op] if t < 2 else [s_op, lif[l][t - 2]]
                f_op = g.op("fwd", lt.fwd_ns, resources=[self.tile[l]], deps=f_deps, **common)
                lif_deps = [f_op] if t == 0 else [f_op, lif[l][t - 1]]
                n_op = g.op("lif", lt.lif_ns, resources=[self.neuron[l]], deps=lif_deps,
                            **common)
                send[l][t], fwd[l][t], lif[l][t] = s_op, f_op, n_op
                below = n_op
        for l in range(L):
            self.last_forward[l] = lif[l][T - 1]
        self.entered.append(lif[0][T - 1])
        loss = g.op("loss", times.loss_ns, resources=[self.neuron[L - 1]],
                    deps=[lif[L - 1][T - 1]], priority=(batch, sample, 0, T, L), batch=batch,
                    sample=sample, layer=L - 1)
        # The loaded sample waits in the global buffer until its last timestep is sent.
        g.tensor(plan.sample_bytes, "global", load, [send[0][T - 1]], "input")
        for l in range(L):
            use = plan.uses[l]
            # A convolution's reads stream position by position into the LIF: one read's
            # vector (cols words) is what waits, not the whole map's partial sums.
            psum = _nbytes(use.cols, plan.datapath.psum_bits)
            for t in range(T):
                g.tensor(psum, f"pe:L{l}", fwd[l][t], [lif[l][t]], "psum")
        return send, fwd, lif, loss

    def input_and_membrane_tensors(self, send, fwd, lif, glif, wgu):
        """Inputs (kept for the WGU) and membranes (kept for GradLIF) of one sample."""
        g, plan = self.graph, self.plan
        for l, use in enumerate(plan.uses):
            in_bits = (plan.datapath.input_bits or 8) if l == 0 else 1
            size = _nbytes(use.in_size, in_bits)
            membrane = _nbytes(use.neurons, plan.datapath.membrane_bits)
            for t in range(plan.timesteps):
                g.tensor(size, f"tile:L{l}", send[l][t], [fwd[l][t], wgu[l][t]], "input")
                g.tensor(membrane, f"tile:L{l}", lif[l][t], [glif[l][t]], "membrane")

    # -- backward, DFA / SDFA ----------------------------------------------------------------

    def dfa_backward(self, batch, sample, loss, deps):
        """``proj`` on the B tile, the errors sent to the layers, every layer's GradLIF chain
        (``t = T-1 .. 0``). Returns ``glif`` (per layer, per timestep)."""
        g, plan, times = self.graph, self.plan, self.times
        T, L = plan.timesteps, plan.n_layers
        error_bits = plan.datapath.error_bits or 8
        source = [loss] * L
        error_producer = [loss] * L
        if L > 1 and self.btile is not None:
            proj = g.op("proj", times.proj_ns, resources=[self.btile], deps=[loss] + deps,
                        priority=(batch, sample, 1, -1, -1), batch=batch, sample=sample)
            for l in range(L - 1):
                esend = g.op("esend", times.layers[l].esend_ns, resources=[self.blink],
                             deps=[proj], priority=(batch, sample, 1, -1, l), batch=batch,
                             sample=sample, layer=l,
                             nbytes=_nbytes(plan.uses[l].neurons, error_bits))
                source[l] = error_producer[l] = esend
        glif = [[0] * T for _ in range(L)]
        for l in range(L):
            lt = times.layers[l]
            previous = None
            for t in range(T - 1, -1, -1):
                op_deps = [source[l]] + deps if previous is None else [previous]
                previous = g.op("glif", lt.glif_ns, resources=[self.neuron[l]], deps=op_deps,
                                priority=(batch, sample, 1, T - 1 - t, l), batch=batch,
                                sample=sample, timestep=t, layer=l)
                glif[l][t] = previous
            width = plan.classes if l == L - 1 else plan.uses[l].neurons
            g.tensor(_nbytes(width, error_bits), f"tile:L{l}", error_producer[l], [glif[l][0]],
                     "error")
        return glif

    def wgu_ops(self, batch, sample, glif, deps, priority_of, layers=None):
        """``wgu[l, s, t]`` after each delta (and ``deps``) for ``layers`` (default all).
        Returns them per layer, per timestep (layers not built stay 0)."""
        g, plan, times = self.graph, self.plan, self.times
        T = plan.timesteps
        wgu = [[0] * T for _ in range(plan.n_layers)]
        for l in (range(plan.n_layers) if layers is None else layers):
            lt = times.layers[l]
            for t in range(T - 1, -1, -1):
                wgu[l][t] = g.op("wgu", lt.wgu_ns, resources=[self.wgu[l]],
                                 deps=[glif[l][t]] + deps, priority=priority_of(l, t),
                                 batch=batch, sample=sample, timestep=t, layer=l)
        return wgu

    def delta_tensors(self, glif, consumers):
        g, plan = self.graph, self.plan
        for l, use in enumerate(plan.uses):
            delta = _nbytes(use.neurons, plan.datapath.delta_bits)
            for t in range(plan.timesteps):
                g.tensor(delta, f"tile:L{l}", glif[l][t], consumers(l, t), "delta")

    # -- update --------------------------------------------------------------------------------

    def write(self, batch, layer, first_wgu, wgu_ops):
        """``write[l, b]`` programs all copies of layer l after its gradients are complete; the
        gradients live in the WGU from the first accumulation until the write."""
        g, plan = self.graph, self.plan
        write = g.op("write", self.times.layers[layer].write_ns, all_servers=[self.tile[layer]],
                     deps=list(wgu_ops), priority=(batch, plan.batch_size, 3, 0, layer),
                     batch=batch, layer=layer)
        use = plan.uses[layer]
        g.tensor(_nbytes(use.cols * use.rows, plan.datapath.grad_bits),
                 f"wgu:{plan.wgu_bank[layer]}", first_wgu, [write], "gradient")
        return write

    def writes(self, batch, first_wgu, wgu_of_layer):
        """:meth:`write` of every layer."""
        return [self.write(batch, l, first_wgu[l], wgu_of_layer[l])
                for l in range(self.plan.n_layers)]


def _phase_batches(b: _Builder, rule: str) -> None:
    """``bp`` and ``dfa``: forward, backward and update of each batch separated by barriers."""
    g, plan, times = b.graph, b.plan, b.times
    T, L, B = plan.timesteps, plan.n_layers, plan.batch_size
    gate: list[int] = []
    for batch in range(plan.batches):
        samples = []
        for s in range(B):
            sample = batch * B + s
            samples.append((sample, *b.forward_timesteps(batch, sample, gate)))
        forward_end = g.barrier([op for *_, lif, loss in samples
                                 for op in [lif[l][T - 1] for l in range(L)] + [loss]],
                                batch=batch)
        per_sample_glif = []
        if rule == "dfa":
            for sample, _send, _fwd, _lif, loss in samples:
                per_sample_glif.append(b.dfa_backward(batch, sample, loss, [forward_end]))
            backward_end = g.barrier([glif[l][0] for glif in per_sample_glif
                                      for l in range(L)], batch=batch)
            bsend_ops = None
        else:
            per_sample_glif = [[[0] * T for _ in range(L)] for _ in samples]
            bsend_ops = [[[None] * T for _ in range(L)] for _ in samples]
            tmvm_ops = [[[None] * T for _ in range(L)] for _ in samples]
            previous_layer = forward_end
            error_bits = plan.datapath.error_bits or 8
            for l in range(L - 1, -1, -1):
                lt = times.layers[l]
                layer_ops = []
                for i, (sample, _send, _fwd, _lif, loss) in enumerate(samples):
                    previous = None
                    for t in range(T - 1, -1, -1):
                        deps = [previous_layer] if previous is None else [previous]
                        if l == L - 1:
                            if previous is None:
                                deps.append(loss)
                        else:
                            deps.append(bsend_ops[i][l + 1][t])
                        common = dict(batch=batch, sample=sample, timestep=t, layer=l)
                        previous = g.op("glif", lt.glif_ns, resources=[b.neuron[l]], deps=deps,
                                        priority=(batch, 1, L - 1 - l, i, T - 1 - t),
                                        **common)
                        per_sample_glif[i][l][t] = previous
                        layer_ops.append(previous)
                        if l >= 1:
                            tm = g.op("tmvm", lt.tmvm_ns, resources=[b.tile[l]],
                                      deps=[previous], priority=(batch, 1, L - 1 - l, i,
                                                                 T - 1 - t), **common)
                            bs = g.op("bsend", lt.bsend_ns, resources=[b.link[l]], deps=[tm],
                                      priority=(batch, 1, L - 1 - l, i, T - 1 - t),
                                      nbytes=_nbytes(plan.uses[l].in_size, error_bits),
                                      **common)
                            tmvm_ops[i][l][t], bsend_ops[i][l][t] = tm, bs
                            layer_ops.append(bs)
                    if l == L - 1:
                        g.tensor(_nbytes(plan.classes, error_bits), f"tile:L{l}", loss,
                                 [per_sample_glif[i][l][T - 1]], "error")
                previous_layer = g.barrier(layer_ops, batch=batch)
            backward_end = previous_layer
            for i in range(len(samples)):
                for l in range(1, L):
                    size = _nbytes(plan.uses[l].in_size, error_bits)
                    for t in range(T):
                        g.tensor(size, f"tile:L{l - 1}", bsend_ops[i][l][t],
                                 [per_sample_glif[i][l - 1][t]], "error")
        # Update: the WGU after the whole backward phase. DFA's banks (one per layer) work at
        # once; BP's one bank holds one layer's gradients, so it goes layer by layer from the
        # top and layer l - 1 starts accumulating once layer l's write has taken its gradients.
        wgu = [[[0] * T for _ in range(L)] for _ in samples]
        writes: list[int] = [0] * L
        previous_write: list[int] = []
        for l in (range(L - 1, -1, -1) if rule == "bp" else range(L)):
            for i, (sample, *_rest) in enumerate(samples):
                built = b.wgu_ops(batch, sample, per_sample_glif[i],
                                  [backward_end] + previous_write,
                                  lambda l, t, i=i: (batch, 2, L - 1 - l, i, T - 1 - t),
                                  layers=[l])
                wgu[i][l] = built[l]
            writes[l] = b.write(batch, l, wgu[0][l][T - 1],
                                [op for i in range(len(samples)) for op in wgu[i][l]])
            if rule == "bp":
                previous_write = [writes[l]]
        for i, (sample, send, fwd, lif, _loss) in enumerate(samples):
            glif = per_sample_glif[i]
            b.input_and_membrane_tensors(send, fwd, lif, glif, wgu[i])
            if rule == "dfa":
                b.delta_tensors(glif, lambda l, t, w=wgu[i]: [w[l][t]])
            else:
                b.delta_tensors(glif, lambda l, t, w=wgu[i], i=i: [w[l][t]] + (
                    [tmvm_ops[i][l][t]] if l >= 1 else []))
        end = g.barrier(writes, batch=batch)
        b.batch_end.append(end)
        gate = [end]


def _pipelayer(b: _Builder) -> None:
    """PipeLayer: whole-sample layer stages, samples pipelined, BP through the transpose
    circuit, the update stalls the next batch."""
    g, plan, times = b.graph, b.plan, b.times
    T, L, B = plan.timesteps, plan.n_layers, plan.batch_size
    error_bits = plan.datapath.error_bits or 8
    gate: list[int] = []
    for batch in range(plan.batches):
        wgu_by_layer: list[list[int]] = [[] for _ in range(L)]
        first_wgu: list[int | None] = [None] * L
        for s in range(B):
            sample = batch * B + s
            load = b.load(batch, sample, gate)
            forward, below = [], load
            for l in range(L):
                lt = times.layers[l]
                use = plan.uses[l]
                in_bits = (plan.datapath.input_bits or 8) if l == 0 else 1
                # The tile first: a Gantt chart draws an op on its first resource.
                stage = g.op("fwd", T * (lt.send_ns + lt.fwd_ns + lt.lif_ns),
                             resources=[b.tile[l], b.neuron[l], b.link[l]], deps=[below],
                             priority=(batch, s, 0, 0, l), batch=batch, sample=sample,
                             layer=l, nbytes=T * _nbytes(use.in_size, in_bits))
                forward.append(stage)
                below = stage
            b.entered.append(forward[0])
            loss = g.op("loss", times.loss_ns, resources=[b.neuron[L - 1]], deps=[below],
                        priority=(batch, s, 0, 1, L), batch=batch, sample=sample, layer=L - 1)
            backward: list[int] = [0] * L
            above = loss
            for l in range(L - 1, -1, -1):
                lt = times.layers[l]
                use = plan.uses[l]
                if l >= 1:
                    duration = T * (lt.glif_ns + lt.tmvm_ns + lt.bsend_ns)
                    resources = [b.tile[l], b.neuron[l], b.link[l]]
                    moved = T * _nbytes(use.in_size, error_bits)
                else:
                    duration, resources, moved = T * lt.glif_ns, [b.neuron[l]], 0
                backward[l] = g.op("glif", duration, resources=resources, deps=[above],
                                   priority=(batch, s, 1, 0, L - 1 - l), batch=batch,
                                   sample=sample, layer=l, nbytes=moved)
                above = backward[l]
            wgu = []
            for l in range(L):
                op = g.op("wgu", T * times.layers[l].wgu_ns, resources=[b.wgu[l]],
                          deps=[backward[l]], priority=(batch, s, 2, 0, l), batch=batch,
                          sample=sample, layer=l)
                wgu.append(op)
                wgu_by_layer[l].append(op)
                if first_wgu[l] is None:
                    first_wgu[l] = op
            # Tensors at stage granularity (T timesteps each).
            g.tensor(plan.sample_bytes, "global", load, [forward[0]], "input")
            for l in range(L):
                use = plan.uses[l]
                # The stage streams its partial sums through the same double buffer.
                g.tensor(2 * _nbytes(use.cols, plan.datapath.psum_bits), f"pe:L{l}",
                         load if l == 0 else forward[l - 1], [forward[l]], "psum")
                in_bits = (plan.datapath.input_bits or 8) if l == 0 else 1
                producer = load if l == 0 else forward[l - 1]
                g.tensor(T * _nbytes(use.in_size, in_bits), f"tile:L{l}", producer,
                         [forward[l], wgu[l]], "input")
                g.tensor(T * _nbytes(use.neurons, plan.datapath.membrane_bits), f"tile:L{l}",
                         forward[l], [backward[l]], "membrane")
                g.tensor(T * _nbytes(use.neurons, plan.datapath.delta_bits), f"tile:L{l}",
                         backward[l], [wgu[l]], "delta")
                if l >= 1:
                    g.tensor(T * _nbytes(use.in_size, error_bits), f"tile:L{l - 1}",
                             backward[l], [backward[l - 1]], "error")
            g.tensor(_nbytes(plan.classes, error_bits), f"tile:L{L - 1}", loss,
                     [backward[L - 1]], "error")
        writes = b.writes(batch, first_wgu, wgu_by_layer)
        end = g.barrier(writes, batch=batch)
        b.batch_end.append(end)
        gate = [end]


def _pipesdfa(b: _Builder) -> None:
    """PipeSDFA: data-, timestep- and batch-level pipelines; backward from the B array."""
    g, plan = b.graph, b.plan
    T, L, B = plan.timesteps, plan.n_layers, plan.batch_size
    for batch in range(plan.batches):
        wgu_by_layer: list[list[int]] = [[] for _ in range(L)]
        first_wgu: list[int | None] = [None] * L
        batch_ops: list[int] = []
        for s in range(B):
            sample = batch * B + s
            send, fwd, lif, loss = b.forward_timesteps(batch, sample, [])
            glif = b.dfa_backward(batch, sample, loss, [])
            wgu = b.wgu_ops(batch, sample, glif, [],
                            lambda l, t, s=s: (batch, s, 2, T - 1 - t, l))
            b.input_and_membrane_tensors(send, fwd, lif, glif, wgu)
            b.delta_tensors(glif, lambda l, t, wgu=wgu: [wgu[l][t]])
            for l in range(L):
                wgu_by_layer[l].extend(wgu[l])
                if first_wgu[l] is None:
                    first_wgu[l] = wgu[l][T - 1]
            batch_ops.append(loss)
        writes = b.writes(batch, first_wgu, wgu_by_layer)
        b.batch_end.append(g.barrier(writes + batch_ops, batch=batch))


def build_graph(dataflow: str, plan: GraphPlan, times: OpTimes) -> BuiltGraph:
    """The task graph of ``plan.batches`` batches of ``dataflow`` (``docs/simulator.md``)."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    builder = _Builder(plan, times, dataflow)
    if dataflow in ("bp", "dfa"):
        _phase_batches(builder, dataflow)
    elif dataflow == "pipelayer":
        _pipelayer(builder)
    else:
        _pipesdfa(builder)
    return BuiltGraph(graph=builder.graph, batch_end=builder.batch_end,
                      resources=dict(builder.res))
