# SPDX-License-Identifier: MIT
"""NIR export and import: round trips bit for bit, hand-built and foreign graphs, bad graphs."""
import json

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

from dfasim.flows import nir_io  # noqa: E402
from dfasim.flows.adapt import AdaptConfig, adapt  # noqa: E402
from dfasim.flows.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from dfasim.flows.cli import main  # noqa: E402
from dfasim.flows.config import NeuronConfig  # noqa: E402
from dfasim.flows.errors import DfasimError  # noqa: E402
from dfasim.golden.network import NetworkSpec, SpikingMLP  # noqa: E402


def _checkpoint(tmp_path, layers=(6, 24, 12, 4), timesteps=12, **neuron):
    cfg = NeuronConfig(**{"leak": 0.75, "threshold": 0.5, **neuron})
    gen = torch.Generator().manual_seed(3)
    model = SpikingMLP(NetworkSpec(layers, timesteps, cfg.to_lif()), generator=gen)
    with torch.no_grad():
        for w in model.weights:
            w.mul_(3.0)   # enough drive that every layer spikes
    feedback = {f"B{l}": torch.randn(n, layers[-1], generator=gen)
                for l, n in enumerate(layers[1:-1])}
    ckpt = Checkpoint(model, cfg, "dfa", feedback, torch.linspace(-1, 1, layers[0]),
                      torch.linspace(0.5, 2, layers[0]), "basic_motions", {})
    path = tmp_path / "pre" / "checkpoint.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, ckpt)
    return path


def _one_line(capsys, rc, needle):
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("dfasim: error:") and err.count("\n") == 1, err
    assert needle in err, err


@pytest.mark.parametrize("neuron", [dict(), dict(leak=0.9, threshold=1.25),
                                    dict(leak=0.3), dict(neuron="if", threshold=1.0)])
