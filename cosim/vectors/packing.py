# SPDX-License-Identifier: MIT
"""Fast packing of stream payloads into the integers a simulator drives, read from the layout."""
from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib import data

__all__ = ["fast_packer"]


def fast_packer(layout: data.Layout):
    """Return ``pack(value) -> int`` equal to ``layout.const(value).as_bits()``, only faster.

    ``value`` is a dict for a struct, a list for an array (nested arrays as nested lists) and
    an int for a scalar field. Offsets and widths are read from the layout itself, so the
    packing cannot drift from the RTL.
    """
    def build(shape):
        if isinstance(shape, data.StructLayout):
            fields = [(name, field.offset, build(field.shape)) for name, field in shape]

            def pack_struct(value, base):
                word = 0
                for name, offset, sub in fields:
                    word |= sub(value[name], base + offset)
                return word
            return pack_struct
        if isinstance(shape, data.ArrayLayout):
            step = Shape.cast(shape.elem_shape).width
            sub = build(shape.elem_shape)

            def pack_array(value, base):
                word = 0
                for k, x in enumerate(value):
                    word |= sub(x, base + k * step)
                return word
            return pack_array
        mask = (1 << Shape.cast(shape).width) - 1
        return lambda value, base: (value & mask) << base

    packer = build(layout)
    return lambda value: packer(value, 0)
