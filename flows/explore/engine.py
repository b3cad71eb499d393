# SPDX-License-Identifier: MIT
"""The distributed engine under ``dfasim explore``: a Dask.distributed cluster, one task per
(point, chip), results on disk as they arrive.

A local cluster (``LocalCluster``: one process per worker, one task at a time per worker) is
started by default; ``address`` connects to a running scheduler instead. Each task limits its
own threads (``tasks.limit_threads``), and the local cluster's worker processes start with the
OpenMP / MKL / OpenBLAS pools at that size, so ``workers × threads`` never exceeds the cores.

Dask's choice over Ray is argued in ``docs/explore.md`` (start-up time and memory on a 2-core
CI machine, licence, wheels). A worker that dies is restarted by its nanny and its task is
resubmitted (up to ``distributed.scheduler.allowed-failures`` times, then the run stops with a
one-line error); a driver that dies loses nothing finished, since every task's result is in the
run folder the moment it is known, and a rerun submits only what is missing.
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import DfasimError

__all__ = ["EngineConfig", "cluster", "run_tasks", "available_cores"]


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class EngineConfig:
    """How tasks run.

    Members
    -------
    workers : int
        Worker processes of the local cluster (ignored with ``address``).
    threads : int
        CPU threads of one task (torch and the BLAS / OpenMP pools).
    address : str or None
        Scheduler of a running cluster (``tcp://host:8786``); None: a local cluster.
    device : str
        ``cpu`` or ``cuda[:k]``, passed to every task.
    """

    workers: int = 1
    threads: int = 1
    address: str | None = None
    device: str = "cpu"

    def validate(self) -> None:
        """Refuse a local cluster that would oversubscribe the cores."""
        for name in ("workers", "threads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise DfasimError(f"--{name} must be a positive integer, not {v!r}")
        cores = available_cores()
        if self.address is None and self.workers * self.threads > cores:
            raise DfasimError(f"--workers {self.workers} x --threads {self.threads} = "
                              f"{self.workers * self.threads} exceeds the {cores} CPU cores "
                              f"available; lower one of them")

    @property
    def local(self) -> bool:
        return self.address is None


def _thread_env(threads: int) -> dict[str, str]:
    from .tasks import THREAD_ENV_VARS

    return {var: str(threads) for var in THREAD_ENV_VARS}


@contextlib.contextmanager
def cluster(cfg: EngineConfig) -> Iterator[Any]:
    """A connected ``distributed.Client``: to a new local cluster, or to ``cfg.address``."""
    import dask
    from distributed import Client, LocalCluster

    # Dask's own defaults set these pools to 1 thread in every worker; ours size them.
    env = _thread_env(cfg.threads)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env,
                          "distributed.admin.system-monitor.gil.enabled": False,
                          "logging.distributed": "error"}):
        if cfg.address is not None:
            try:
                client = Client(cfg.address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise DfasimError(f"cannot reach the Dask scheduler at {cfg.address}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else exc}") from None
            try:
                yield client
            finally:
                client.close()
            return
        # No death timeout: Dask uses it as the worker's start-up limit too, which a loaded
        # machine exceeds; a local worker exits with its parent (the driver) anyway.
        local = LocalCluster(n_workers=cfg.workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(local)
        try:
            yield client
        finally:
            client.close()
            local.close()


def run_tasks(client: Any, func: Callable[[dict], dict], tasks: list[dict], *,
              on_result: Callable[[dict, dict], None],
              more: Callable[[], list[dict]] | None = None) -> None:
    """Submit ``func(task)`` for every task and call ``on_result(task, result)`` as each ends.

    ``more`` (NSGA-II) is asked for new tasks after every result; it returns ``[]`` when it has
    none for now. A worker killed too often running one task stops the run with a one-line
    :class:`DfasimError` (the results already written stay).
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - older distributed
        from distributed import KilledWorker

    def submit(task: dict):
        # pure=False: a task is never merged with an identical one of another run; the key
        # names the task in the scheduler's logs.
        fut = client.submit(func, task, pure=False, key=f"{task['name']}-{os.urandom(4).hex()}")
        owner[fut.key] = task
        return fut

    owner: dict[str, dict] = {}
    pending = as_completed([submit(t) for t in tasks])
    if more is not None and not tasks:
        for t in more():
            pending.add(submit(t))
    for fut in pending:
        task = owner.pop(fut.key)
        try:
            result = fut.result()
        except KilledWorker:
            raise DfasimError(f"workers died repeatedly running {task['name']} (out of "
                              f"memory?); finished results are kept: rerun to resume") from None
        except FutureCancelledError:
            raise DfasimError(f"the cluster cancelled {task['name']}; finished results are "
                              f"kept: rerun to resume") from None
        on_result(task, result)
        if more is not None:
            for t in more():
                pending.add(submit(t))
