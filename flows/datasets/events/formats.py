# SPDX-License-Identifier: MIT
"""Event-file readers: N-MNIST / SLAYER ATIS records, AEDAT 3.1, AEDAT 4, Prophesee .dat, ST-MNIST.

Every reader returns a structured array of ``EVENT_DTYPE`` (fields ``x``, ``y``, ``t`` in µs,
``p`` = 1 for ON, 0 for OFF), in file order, decoded with vectorised numpy. A file that is
truncated, has a bad or missing header or records of the wrong size raises ``DatasetError``
with one line naming the file.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..base import DatasetError

__all__ = ["EVENT_DTYPE", "make_events", "read_atis_bin", "read_aedat31", "read_aedat4",
           "read_prophesee_dat", "read_stmnist_mat", "read_events", "ATIS_OVERFLOW_Y",
           "ATIS_OVERFLOW_US"]

#: One event: pixel column, pixel row, time (µs), polarity (1 = ON).
EVENT_DTYPE = np.dtype([("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "u1")])
#: N-MNIST: a record with this y is a timestamp-overflow marker, not an event.
ATIS_OVERFLOW_Y = 240
#: Each overflow marker adds this to the timestamps of all later records (Orchard's reader).
ATIS_OVERFLOW_US = 1 << 13

_AEDAT3_END = b"#!END-HEADER\r\n"
_AEDAT3_PACKET = struct.Struct("<hhiiiiii")  # type, source, size, tsOffset, tsOverflow,
#                                               capacity, number, valid: 28 bytes
_AEDAT3_POLARITY = 1


def _fail(path: str | os.PathLike, why: str) -> DatasetError:
    return DatasetError(f"event file {path}: {why}; the file is corrupt or not in this format")


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"event file {path}: cannot be read ({type(exc).__name__}: "
                           f"{exc.strerror or exc})") from exc


def make_events(x, y, t, p) -> np.ndarray:
    """Pack four equal-length arrays into an ``EVENT_DTYPE`` structured array."""
    ev = np.empty(len(t), dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev


def read_atis_bin(path: str | os.PathLike) -> np.ndarray:
    """N-MNIST 40-bit records (official ``.bin``, SLAYER ``.bs2``).

    Each 5-byte record: byte 0 = x, byte 1 = y, bit 7 of byte 2 = polarity, and a 23-bit
    timestamp (µs) made of the low 7 bits of byte 2, byte 3 and byte 4. A record with
    y = 240 is an overflow marker: it is dropped and adds 2**13 µs to every later timestamp,
    as the dataset's official reader does.
    """
    raw = np.frombuffer(_read_bytes(path), dtype=np.uint8)
    if raw.size % 5:
        raise _fail(path, f"{raw.size} bytes is not a multiple of the 5-byte record")
    rec = raw.reshape(-1, 5).astype(np.int64)
    t = ((rec[:, 2] & 0x7F) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    overflow = rec[:, 1] == ATIS_OVERFLOW_Y
    if overflow.any():
        t = t + np.cumsum(overflow) * ATIS_OVERFLOW_US
    keep = ~overflow
    return make_events(rec[keep, 0], rec[keep, 1], t[keep], rec[keep, 2] >> 7)


def _aedat3_header_end(data: bytes, path) -> int:
    if not data.startswith(b"#!AER-DAT3"):
        raise _fail(path, "no '#!AER-DAT3.x' first line")
    end = data.find(_AEDAT3_END)
    if end < 0:
        raise _fail(path, "the header has no '#!END-HEADER' line")
    return end + len(_AEDAT3_END)


def read_aedat31(path: str | os.PathLike) -> np.ndarray:
    """AEDAT 3.1 (IBM DVS Gesture): polarity events of every type-1 packet.

    After the ASCII ``#`` header (ending ``#!END-HEADER\\r\\n``) come packets of a 28-byte
    header (eventType, eventSource, eventSize, eventTSOffset, eventTSOverflow, eventCapacity,
    eventNumber, eventValid) and ``eventCapacity * eventSize`` bytes of events. A polarity
    event is a u32 data word and a u32 timestamp: x = bits 17-31, y = bits 2-16, p = bit 1;
    t = timestamp | eventTSOverflow << 31. Packets of other types are skipped.
    """
    data = _read_bytes(path)
    pos = _aedat3_header_end(data, path)
    n_bytes = len(data)
    chunks = []
    while pos < n_bytes:
        if pos + _AEDAT3_PACKET.size > n_bytes:
            raise _fail(path, f"truncated packet header at byte {pos}")
        etype, _src, esize, _tsoff, tsover, capacity, _number, _valid = \
            _AEDAT3_PACKET.unpack_from(data, pos)
        pos += _AEDAT3_PACKET.size
        length = capacity * esize
        if esize <= 0 or capacity < 0 or pos + length > n_bytes:
            raise _fail(path, f"packet at byte {pos - _AEDAT3_PACKET.size} claims "
                              f"{capacity} events of {esize} bytes, past the end of the file")
        if etype == _AEDAT3_POLARITY and capacity:
            if esize < 8:
                raise _fail(path, f"polarity events of {esize} bytes (need 8)")
            words = np.frombuffer(data, dtype="<u4", count=length // 4, offset=pos) \
                if esize % 4 == 0 else None
            if words is None:
                rec = np.frombuffer(data, dtype=np.uint8, count=length, offset=pos)
                rec = rec.reshape(capacity, esize)[:, :8].copy().view("<u4")
            else:
                rec = words.reshape(capacity, esize // 4)[:, :2]
            chunks.append((rec[:, 0], rec[:, 1].astype(np.int64) | (int(tsover) << 31)))
        pos += length
    if not chunks:
        return np.empty(0, dtype=EVENT_DTYPE)
    word = np.concatenate([c[0] for c in chunks])
    t = np.concatenate([c[1] for c in chunks])
    return make_events((word >> 17) & 0x7FFF, (word >> 2) & 0x7FFF, t, (word >> 1) & 1)


def read_aedat4(path: str | os.PathLike) -> np.ndarray:
    """AEDAT 4 (iniVation DV): the polarity events of the first event stream.

    Decoded with the MIT-licensed ``aedat`` package (LZ4 / zstd packets, flatbuffers).
    Timestamps stay the recording's absolute µs.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(14)
    except OSError as exc:
        raise DatasetError(f"event file {path}: cannot be read ({type(exc).__name__})") from exc
    if magic != b"#!AER-DAT4.0\r\n":
        raise _fail(path, "no '#!AER-DAT4.0' magic")
    try:
        import aedat
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DatasetError(f"event file {path}: reading AEDAT 4 needs the 'aedat' package; "
                           f"run `pip install aedat`") from exc
    try:
        decoder = aedat.Decoder(path)
        streams = [i for i, s in decoder.id_to_stream().items() if s.get("type") == "events"]
        if not streams:
            raise _fail(path, "no event stream")
        parts = [packet["events"] for packet in decoder
                 if packet.get("stream_id") == streams[0] and "events" in packet]
    except DatasetError:
        raise
    except Exception as exc:  # the Rust decoder raises plain exceptions on bad input
        raise _fail(path, f"AEDAT 4 decoder failed ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:120]})") from exc
    if not parts:
        return np.empty(0, dtype=EVENT_DTYPE)
    ev = np.concatenate(parts)
    return make_events(ev["x"], ev["y"], ev["t"].astype(np.int64), ev["on"])


