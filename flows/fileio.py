# SPDX-License-Identifier: MIT
"""Atomic file writes, so an interrupted run never leaves a half-written result behind."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from .errors import DfasimError

__all__ = ["atomic_write_bytes", "atomic_torch_save", "write_json", "read_text",
           "remove_stale_temporaries", "relative_to_run"]

#: Name of the temporary file of an atomic write of ``NAME`` by process ``PID``:
#: ``.NAME.tmpPID`` (the same pattern as :meth:`GPRNoiseModel.save`).
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.tmp(?P<pid>\d+)$")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one owned by another user counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists but is not ours, or a number no kernel would hand out: keep it
    return True


def _remove_if_stale(path: Path) -> bool:
    m = _TEMPORARY.match(path.name)
    if m is None or _pid_alive(int(m["pid"])):
        return False
    try:
        path.unlink()
    except OSError:  # gone already, or a read-only folder: nothing worth failing a run for
        return False
    return True


def remove_stale_temporaries(folder: str | Path, *, target: str | None = None) -> list[Path]:
    """Delete the temporary files that killed atomic writes left in ``folder`` (recursively).

    A temporary file ``.NAME.tmpPID`` is stale when process ``PID`` no longer exists; one that a
    live process (this one included) may still be writing is never touched.

    Parameters
    ----------
    folder : path
        Run folder; a missing folder is not an error.
    target : str, optional
        Only the temporaries of this file name, and only directly in ``folder`` (the check an
        atomic write makes before writing ``target`` again).

    Returns
    -------
    list of Path
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f".{target}.tmp*" if target is not None else ".*.tmp*"
    found = folder.glob(pattern) if target is not None else folder.rglob(pattern)
    return [p for p in sorted(found) if p.is_file() and _remove_if_stale(p)]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    Stale temporaries of the same target (left by a killed writer) are removed first. A folder
    that cannot be written is a one-line :class:`DfasimError`; the file it would have replaced
    is kept as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent, target=path.name)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise DfasimError(f"cannot write {path}: {exc.strerror or exc}") from None


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through an in-memory buffer and an atomic rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def write_json(path: str | Path, obj: Any) -> None:
    """Write indented, key-sorted JSON atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_text(path: str | Path, what: str) -> str:
    """The text of input file ``path``; :class:`DfasimError` ``cannot read WHAT PATH: reason``.

    A file that is not UTF-8 text (a binary given by mistake) is the same one-line error.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DfasimError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DfasimError(f"cannot read {what} {path}: not UTF-8 text (byte "
                          f"0x{exc.object[exc.start]:02x} at offset {exc.start})") from None


def relative_to_run(path: str | Path, run_dir: str | Path) -> str:
    """``path`` relative to run folder ``run_dir`` (POSIX separators), for recording in results.

    Results that name a file of the run by its absolute path would differ between two identical
    runs in different folders; relative to the run they do not, and stay valid when the folder
    is moved.
    """
    return Path(os.path.relpath(Path(path).absolute(), Path(run_dir).absolute())).as_posix()
