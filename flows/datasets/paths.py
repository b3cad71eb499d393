# SPDX-License-Identifier: MIT
"""Where datasets are looked for and where downloads go."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "Search", "resolve_data_dirs", "user_cache_dir", "repo_root", "download_dir",
           "format_dirs"]

#: Environment variable naming extra data directories (``os.pathsep``-separated).
ENV_VAR = "DFASIM_DATA"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dfasim``, or ``~/.cache/dfasim``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "dfasim"


def repo_root() -> Path | None:
    """The checkout holding this package (a folder with ``pyproject.toml`` and ``flows/``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "flows").is_dir():
            return parent
    return None


def _explicit_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    dirs = [] if data_dir is None else [Path(data_dir).expanduser()]
    env = os.environ.get(ENV_VAR, "")
    dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    return dirs + [user_cache_dir()]


def _dedupe(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for p in paths:
        key = p.resolve() if p.exists() else p.absolute()
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def resolve_data_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for dataset files, in order.

    Parameters
    ----------
    data_dir : path, optional
        Searched first.

    Returns
    -------
    list of Path
        ``data_dir``, then each entry of ``$DFASIM_DATA``, then the user cache directory, then
        the bundled offline copies ``<repo>/shared/datasets`` and ``<repo>/../shared/datasets``
        (only those that exist). Earlier directories win when a file is in several.
    """
    dirs = _explicit_dirs(data_dir)
    root = repo_root()
    if root is not None:
        dirs += [d for d in (root / "shared" / "datasets", root.parent / "shared" / "datasets")
                 if d.is_dir()]
    return _dedupe(dirs)


def _writable(d: Path, create: bool) -> bool:
    if create:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
    else:
        # Without creating anything: the nearest existing ancestor must accept a new folder.
        while not d.exists():
            if d.parent == d:
                return False
            d = d.parent
        if not d.is_dir():
            return False
    return os.access(d, os.W_OK | os.X_OK)


def download_dir(data_dir: str | os.PathLike | None = None, create: bool = True
                 ) -> Path | None:
    """First writable of ``data_dir``, ``$DFASIM_DATA`` and the user cache.

    Parameters
    ----------
    data_dir : path, optional
    create : bool
        Create the chosen directory; with ``False`` nothing on disk changes (for messages).

    Returns
    -------
    Path or None
        ``None`` when none is writable. The bundled copies are never written to.
    """
    for d in _dedupe(_explicit_dirs(data_dir)):
        if _writable(d, create):
            return d
    return None


def format_dirs(dirs: list[Path]) -> str:
    """``"/a, /b"`` for error messages."""
    return ", ".join(str(d) for d in dirs) if dirs else "(no directories)"


class Search:
    """Where one ``load_dataset`` call looks for files, and whether it may download.

    Parameters
    ----------
    name : str
        Canonical dataset name (used in error messages).
    data_dir : path, optional
        The caller's explicit directory.
    download : bool
        Whether missing official files may be fetched.
    """

    def __init__(self, name: str, data_dir: str | os.PathLike | None = None,
                 download: bool = True) -> None:
        self.name = name
        self.data_dir = data_dir
        self.download = download
        self.dirs = resolve_data_dirs(data_dir)

    def find(self, *relpaths: str) -> Path | None:
        """First existing ``dir / relpath``; directories in search order, then ``relpaths``."""
        for d in self.dirs:
            for rel in relpaths:
                if (d / rel).exists():
                    return d / rel
        return None

    def target(self, create: bool = False) -> Path | None:
        """The directory a download would be saved to (see :func:`download_dir`)."""
        return download_dir(self.data_dir, create)

    def searched(self) -> str:
        """The searched directories, for messages."""
        return format_dirs(self.dirs)
