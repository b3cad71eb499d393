# SPDX-License-Identifier: MIT
"""A reader for the UEA multivariate time-series ARFF format (one relational attribute)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["ArffSeries", "parse_uea_arff"]

_ATTRIBUTE = re.compile(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+)\s+(.*)$", re.IGNORECASE)
_NUMERIC = ("numeric", "real", "integer")


@dataclass(frozen=True)
class ArffSeries:
    """The content of one UEA ARFF file.

    Attributes
    ----------
    relation : str
        The ``@relation`` name.
    x : ndarray of float64, shape ``(N, C, T)``
        One row per instance, one relational line per channel; ``?`` becomes NaN.
    labels : tuple of str
        Class value of each instance.
    class_names : tuple of str
        The nominal values in declaration order.
    """

    relation: str
    x: np.ndarray
    labels: tuple[str, ...]
    class_names: tuple[str, ...]


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def _split_row(line: str, lineno: int) -> tuple[str, str]:
    """``'v,v\\nv,v',label`` -> (relational text, label)."""
    quote = line[0]
    if quote not in "'\"":
        raise ValueError(f"line {lineno}: relational value must be quoted")
    end = line.find(quote, 1)
    if end < 0:
        raise ValueError(f"line {lineno}: unterminated quote")
    rest = line[end + 1:].lstrip()
    if not rest.startswith(","):
        raise ValueError(f"line {lineno}: expected ',' and a class value after the series")
    return line[1:end], _unquote(rest[1:])


def _channel(text: str, length: int, lineno: int) -> list[float]:
    fields = text.split(",")
    if len(fields) != length:
        raise ValueError(f"line {lineno}: a channel has {len(fields)} values, the header "
                         f"declares {length}")
    return [float("nan") if f.strip() == "?" else float(f) for f in fields]


def parse_uea_arff(text: str) -> ArffSeries:
    """Parse a UEA multivariate ARFF file.

    The header declares one relational attribute holding ``T`` numeric attributes (the time
    steps) and a final nominal class attribute. Each data row is the quoted relational value,
    channels separated by a literal ``\\n`` and values by commas, then the class value.

    Parameters
    ----------
    text : str
        The whole file.

    Returns
    -------
    ArffSeries

    Raises
    ------
    ValueError
        On any deviation from that layout, naming the line.
    """
    relation = ""
    length = 0
    in_relational: str | None = None
    relational_seen = False
    class_names: tuple[str, ...] = ()
    lines = text.splitlines()
    data_start = None
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        low = line.lower()
        if low.startswith("@relation"):
            relation = _unquote(line[len("@relation"):])
        elif low.startswith("@end"):
            if in_relational is None:
                raise ValueError(f"line {i}: @end outside a relational attribute")
            in_relational = None
        elif low.startswith("@attribute"):
            m = _ATTRIBUTE.match(line)
            if m is None:
                raise ValueError(f"line {i}: malformed @attribute")
            name, kind = _unquote(m.group(1)), m.group(2).strip()
            if in_relational is not None:
                if kind.lower() not in _NUMERIC:
                    raise ValueError(f"line {i}: time step attribute {name!r} is {kind!r}, "
                                     f"only numeric is supported")
                length += 1
            elif kind.lower() == "relational":
                if relational_seen:
                    raise ValueError(f"line {i}: only one relational attribute is supported")
                in_relational, relational_seen = name, True
            elif kind.startswith("{") and kind.endswith("}"):
                class_names = tuple(_unquote(v) for v in kind[1:-1].split(","))
            else:
                raise ValueError(f"line {i}: unsupported attribute {name!r} of type {kind!r}")
        elif low.startswith("@data"):
            data_start = i
            break
        else:
            raise ValueError(f"line {i}: unexpected header line {line[:40]!r}")
    if data_start is None or not relational_seen or length == 0 or not class_names:
        raise ValueError("not a UEA multivariate ARFF file (needs a relational attribute with "
                         "numeric time steps, a nominal class attribute and @data)")
    rows: list[list[list[float]]] = []
    labels: list[str] = []
    for i, raw in enumerate(lines[data_start:], data_start + 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        series, label = _split_row(line, i)
        if label not in class_names:
            raise ValueError(f"line {i}: class {label!r} is not one of {class_names}")
        row = [_channel(ch, length, i) for ch in series.split("\\n")]
        if rows and len(row) != len(rows[0]):
            raise ValueError(f"line {i}: {len(row)} channels, earlier rows have {len(rows[0])}")
        rows.append(row)
        labels.append(label)
    if not rows:
        raise ValueError("no data rows")
    return ArffSeries(relation, np.asarray(rows, dtype=np.float64), tuple(labels), class_names)
