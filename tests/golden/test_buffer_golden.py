# SPDX-License-Identifier: MIT
"""Sizing, address generation and ping-pong order of the buffer controller reference."""
import pytest
import torch

from dfasim.golden import stimulus
from dfasim.golden.buffer import (
    GLOBAL_BUFFER_BYTES, PE_BUFFER_BYTES, TILE_BUFFER_BYTES, buffer_addresses, buffer_depth,
    pingpong_transfer,
)


def test_table_ii_buffer_depths():
    assert (GLOBAL_BUFFER_BYTES, TILE_BUFFER_BYTES, PE_BUFFER_BYTES) == (16384, 4096, 1024)
    assert buffer_depth(GLOBAL_BUFFER_BYTES, 16) == 8192
    assert buffer_depth(TILE_BUFFER_BYTES, 16) == 2048
    assert buffer_depth(PE_BUFFER_BYTES, 16) == 512
    assert buffer_depth(PE_BUFFER_BYTES, 64) == 128
    # 1 KB of 24-bit words is 341 words; the address space rounds down to 256.
    assert buffer_depth(PE_BUFFER_BYTES, 24) == 256


def test_addresses_wrap_around():
    assert buffer_addresses(14, 5, depth=16).tolist() == [14, 15, 0, 1, 2]
    assert buffer_addresses(0, 6, stride=3, depth=8).tolist() == [0, 3, 6, 1, 4, 7]
    assert buffer_addresses(1, 3, stride=-1, depth=4).tolist() == [1, 0, 3]
    assert buffer_addresses(5, 0, depth=8).tolist() == []


def test_pingpong_returns_frames_in_fifo_order():
    lengths = [3, 8, 1, 5, 8, 2, 7]
    frames = [stimulus.random_ints(n, 12, signed=False, seed=50 + i)
              for i, n in enumerate(lengths)]
    res = pingpong_transfer(frames, depth=16, width=12)
    assert torch.equal(res.words, torch.cat(frames))
    assert all(torch.equal(a, b) for a, b in zip(res.frames, frames))


def test_pingpong_banks_addresses_and_phases():
    frames = [torch.tensor([7, 8, 9]), torch.tensor([1, 2]), torch.tensor([4])]
    res = pingpong_transfer(frames, depth=8, width=4)
    # Bank 0 = addresses 0-3, bank 1 = 4-7 (address MSB); frames alternate banks from bank 0.
    assert res.write_addresses.tolist() == [0, 1, 2, 4, 5, 0]
    assert res.read_addresses.tolist() == [0, 1, 2, 4, 5, 0]
    assert res.phases == ((0, 0, None, None), (1, 1, 0, 0), (2, 0, 1, 1), (None, None, 2, 0))


def test_pingpong_stale_data_is_never_read():
    # A long frame then a short one in the same bank: only the short frame's words come back.
    frames = [torch.arange(4), torch.arange(4) + 10, torch.tensor([99])]
    res = pingpong_transfer(frames, depth=8)
    assert res.frames[2].tolist() == [99]


def test_pingpong_signed_words_and_empty_input():
    frames = [torch.tensor([-128, 127]), torch.tensor([-1])]
    res = pingpong_transfer(frames, depth=4, width=8, signed=True)
    assert res.words.tolist() == [-128, 127, -1]
    res = pingpong_transfer([], depth=4)
    assert res.words.numel() == 0 and res.phases == ()


@pytest.mark.parametrize("call, exc, text", [
    (lambda: buffer_depth(0, 16), ValueError, "size_bytes must be >= 1, not 0"),
    (lambda: buffer_depth(1, 16), ValueError, "does not fit"),
    (lambda: buffer_depth(1024, 0), ValueError, "word_bits must be >= 1, not 0"),
    (lambda: buffer_addresses(0, 4, depth=12), ValueError, "power of two, not 12"),
    (lambda: buffer_addresses(16, 4, depth=16), ValueError, "base must be <= 15, not 16"),
    (lambda: buffer_addresses(0, -1, depth=16), ValueError, "count must be >= 0, not -1"),
    (lambda: pingpong_transfer([torch.arange(5)], depth=8), ValueError, "1 .. 4 words"),
    (lambda: pingpong_transfer([torch.tensor([16])], depth=8, width=4), ValueError,
     r"frames\[0\] holds 16"),
    (lambda: pingpong_transfer([torch.tensor([-1])], depth=8), ValueError, "holds -1"),
    (lambda: pingpong_transfer([torch.tensor([1])], depth=1), ValueError,
     "depth must be >= 2, not 1"),
    (lambda: pingpong_transfer([torch.tensor([1.0])], depth=8), TypeError, "int64"),
])
def test_validation(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
