"""run_worker as it runs in production: a process of its own, with its own database, stopped by
a signal from a terminal or a service manager."""

from __future__ import annotations

import os
import pty
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


class WorkerProcess:
    def __init__(
        self, env: dict[str, str], database: Path, *prefix: str, output: int = subprocess.PIPE
    ) -> None:
        self.database = database
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our manage.py
            [*prefix, sys.executable, "manage.py", "run_worker", "--tick", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database, timeout=10) as connection:
            return connection.execute(sql).fetchall()

    def heartbeats(self) -> int:
        return self.rows("SELECT count(*) FROM inventory_workerheartbeat")[0][0]

    def runs(self) -> list[tuple]:
        return self.rows("SELECT status, error_code, pages_done FROM inventory_syncrun")

    def fetchers(self) -> list[int]:
        """The page fetchers this worker started, while they run."""
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except (OSError, ValueError):
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"eniadmin.ens.walker" in command:
                pids.append(int(entry.name))
        return pids

    def stop(self, signum: int) -> str:
        """Sends `signum`; the worker's output once it has exited by itself."""
        self.process.send_signal(signum)
        output, _ = self.process.communicate(timeout=30)
        return output


@pytest.fixture
def worker_env(tmp_path, emulator) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eniadmin.settings",
        "DEBUG": "False",
        "SECRET_KEY": "worker-process-test",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "ENS_ENDPOINT": emulator.url,
        "ENS_ACCESS_KEY_ID": emulator.access_key_id,
        "ENS_ACCESS_KEY_SECRET": emulator.access_key_secret,
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts run_worker, after `prefix` (a command that runs it) if given."""
    started: list[WorkerProcess] = []

    def start(*prefix: str, output: int = subprocess.PIPE) -> WorkerProcess:
        started.append(
            WorkerProcess(worker_env, tmp_path / "worker.sqlite3", *prefix, output=output)
        )
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda signum: signum.name
)
def test_a_signal_stops_the_worker_cleanly(start_worker, signum):
    worker = start_worker()
    # Its first tick queues the periodic sync, due at once, and runs it.
    wait_for(lambda: worker.runs() and worker.runs()[0][0] == "succeeded", "the first sync")
    assert worker.heartbeats() == 1

    output = worker.stop(signum)

    assert worker.process.returncode == 0, output
    assert "Stopping after the current step" in output
    assert output.rstrip().endswith("stopped."), output
    assert worker.heartbeats() == 0, "a stopped worker is not shown as alive"


def test_a_signal_mid_sync_stops_at_a_page_and_records_the_run(start_worker, emulator):
    emulator.control.reset(instances=2000)  # twenty pages of instances, some eighty of ENIs
    emulator.control.set_faults([{"kind": "latency", "ms": 100}])
    worker = start_worker()
    wait_for(lambda: worker.runs() and worker.runs()[0][2] >= 2, "the sync under way")
    fetchers = wait_for(worker.fetchers, "the page fetchers")

    output = worker.stop(signal.SIGTERM)

    assert worker.process.returncode == 0, output
    ((status, error_code, pages_done),) = worker.runs()
    assert (status, error_code) == ("failed", "WorkerStopped")
    assert 2 <= pages_done < 100, "stopped at a page boundary, well before the end"
    assert worker.heartbeats() == 0
    for pid in fetchers:
        assert not Path(f"/proc/{pid}").exists(), "no page fetcher outlives its worker"


def test_a_worker_started_with_nohup_outlives_its_terminal(start_worker):
    worker = start_worker("nohup")
    wait_for(worker.heartbeats, "the worker's heartbeat")

    worker.process.send_signal(signal.SIGHUP)  # as when the terminal closes
    time.sleep(0.5)

    assert worker.process.poll() is None, "nohup asked for SIGHUP to be ignored"
    assert worker.stop(signal.SIGTERM).rstrip().endswith("stopped.")


def test_sighup_stops_the_worker_even_once_its_terminal_is_gone(start_worker):
    terminal, worker_side = pty.openpty()
    worker = start_worker(output=worker_side)
    os.close(worker_side)
    wait_for(lambda: worker.runs() and worker.runs()[0][0] == "succeeded", "the first sync")

    os.close(terminal)  # from now on, every write to the terminal fails
    worker.process.send_signal(signal.SIGHUP)

    assert worker.process.wait(timeout=30) == 0
    assert worker.heartbeats() == 0
    assert [status for status, _, _ in worker.runs()] == ["succeeded"]
