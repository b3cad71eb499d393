# SPDX-License-Identifier: MIT
"""Fetching official dataset files: download, unwrap, verify, then move into place."""
from __future__ import annotations

import http.client
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import DatasetError
from .checksums import file_digest
from .paths import Search

__all__ = ["Remote", "TIMEOUT_S", "download_file", "fetch", "missing_error"]

#: Socket timeout in seconds; an offline machine should fail fast, not hang.
TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Remote:
    """An official file and where to get it.

    Attributes
    ----------
    filename : str
        Name the file is saved (and looked for) under.
    urls : tuple of (url, member)
        Tried in order. ``member`` names the file inside a wrapper zip (the current UCI site
        serves the original archive inside another zip), or is ``None`` for a direct link.
    sha256, md5 : str, optional
        Expected digests of the saved file; ``None`` where no trustworthy value is known.
    """

    filename: str
    urls: tuple[tuple[str, str | None], ...]
    sha256: str | None = None
    md5: str | None = None

    @property
    def url(self) -> str:
        """The primary URL, quoted in messages."""
        return self.urls[0][0]


def download_file(url: str, dest: Path, timeout: float = TIMEOUT_S) -> None:
    """Stream ``url`` into ``dest`` (tests replace this function; it is the only network I/O)."""
    request = urllib.request.Request(url, headers={"User-Agent": "dfasim-datasets"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f, 1 << 20)


def missing_error(search: Search, what: str, remote: Remote, reason: str) -> DatasetError:
    """The one-line error for a file that is neither present nor obtainable."""
    target = search.target() or (search.dirs[0] if search.dirs else Path("."))
    hint = "" if remote.url in reason else f" (official URL: {remote.url})"
    return DatasetError(f"dataset {search.name}: {what} not found in {search.searched()} and "
                        f"{reason}; put it in {target}{hint}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _unwrap(wrapper: Path, member: str, dest: Path) -> None:
    with zipfile.ZipFile(wrapper) as z:
        names = [n for n in z.namelist()
                 if n.rsplit("/", 1)[-1] == member and not n.startswith("__MACOSX/")]
        if not names:
            raise ValueError(f"archive has no member {member!r}")
        with z.open(names[0]) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)


def _digest_problem(path: Path, remote: Remote) -> str | None:
    for algorithm, expected in (("sha256", remote.sha256), ("md5", remote.md5)):
        if expected:
            got = file_digest(path, algorithm)
            if got != expected:
                return f"{algorithm} mismatch: got {got[:16]}..., expected {expected[:16]}..."
    return None


def fetch(search: Search, remote: Remote, what: str | None = None,
          verify: Callable[[Path], str | None] | None = None) -> Path:
    """Download ``remote`` into the first writable data directory and return its path.

    Parameters
    ----------
    search : Search
        The lookup this download completes; ``search.download`` must allow it.
    remote : Remote
    what : str, optional
        How to name the missing file in messages (default ``'<filename>'``).
    verify : callable, optional
        Extra structural check of the downloaded file; returns a reason string on failure.

    Raises
    ------
    DatasetError
        When downloads are disabled, no directory is writable, or every URL failed (network,
        wrong checksum, failed ``verify``); nothing half-downloaded is left behind.
    """
    what = what or repr(remote.filename)
    if not search.download:
        raise missing_error(search, what, remote, "download=False")
    target = search.target(create=True)
    if target is None:
        raise missing_error(search, what, remote, "no data directory is writable for a download")
    dest = target / remote.filename
    part = target / (remote.filename + ".part")
    failures = []
    for url, member in remote.urls:
        wrapper = target / (remote.filename + ".wrapper.part")
        try:
            if member is None:
                download_file(url, part)
            else:
                download_file(url, wrapper)
                _unwrap(wrapper, member, part)
            problem = _digest_problem(part, remote) or (verify(part) if verify else None)
        except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError,
                zipfile.BadZipFile) as exc:
            problem = _one_line(exc)
        finally:
            wrapper.unlink(missing_ok=True)
        if problem is None:
            part.replace(dest)
            return dest
        part.unlink(missing_ok=True)
        failures.append(f"{url} ({problem})")
    raise missing_error(search, what, remote,
                        "could not be downloaded from " + " or ".join(failures))
