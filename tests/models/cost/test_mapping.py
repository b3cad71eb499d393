# SPDX-License-Identifier: MIT
"""Mapping of the Table I networks onto tiles: counts, the DFA B tile, no shared tiles, misfits."""
import numpy as np
import pytest

from dfasim.models.chip import ChipConfig
from dfasim.models.cost import map_network
from dfasim.models.crossbar import AnalogMatrix
from dfasim.models.rram.noise import IdealDevice

FMNIST = [784, 512, 256, 128, 64, 10]
UCI = [9, 128, 64, 32, 6]
HHAR = [6, 256, 128, 64, 6]


def _p(**changes):
    """Table II with ``part__field=value`` changes, validated."""
    return ChipConfig().updated({k.replace("__", "."): v for k, v in changes.items()}).validate()


@pytest.mark.parametrize("layers, bp_tiles, b_crossbars, b_dup", [
    (FMNIST, 5, 8, 2),       # B: 512/128 + 256/128 + 1 + 1 crossbars of 128 outputs
    (UCI, 4, 3, 5),
    (HHAR, 4, 4, 4),
])
def test_table1_tiles(layers, bp_tiles, b_crossbars, b_dup):
    p = _p()
    bp, dfa = map_network(layers, p, "bp"), map_network(layers, p, "dfa")
    assert int(bp.n_tiles) == bp_tiles and int(bp.b_tiles) == 0
    assert int(dfa.n_tiles) == bp_tiles + 1          # one extra tile holds every B_l
    assert int(dfa.layer_tiles) == bp_tiles
    assert int(sum(dfa.b_crossbars)) == b_crossbars and int(dfa.b_dup) == b_dup
    assert int(dfa.b_dup) * b_crossbars <= 16
    # BP's WGU serves one layer at a time, DFA's all layers at once.
    words = [o * i for o, i in bp.shapes]
    assert bp.wgu_words == max(words) and dfa.wgu_words == sum(words)
    assert bp.wgu_banks == 1 and dfa.wgu_banks == len(words)


def test_fashion_first_layer_fills_one_tile():
    m = map_network(FMNIST, _p(), "bp")
    # 784 rows -> 4 row tiles; 512 outputs / 128 per crossbar -> 4 column tiles.
    assert (int(m.row_tiles[0]), int(m.col_tiles[0]), int(m.crossbars[0])) == (4, 4, 16)
    assert [int(t) for t in m.tiles] == [1, 1, 1, 1, 1]


def test_tiles_agree_with_the_crossbar_model():
    # One chip description read by both the simulator and the mapping: same tiles, any chip.
    for chip in (_p(), _p(crossbar__rows=128, crossbar__cols=64),
                 _p(device__mapping="offset", hierarchy__crossbars_per_pe=2)):
        for layers in (FMNIST, UCI, HHAR):
            m = map_network(layers, chip, "bp")
            for (n_out, n_in), t in zip(m.shapes, m.tiles):
                assert AnalogMatrix(n_out, n_in, chip, IdealDevice()).n_tiles == int(t)


def test_no_two_layers_share_a_tile():
    for dup in (1, 2, 0):
        m = map_network(FMNIST, _p(mapping__weight_duplication=dup), "dfa")
        spans = [(int(s), int(s + t)) for s, t in zip(m.tile_start, m.tiles)]
        assert spans[0][0] == 0
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            assert a1 == b0 and a1 > a0          # consecutive, disjoint, non-empty
        assert spans[-1][1] == int(m.layer_tiles)


def test_weight_duplication():
    m = map_network(FMNIST, _p(mapping__weight_duplication=2), "bp")
    assert int(m.tiles[0]) == 2 and int(m.dup[0]) == 2
    fill = map_network(UCI, _p(mapping__weight_duplication=0), "bp")
    # Every UCI-HAR layer is one crossbar: 16 copies fill its own tile, no extra tiles.
    assert [int(d) for d in fill.dup] == [16] * 4 and int(fill.n_tiles) == 4


def test_shapes_that_do_not_fit():
    # B of a 4096-neuron hidden layer needs 32 crossbars: more than one tile of 16.
    m = map_network([784, 4096, 10], _p(), "dfa")
    assert not bool(m.feasible)
    with pytest.raises(ValueError, match="B tile"):
        m.check()
    assert map_network([784, 4096, 10], _p(mapping__b_tiles=2), "dfa").check()
    with pytest.raises(ValueError, match="max_tiles=3"):
        map_network(UCI, _p(hierarchy__max_tiles=3), "bp").check()
    with pytest.raises(ValueError, match="B tile"):
        map_network(UCI, _p(mapping__b_duplication=6), "dfa").check()   # 6 x 3 > 16
    with pytest.raises(ValueError, match="at least two positive layer sizes"):
        map_network([9], _p(), "bp")


def test_vectorised_mapping():
    sizes = np.array([64, 128, 256])
    p = _p().updated({"crossbar.rows": sizes, "crossbar.cols": sizes})
    m = map_network(FMNIST, p, "dfa")
    np.testing.assert_array_equal(m.crossbars[0], [13 * 16, 7 * 8, 4 * 4])
    # Small crossbars: B needs 16 + 8 + 4 + 2 = 30 crossbars of 32 outputs, too many.
    np.testing.assert_array_equal(m.feasible, [False, True, True])


def test_config_validation_is_one_line():
    chip = ChipConfig()
    chip.crossbar.rows = 0
    with pytest.raises(ValueError, match=r"^crossbar.rows must be >= 2") as e:
        chip.validate()
    assert "\n" not in str(e.value)
    chip = ChipConfig()
    chip.device.g_min_us = 20.0
    with pytest.raises(ValueError, match="g_min_us"):
        chip.validate()
