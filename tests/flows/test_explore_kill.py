# SPDX-License-Identifier: MIT
"""dfasim explore survives SIGKILL: of a worker (the run finishes) and of the driver (a rerun
keeps every finished task and does only the rest). Each runs the command line in a subprocess
of its own session, so whatever the kill leaves behind is ended by process group."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dfasim.flows.cli import main
from dfasim.flows.explore.engine import available_cores

from .test_explore import write_space

#: Six epochs per task: a task lasts a few seconds, so a kill lands while tasks run.
ADAPT = 'epochs = 6\nnoise = "crosssim"\ncalibration_samples = 16'
SPACE = '"crossbar.adc_bits" = [3, 5]'
#: Seconds to wait for a run's first finished task or its end (generous: a loaded machine).
PATIENCE_S = 150


def _records(out: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (out / "points").rglob("chip?.json")} \
        if (out / "points").exists() else {}


def _start(space: Path, out: Path) -> subprocess.Popen:
    workers = str(min(2, available_cores()))
    return subprocess.Popen([sys.executable, "-m", "dfasim.flows.cli", "explore", str(space),
                             "--out", str(out), "--quiet", "--workers", workers],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_records(proc: subprocess.Popen, out: Path, n: int) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while len(_records(out)) < n:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {n} tasks finished: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {n} finished tasks after {PATIENCE_S} s")
        time.sleep(0.2)


def _workers_of(pid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())]


@contextlib.contextmanager
def _session(proc: subprocess.Popen):
    """End every process of the run's session on the way out (the test started them)."""
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_killed_worker_is_replaced_and_the_run_finishes(small_checkpoint, tmp_path):
    space = write_space(tmp_path / "s.toml", small_checkpoint, SPACE, header="chips = 2",
                        adapt=ADAPT)
    out = tmp_path / "run"
    with _session(_start(space, out)) as proc:
        _wait_for_records(proc, out, 1)
        workers = _workers_of(proc.pid)
        assert workers, "no worker processes found under the driver"
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=PATIENCE_S)
        assert proc.returncode == 0, err
    import psutil

    assert not psutil.pid_exists(workers[0]) or \
        psutil.Process(workers[0]).status() == psutil.STATUS_ZOMBIE
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["status"] == "ok" and r["chips_done"] == 2 for r in rows)
    assert len(_records(out)) == 4


def test_killed_driver_loses_no_finished_task(small_checkpoint, tmp_path, capsys):
    space = write_space(tmp_path / "s.toml", small_checkpoint, SPACE, header="chips = 2",
                        adapt=ADAPT)
    out = tmp_path / "run"
    with _session(_start(space, out)) as proc:
        _wait_for_records(proc, out, 1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Its workers follow their parent; the session is ended anyway on the way out.
        time.sleep(1.0)
    kept = _records(out)
    assert 1 <= len(kept) < 4, len(kept)
    for rec in kept.values():
        assert json.loads(rec)["status"] == "ok"  # whole files: written atomically
    assert not (out / "results.jsonl").exists()
    capsys.readouterr()
    assert main(["explore", str(space), "--out", str(out),
                 "--workers", str(min(2, available_cores()))]) == 0
    text = capsys.readouterr().out
    assert f"{4 - len(kept)} tasks run" in text and f"{len(kept)} found finished" in text, text
    after = _records(out)
    assert len(after) == 4 and all(after[p] == b for p, b in kept.items())
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all(r["status"] == "ok" and r["chips_done"] == 2 for r in rows)