def test_round_trip_is_bit_for_bit(tmp_path, capsys, neuron):
    src = _checkpoint(tmp_path, **neuron)
    assert main(["nir", "export", str(src), "--out", str(tmp_path / "g")]) == 0
    graph = tmp_path / "g" / "network.nir"
    assert main(["nir", "import", str(graph), "--out", str(tmp_path / "back")]) == 0
    assert "checkpoint.pt" in capsys.readouterr().out
    a, b = load_checkpoint(src), load_checkpoint(tmp_path / "back" / "checkpoint.pt")
    assert a.neuron == b.neuron and a.model.spec == b.model.spec
    assert b.dataset == "basic_motions" and torch.equal(a.norm_std, b.norm_std)
    assert a.feedback.keys() == b.feedback.keys() == {"B0", "B1"}
    assert all(torch.equal(a.feedback[k], b.feedback[k]) for k in a.feedback)
    for wa, wb in zip(a.model.weights, b.model.weights):
        assert torch.equal(wa, wb)
    x = torch.randn(16, 12, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        (ya, ta), (yb, tb) = a.model(x), b.model(x)
    assert torch.equal(ya, yb) and ya.sum() > 0
    for sa, sb in zip(ta.spikes, tb.spikes):
        assert torch.equal(sa, sb) and sa.sum() > 0


def test_the_exported_graph_is_plain_nir(tmp_path):
    nir_io.export_checkpoint(_checkpoint(tmp_path), tmp_path)
    g = nir.read(tmp_path / "network.nir")
    kinds = {name: type(node).__name__ for name, node in g.nodes.items()}
    assert kinds == {"input": "Input", "fc0": "Linear", "lif0": "LIF", "fc1": "Linear",
                     "lif1": "LIF", "fc2": "Linear", "lif2": "LIF", "output": "Output"}
    lif = g.nodes["lif0"]
    # leak 0.75 at dt = 1: tau = 1 / (1 - 0.75) = 4, R = tau / dt = 4.
    assert np.all(lif.tau == 4.0) and np.all(lif.r == 4.0) and np.all(lif.v_threshold == 0.5)
    assert np.all(lif.v_leak == 0) and np.all(lif.v_reset == 0)


def test_leak_mapping_is_exact_from_one_half_to_one():
    rng = np.random.default_rng(0)
    for leak in [0.0, 0.5, 0.75, 0.9, 0.999, *rng.uniform(0.5, 1.0, 2000)]:
        for dt in (1.0, 1e-3):
            tau = nir_io.leak_to_tau(float(leak), dt)
            assert nir_io.tau_to_leak(tau, dt) == float(leak)
    for leak in rng.uniform(0.0, 0.5, 500):   # below 1/2: the same float32
        back = nir_io.tau_to_leak(nir_io.leak_to_tau(float(leak)))
        assert np.float32(back) == np.float32(leak)
    assert nir_io.leak_to_tau(1.0) == float("inf") and nir_io.tau_to_leak(float("inf")) == 1.0


def _reference(graph_nodes, order, x, dt):
    """NIR's equations stepped by forward Euler in float64: the output spikes (T, B, N)."""
    h = x.astype(np.float64)                       # (T, B, F)
    for name in order:
        node = graph_nodes[name]
        if isinstance(node, (nir.Linear, nir.Affine)):
            h = h @ np.asarray(node.weight, dtype=np.float64).T
        elif isinstance(node, nir.LIF):
            v = np.zeros(h.shape[1:])
            out = []
            for current in h:
                v = v + dt / node.tau * (node.v_leak - v + node.r * current)
                z = v > node.v_threshold
                v = np.where(z, node.v_reset, v)
                out.append(z.astype(np.float64))
            h = np.stack(out)
    return h


def test_a_hand_built_graph_imports_and_runs(tmp_path):
    """A graph as another framework writes it: R = 1 (the input scaled by dt / tau), an Affine
    with a zero bias, per-neuron thresholds, no dfasim metadata."""
    rng = np.random.default_rng(5)
    w1 = rng.integers(-8, 9, (10, 5)) / 8.0        # dyadic: the folding below is exact
    w2 = rng.integers(-8, 9, (3, 10)) / 8.0
    th1 = np.where(np.arange(10) % 2, 0.5, 0.25)
    nodes = {
        "in": nir.Input(input_type={"input": np.array([5])}),
        "dense1": nir.Affine(weight=w1.astype(np.float32), bias=np.zeros(10, np.float32)),
        "neurons1": nir.LIF(tau=np.full(10, 2.0), r=np.ones(10), v_leak=np.zeros(10),
                            v_threshold=th1, v_reset=np.zeros(10)),
        "dense2": nir.Linear(weight=w2.astype(np.float32)),
        "neurons2": nir.LIF(tau=np.full(3, 2.0), r=np.ones(3), v_leak=np.zeros(3),
                            v_threshold=np.full(3, 0.125), v_reset=np.zeros(3)),
        "out": nir.Output(output_type={"output": np.array([3])}),
    }
    order = ["in", "dense1", "neurons1", "dense2", "neurons2", "out"]
    edges = [("neurons2", "out"), ("dense1", "neurons1"), ("in", "dense1"),
             ("neurons1", "dense2"), ("dense2", "neurons2")]
    path = tmp_path / "foreign.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges))
    assert main(["nir", "import", str(path), "--timesteps", "9", "--out",
                 str(tmp_path / "imp")]) == 0
    ckpt = load_checkpoint(tmp_path / "imp" / "checkpoint.pt")
    assert ckpt.model.spec.layers == (5, 10, 3) and ckpt.neuron.leak == 0.5
    assert ckpt.neuron.threshold == 0.25 and ckpt.dataset == ""
    x = (rng.random((9, 32, 5)) < 0.5).astype(np.float32)   # binary spikes, exact sums
    with torch.no_grad():
        y, trace = ckpt.model(torch.from_numpy(x).transpose(0, 1))
    assert trace.spikes[-1].sum() > 0
    assert np.array_equal(trace.spikes[-1].numpy(), _reference(nodes, order, x, 1.0))


def _tiny_graph(**changes):
    w1, w2 = np.ones((4, 3), np.float32), np.ones((2, 4), np.float32)

    def lif(n, **kw):
        p = dict(tau=np.full(n, 4.0), r=np.full(n, 4.0), v_leak=np.zeros(n),
                 v_threshold=np.full(n, 0.5), v_reset=np.zeros(n))
        p.update(kw)
        return nir.LIF(**p)

    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "fc0": nir.Linear(weight=w1), "lif0": lif(4, **changes.pop("lif0", {})),
             "fc1": nir.Linear(weight=w2), "lif1": lif(2),
             "output": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "fc0"), ("fc0", "lif0"), ("lif0", "fc1"), ("fc1", "lif1"),
             ("lif1", "output")]
    nodes.update(changes.pop("nodes", {}))
    edges += changes.pop("edges", [])
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("changes, needle", [
    (dict(lif0=dict(v_leak=np.full(4, 0.1))), "node 'lif0': v_leak other than 0"),
    (dict(lif0=dict(v_reset=np.full(4, -0.1))), "node 'lif0': v_reset other than 0"),
    (dict(lif0=dict(tau=np.array([4.0, 4.0, 2.0, 4.0]))), "node 'lif0': its neurons have "
                                                          "different leaks"),
    (dict(lif0=dict(tau=np.full(4, 2.0))), "node 'lif1': leak 0.75 differs"),
    (dict(lif0=dict(tau=np.full(4, 0.5))), "gives a negative leak"),
    (dict(nodes={"fc1": nir.Affine(weight=np.ones((2, 4)), bias=np.ones(2))}),
     "node 'fc1' has a non-zero bias"),
    (dict(edges=[("lif1", "fc0")]), "node 'fc0' has 2 incoming edges"),
    (dict(nodes={"lif1": nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2),
                                     v_leak=np.zeros(2), v_threshold=np.ones(2))}),
     "node 'lif1': NIR CubaLIF has no dfasim form"),
    (dict(nodes={"lif1": nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2))}),
     "node 'lif1': NIR LI has no dfasim form"),
])
def test_bad_graphs_are_one_line(tmp_path, capsys, changes, needle):
    path = tmp_path / "bad.nir"
    nir.write(path, _tiny_graph(**changes))
    rc = main(["nir", "import", str(path), "--timesteps", "4", "--out", str(tmp_path / "o")])
    _one_line(capsys, rc, needle)
    assert not (tmp_path / "o").exists()


