# SPDX-License-Identifier: MIT
"""Buffer controllers: the double-buffered (ping-pong) SRAM between pipeline stages."""
from .pingpong import PingPongBuffer, buffer_depth

__all__ = ["PingPongBuffer", "buffer_depth"]
