# SPDX-License-Identifier: MIT
"""Hand vectors and properties of the shift-adder and partial-sum accumulator references."""
import pytest
import torch

from dfasim.golden import stimulus
from dfasim.golden.psum import differential_codes, psum_accumulate, psum_stream, shift_add


def t(*values):
    return torch.tensor(values, dtype=torch.int64)


def slice_weights(w: torch.Tensor, n_slices: int, bits: int = 4):
    """Split signed weights into differential pairs of ``n_slices`` unsigned ``bits``-bit cells."""
    pos, neg = torch.clamp(w, min=0), torch.clamp(-w, min=0)
    mask = (1 << bits) - 1
    return ([(pos >> (bits * k)) & mask for k in range(n_slices)],
            [(neg >> (bits * k)) & mask for k in range(n_slices)])


# --- differential codes and shift-add ------------------------------------------------------------

def test_differential_codes():
    assert differential_codes(t(15, 0, 7), t(0, 15, 7)).tolist() == [15, -15, 0]
    with pytest.raises(ValueError, match="pos holds 16"):
        differential_codes(t(16), t(0))
    with pytest.raises(ValueError, match="neg holds -1"):
        differential_codes(t(0), t(-1))


def test_shift_add_hand_vectors():
    # slice k has weight 2**(4k): 3 - 2*16 = -29; 1 + 2*16 + 3*256 = 801.
    assert shift_add(t(3, -2)[:, None])[0].tolist() == [-29]
    psum, ovf = shift_add(t(1, 2, 3)[:, None])
    assert psum.tolist() == [801] and ovf.tolist() == [False]
    # Other slice widths: 2-bit cells, 1 + 1*4 + 1*16 = 21.
    assert shift_add(t(1, 1, 1)[:, None], slice_bits=2, code_width=3)[0].tolist() == [21]


def test_shift_add_saturates_once_at_the_output():
    # 15 + 15*16 = 255 does not fit 8 bits; -255 clamps to -128; 15 - 16 = -1 fits.
    codes = torch.tensor([[15, -15, 15], [15, -15, -1]])  # (S=2, N=3)
    psum, ovf = shift_add(codes, acc_width=8)
    assert psum.tolist() == [127, -128, -1]
    assert ovf.tolist() == [True, True, False]


def test_shift_add_equals_the_integer_dot_product():
    # Layer slice: 64 rows x 10 columns of 8-bit magnitude weights (2 cells per sign), batch 5.
    rows, cols, n_slices = 64, 10, 2
    w = stimulus.random_ints((rows, cols), 9, low=-255, high=255, seed=31)
    s = stimulus.random_spikes((5, rows), rate=0.3, seed=32)
    pos, neg = slice_weights(w, n_slices)
    # Ideal (unclipped) ADC: the code of slice k is the column sum of s * cell.
    codes = torch.stack([s @ pos[k] - s @ neg[k] for k in range(n_slices)])
    psum, ovf = shift_add(codes, code_width=12, acc_width=24)
    assert not bool(ovf.any())
    assert torch.equal(psum, s @ w)


def test_row_tiles_through_shift_add_and_accumulator_equal_the_full_dot_product():
    rows, cols, n_slices, tile = 600, 7, 3, 256
    w = stimulus.random_ints((rows, cols), 13, low=-4095, high=4095, seed=33)
    s = stimulus.all_ones_spikes((2, rows))
    pos, neg = slice_weights(w, n_slices)
    partial = []
    for r0 in range(0, rows, tile):
        sl = slice(r0, r0 + tile)
        codes = torch.stack([s[:, sl] @ pos[k][sl] - s[:, sl] @ neg[k][sl]
                             for k in range(n_slices)])
        partial.append(shift_add(codes, code_width=13, acc_width=32)[0])
    acc, ovf = psum_accumulate(torch.stack(partial), acc_width=32)
    assert len(partial) == 3 and not bool(ovf.any())
    assert torch.equal(acc, s @ w)


# --- accumulator ----------------------------------------------------------------------------------