def test_a_recurrent_subgraph_is_one_line():
    sub = _tiny_graph()
    graph = _tiny_graph(nodes={"lif1": sub})
    with pytest.raises(DfasimError, match="node 'lif1' is a subgraph"):
        nir_io.import_graph(graph)


def test_missing_timesteps_and_bad_files_are_one_line(tmp_path, capsys):
    path = tmp_path / "g.nir"
    nir.write(path, _tiny_graph())
    _one_line(capsys, main(["nir", "import", str(path), "--out", str(tmp_path / "o")]),
              "give --timesteps")
    _one_line(capsys, main(["nir", "import", str(tmp_path / "nope.nir")]), "does not exist")
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"not hdf5")
    _one_line(capsys, main(["nir", "import", str(junk)]), "is not a readable NIR graph")
    _one_line(capsys, main(["nir", "import", str(path), "--dt", "0"]), "positive number")


@pytest.mark.parametrize("neuron, needle", [(dict(reset="soft"), "reset 'soft' has no NIR"),
                                            (dict(reset="none"), "reset 'none' has no NIR")])
def test_what_nir_cannot_say_is_not_exported(tmp_path, capsys, neuron, needle):
    rc = main(["nir", "export", str(_checkpoint(tmp_path, **neuron)), "--out", str(tmp_path)])
    _one_line(capsys, rc, needle)


def test_an_imported_graph_adapts_and_is_priced(tmp_path, capsys):
    """The imported checkpoint goes through dfasim adapt and dfasim cost like a trained one."""
    src = _checkpoint(tmp_path, layers=(6, 16, 4), timesteps=100)
    nir_io.export_checkpoint(src, tmp_path / "g")
    ckpt = nir_io.import_file(tmp_path / "g" / "network.nir", tmp_path / "imp")
    run = tmp_path / "adapt"
    adapt(AdaptConfig(checkpoint=str(ckpt), chips=1, epochs=1, noise="crosssim",
                      calibration_samples=16), run, progress=False)
    saved = json.loads((run / "adapt.json").read_text())
    assert saved["layers"] == [6, 16, 4]
    assert saved["feedback"].startswith("the checkpoint's own")
    assert main(["cost", "adapt", str(run / "adapt.json"), "--out", str(tmp_path / "c")]) == 0
    assert "DFA" in capsys.readouterr().out


# snnTorch 1.0 exports through nirtorch's older entry point, which warns about itself.
@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph is being deprecated")
def test_a_graph_written_by_snntorch(tmp_path):
    snn = pytest.importorskip("snntorch", reason="snnTorch (optional extra nir-interop) is "
                                                 "not installed")
    pytest.importorskip("nirtorch", reason="snnTorch exports through nirtorch")
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 20, bias=False),
        snn.Leaky(beta=torch.full((20,), 0.75), threshold=torch.full((20,), 0.5),
                  reset_mechanism="zero", init_hidden=True),
        torch.nn.Linear(20, 4, bias=False),
        snn.Leaky(beta=torch.full((4,), 0.75), threshold=torch.full((4,), 0.5),
                  reset_mechanism="zero", init_hidden=True))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3.0)
    path = tmp_path / "snntorch.nir"
    nir.write(path, export_to_nir(net, torch.zeros(6)))
    # snnTorch writes tau = dt / (1 - beta), R = tau / dt with dt = 1e-4.
    out = nir_io.import_file(path, tmp_path / "imp", timesteps=10, dt=1e-4)
    ckpt = load_checkpoint(out)
    assert ckpt.model.spec.layers == (6, 20, 4)
    assert ckpt.neuron.leak == pytest.approx(0.75, abs=1e-6)
    x = torch.randn(32, 10, 6, generator=torch.Generator().manual_seed(2))
    utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([net(x[:, t]) for t in range(10)]).mean(dim=0)
        ours, trace = ckpt.model(x)
    assert trace.spikes[0].sum() > 0 and theirs.sum() > 0
    assert torch.equal(ours, theirs)