def read_prophesee_dat(path: str | os.PathLike) -> np.ndarray:
    """Prophesee / Chronocam ``.dat`` (N-CARS): ``%`` header lines, then (version 2) one byte
    event type and one byte event size (must be 8), then ``<u4`` timestamp (µs) and ``<u4``
    data words: x = bits 0-13, y = bits 14-27, p = bits 28-31."""
    data = _read_bytes(path)
    pos = 0
    while data[pos:pos + 1] == b"%":
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise _fail(path, "the '%' header never ends")
        pos = nl + 1
    if pos == 0:
        raise _fail(path, "no '%' header")
    if len(data) < pos + 2:
        raise _fail(path, "no event-type / event-size bytes after the header")
    esize = data[pos + 1]
    pos += 2
    if esize != 8:
        raise _fail(path, f"event size {esize}, expected 8")
    if (len(data) - pos) % 8:
        raise _fail(path, f"{len(data) - pos} event bytes is not a multiple of 8")
    rec = np.frombuffer(data, dtype="<u4", offset=pos).reshape(-1, 2)
    word = rec[:, 1]
    return make_events(word & 0x3FFF, (word >> 14) & 0x3FFF, rec[:, 0].astype(np.int64),
                       ((word >> 28) & 0xF) > 0)


def read_stmnist_mat(path: str | os.PathLike, width: int = 10) -> np.ndarray:
    """ST-MNIST ``.mat``: ``spiketrain`` of shape ``(101, N)``; rows 0-99 are the taxels
    (+1 ON, -1 OFF, 0 none), row 100 the time in seconds. Taxel ``k`` is pixel
    ``(x, y) = (k % 10, k // 10)``."""
    try:
        import scipy.io
        mat = scipy.io.loadmat(str(path))
    except DatasetError:
        raise
    except Exception as exc:
        raise _fail(path, f"not a readable .mat ({type(exc).__name__})") from exc
    st = mat.get("spiketrain")
    if st is None or st.ndim != 2 or st.shape[0] != width * width + 1:
        raise _fail(path, f"no 'spiketrain' of shape ({width * width + 1}, N)")
    spikes, times = st[:-1].T, st[-1]
    row, taxel = np.nonzero(spikes)
    order = np.lexsort((taxel, row))
    row, taxel = row[order], taxel[order]
    return make_events(taxel % width, taxel // width, np.round(times[row] * 1e6).astype(np.int64),
                       spikes[row, taxel] > 0)


_BY_SUFFIX = {".bin": read_atis_bin, ".bs2": read_atis_bin, ".aedat": read_aedat31,
              ".aedat4": read_aedat4, ".dat": read_prophesee_dat, ".mat": read_stmnist_mat}


def read_events(path: str | os.PathLike) -> np.ndarray:
    """Read any supported file, chosen by suffix (``.aedat`` is AEDAT 3.1, ``.aedat4`` is 4)."""
    reader = _BY_SUFFIX.get(Path(path).suffix.lower())
    if reader is None:
        raise DatasetError(f"event file {path}: unknown suffix; supported: "
                           f"{', '.join(sorted(_BY_SUFFIX))}")
    return reader(path)