def test_saturation_is_order_dependent():
    # 8-bit: 100 + 100 clamps to 127, then -100 gives 27; the other order never clamps.
    acc, ovf = psum_accumulate(t(100, 100, -100), acc_width=8)
    assert (int(acc), bool(ovf)) == (27, True)
    acc, ovf = psum_accumulate(t(100, -100, 100), acc_width=8)
    assert (int(acc), bool(ovf)) == (100, False)


def test_overflow_flag_is_sticky():
    acc, ovf = psum_accumulate(t(127, 1, -1), acc_width=8)
    assert (int(acc), bool(ovf)) == (126, True)
    acc, ovf = psum_accumulate(t(-128, -1, 1), acc_width=8)
    assert (int(acc), bool(ovf)) == (-127, True)


def test_accumulator_equals_the_sum_without_overflow_and_stays_in_range():
    small = stimulus.random_ints((8, 4, 32), 10, seed=34)
    acc, ovf = psum_accumulate(small, acc_width=16, in_width=10)
    assert torch.equal(acc, small.sum(0)) and not bool(ovf.any())
    big = stimulus.random_ints((8, 4, 32), 16, seed=35)
    acc, ovf = psum_accumulate(big, acc_width=12, in_width=16)
    assert int(acc.min()) >= -2048 and int(acc.max()) <= 2047
    exact = big.sum(0)
    fits = (exact >= -2048) & (exact <= 2047)
    assert torch.equal(acc[~ovf], exact[~ovf])  # no clamp -> exact
    assert bool(ovf[~fits].all())  # an out-of-range sum must have clamped


def test_stream_groups_clear_on_last():
    codes = t(1, 2, 3, 4, 5, 6)[:, None]
    sums, ovf = psum_stream(codes, t(0, 1, 0, 0, 1, 0))
    assert sums[:, 0].tolist() == [3, 12]  # the trailing 6 has no `last` and is not emitted
    assert ovf[:, 0].tolist() == [False, False]
    # A group that clamps does not leak its overflow flag (or value) into the next one.
    sums, ovf = psum_stream(t(100, 100, 5, -3)[:, None], torch.tensor([False, True, False, True]),
                            acc_width=8)
    assert sums[:, 0].tolist() == [127, 2]
    assert ovf[:, 0].tolist() == [True, False]


def test_stream_lanes_are_independent_and_match_accumulate():
    codes = stimulus.random_ints((12, 3, 5), 8, seed=36)
    last = torch.zeros(12, dtype=torch.bool)
    last[[3, 7, 11]] = True
    sums, ovf = psum_stream(codes, last, acc_width=9, in_width=8)
    for g, (a, b) in enumerate([(0, 4), (4, 8), (8, 12)]):
        acc, flag = psum_accumulate(codes[a:b], acc_width=9, in_width=8)
        assert torch.equal(sums[g], acc) and torch.equal(ovf[g], flag), f"group {g}"


def test_stream_without_last_emits_nothing():
    sums, ovf = psum_stream(t(1, 2)[:, None], t(0, 0))
    assert sums.shape == (0, 1) and ovf.shape == (0, 1)


@pytest.mark.parametrize("call, exc, text", [
    (lambda: psum_accumulate(t(40000)), ValueError, "codes holds 40000"),
    (lambda: psum_accumulate(t(1), acc_width=0), ValueError, "acc_width must be >= 1, not 0"),
    (lambda: psum_accumulate(t(1), in_width=64), ValueError, "in_width must be <= 63, not 64"),
    (lambda: psum_stream(t(1, 2), t(0, 2)), ValueError, "last holds 2"),
    (lambda: psum_stream(t(1, 2), t(1)), ValueError, "last must be a tensor of shape"),
    (lambda: shift_add(t(16)), ValueError, "slice_codes holds 16"),
    (lambda: shift_add(t(1), slice_bits=0), ValueError, "slice_bits must be >= 1, not 0"),
    (lambda: shift_add(torch.zeros(20, 1, dtype=torch.int64)), ValueError, "more than 63 bits"),
    (lambda: shift_add(torch.ones(1)), TypeError, "int64"),
])
def test_validation(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