# --- convolutional networks (golden/conv.py) ---

def _conv_checkpoint(pool="avg", readout="mean", vote_group=1, **layer):
    from dfasim.golden.architecture import Architecture, ConvLayer, DenseLayer
    from dfasim.golden.conv import SpikingNetwork

    arch = Architecture("tiny-conv", (2, 8, 8), (
        ConvLayer(2, 4, 3, 1, 1, pool=pool, **layer), ConvLayer(4, 6, 3, 2, 0),
        DenseLayer(6 * 1 * 1 if pool else 6 * 3 * 3, 3 * vote_group)), 6, 3, readout,
        vote_group)
    cfg = NeuronConfig(leak=0.8, threshold=0.5)
    model = SpikingNetwork(arch, cfg.to_lif(), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for w in model.weights:
            w.mul_(4.0)
    model.eval()
    return Checkpoint(model, cfg, "bptt", {}, None, None, "", {})


@pytest.mark.parametrize("kw", [dict(), dict(pool=None), dict(readout="vote", vote_group=2)])
def test_conv_round_trip_is_bit_for_bit(tmp_path, kw):
    ckpt = _conv_checkpoint(**kw)
    path = nir_io.write_graph(nir_io.export_graph(ckpt), tmp_path / "conv.nir")
    kinds = [type(n).__name__ for n in nir.read(path).nodes.values()]
    assert "Conv2d" in kinds and "Flatten" in kinds
    assert ("AvgPool2d" in kinds) == (kw.get("pool", "avg") == "avg")
    back = nir_io.to_checkpoint(nir_io.import_graph(nir_io.read_graph(path)))
    assert back.model.architecture == ckpt.model.architecture
    x = (torch.rand(8, 6, 2, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    with torch.no_grad():
        (ya, ta), (yb, tb) = ckpt.model(x), back.model(x)
    assert torch.equal(ya, yb)
    for sa, sb in zip(ta.spikes, tb.spikes):
        assert torch.equal(sa, sb) and sa.sum() > 0


@pytest.mark.parametrize("kw, needle", [(dict(pool="max"), "max pooling has no NIR node"),
                                        (dict(batch_norm=True), "batch norm")])
def test_conv_layers_nir_cannot_say_are_one_line(kw, needle):
    with pytest.raises(DfasimError, match=needle):
        nir_io.export_graph(_conv_checkpoint(**kw))


def test_a_hand_built_conv_graph_with_a_sum_pool(tmp_path):
    """Conv2d (padding 'same') -> LIF (R = 1) -> SumPool2d -> Flatten -> Linear -> LIF, checked
    against NIR's equations stepped in float64."""
    rng = np.random.default_rng(7)
    wc = (rng.integers(-4, 5, (3, 1, 3, 3)) / 4.0).astype(np.float32)
    wd = (rng.integers(-4, 5, (2, 3 * 2 * 2)) / 4.0).astype(np.float32)

    def lif(shape, tau, theta):
        return nir.LIF(tau=np.full(shape, tau), r=np.ones(shape), v_leak=np.zeros(shape),
                       v_threshold=np.full(shape, theta), v_reset=np.zeros(shape))

    nodes = {"in": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=(4, 4), weight=wc, stride=1, padding="same",
                                dilation=1, groups=1, bias=np.zeros(3)),
             "lif_c": lif((3, 4, 4), 2.0, 0.25),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                   padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type={"input": np.array([3, 2, 2])}, start_dim=0),
             "fc": nir.Linear(weight=wd), "lif_d": lif((2,), 2.0, 0.5),
             "out": nir.Output(output_type={"output": np.array([2])})}
    names = list(nodes)
    path = tmp_path / "conv.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])),
                                 type_check=False))
    ckpt = nir_io.to_checkpoint(nir_io.import_graph(nir_io.read_graph(path)), timesteps=8)
    arch = ckpt.model.architecture
    assert arch.input_shape == (1, 4, 4) and arch.layers[0].pool == "avg"
    assert arch.layers[0].padding == 1 and ckpt.neuron.leak == 0.5
    x = (rng.random((8, 16, 1, 4, 4)) < 0.5).astype(np.float32)
    with torch.no_grad():
        _, trace = ckpt.model(torch.from_numpy(x).transpose(0, 1))

    def neurons(current, node):
        v, out = torch.zeros_like(current[0]), []
        for c in current:
            v = v + 1.0 / float(node.tau.flat[0]) * (-v + c)
            z = v > torch.from_numpy(node.v_threshold)
            v = torch.where(z, torch.zeros_like(v), v)
            out.append(z.double())
        return torch.stack(out)

    h = torch.from_numpy(x).double()
    c = torch.nn.functional.conv2d(h.flatten(0, 1), torch.from_numpy(wc).double(), padding=1)
    s = neurons(c.reshape(8, 16, 3, 4, 4), nodes["lif_c"])
    pooled = torch.nn.functional.avg_pool2d(s.flatten(0, 1), 2) * 4
    d = pooled.reshape(8, 16, -1) @ torch.from_numpy(wd).double().T
    ref = neurons(d, nodes["lif_d"])
    assert ref.sum() > 0 and torch.equal(trace.spikes[-1].double(), ref)


def test_conv_graph_through_the_command_line(tmp_path, capsys):
    from dfasim.flows import checkpoint as checkpoints

    path = nir_io.write_graph(nir_io.export_graph(_conv_checkpoint()), tmp_path / "c.nir")
    rc = main(["nir", "import", str(path), "--out", str(tmp_path / "o")])
    if not hasattr(checkpoints, "SpikingNetwork"):
        _one_line(capsys, rc, "checkpoints hold spiking MLPs only")
        return
    assert rc == 0
    back = load_checkpoint(tmp_path / "o" / "checkpoint.pt")
    assert back.model.architecture.is_convolutional
    assert main(["nir", "export", str(tmp_path / "o" / "checkpoint.pt"), "--out",
                 str(tmp_path / "again")]) == 0


def _conv_graph(conv=None, theta=None):
    w = np.ones((2, 1, 3, 3), np.float32)
    conv = conv or dict(stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(2))
    theta = np.full((2, 4, 4), 0.5) if theta is None else theta
    nodes = {"in": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=(4, 4), weight=w, **conv),
             "lif": nir.LIF(tau=np.full((2, 4, 4), 4.0), r=np.full((2, 4, 4), 4.0),
                            v_leak=np.zeros((2, 4, 4)), v_threshold=theta,
                            v_reset=np.zeros((2, 4, 4))),
             "flat": nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=0),
             "fc": nir.Linear(weight=np.ones((3, 32), np.float32)),
             "lif2": nir.LIF(tau=np.full(3, 4.0), r=np.full(3, 4.0), v_leak=np.zeros(3),
                             v_threshold=np.full(3, 0.5), v_reset=np.zeros(3)),
             "out": nir.Output(output_type={"output": np.array([3])})}
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])), type_check=False)


@pytest.mark.parametrize("graph, needle", [
    (dict(conv=dict(stride=1, padding=1, dilation=2, groups=1, bias=np.zeros(2))),
     "node 'conv': grouped or dilated"),
    (dict(conv=dict(stride=(1, 2), padding=1, dilation=1, groups=1, bias=np.zeros(2))),
     r"node 'conv': stride \[1, 2\] is not one integer"),
    (dict(conv=dict(stride=1, padding=1, dilation=1, groups=1, bias=np.ones(2))),
     "node 'conv' has a non-zero bias"),
    (dict(theta=np.where(np.arange(32).reshape(2, 4, 4) == 5, 0.25, 0.5)),
     "differ within a channel"),
])
def test_bad_conv_graphs_are_one_line(graph, needle):
    with pytest.raises(DfasimError, match=needle):
        nir_io.import_graph(_conv_graph(**graph), dt=1.0)


def test_per_channel_thresholds_fold_into_the_kernels():
    theta = np.concatenate([np.full((1, 4, 4), 0.5), np.full((1, 4, 4), 0.25)])
    net = nir_io.import_graph(_conv_graph(theta=theta))
    assert net.threshold == 0.5
    assert np.all(net.weights[0][0] == 1.0) and np.all(net.weights[0][1] == 2.0)
