"""The server itself: keep-alive, concurrency, clean stops and both command-line entry points."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from urllib3.connection import HTTPConnection

from eniadmin.ens.emulator.control import EmulatorControl
from eniadmin.ens.emulator.server import EmulatorServer
from tests.ens.emulator.wire import v3_call

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_two_requests_on_one_session_share_one_connection(emulator, monkeypatch):
    connects = []
    original_connect = HTTPConnection.connect

    def counting_connect(connection: HTTPConnection) -> None:
        connects.append(connection)
        original_connect(connection)

    monkeypatch.setattr(HTTPConnection, "connect", counting_connect)
    with requests.Session() as session:
        first = v3_call(emulator, "DescribeEnsRegions", session=session)
        second = v3_call(emulator, "DescribeInstances", session=session)
    assert first.ok and second.ok
    assert len(connects) == 1
    assert first.headers.get("Connection", "keep-alive").lower() != "close"


def test_twenty_concurrent_clients_are_all_answered(emulator):
    def client(number: int) -> list[str]:
        with requests.Session() as session:
            ids = []
            for page in range(1, 6):
                response = v3_call(
                    emulator,
                    "DescribeNetworkInterfaces",
                    {"PageNumber": str(page), "PageSize": "20"},
                    session=session,
                )
                assert response.status_code == 200, response.text
                ids.append(response.json()["RequestId"])
            return ids

    with ThreadPoolExecutor(max_workers=20) as pool:
        request_ids = [i for ids in pool.map(client, range(20)) for i in ids]
    assert len(set(request_ids)) == 100
    assert len(emulator.control.requests()) == 100


def test_concurrent_detaches_of_one_eni_let_exactly_one_through(emulator):
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    barrier = threading.Barrier(10)

    def detach(_: int) -> str:
        barrier.wait()
        response = v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
        return "ok" if response.ok else response.json()["Code"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = Counter(pool.map(detach, range(10)))
    assert outcomes == {"ok": 1, "InvalidOperation.InvalidEniStatus": 9}


def handler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_stop_ends_idle_keep_alive_connections():
    server = EmulatorServer().start()
    session = requests.Session()
    assert v3_call(server, "DescribeEnsRegions", session=session).ok
    assert handler_threads()
    server.stop()
    deadline = time.monotonic() + 2
    while handler_threads():
        assert time.monotonic() < deadline, "a handler thread outlived the server"
        time.sleep(0.02)
    session.close()


@pytest.fixture
def started_process() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_process(command: list[str], processes: list[subprocess.Popen[str]]) -> tuple[str, str]:
    """Start the emulator as a process; its URL and what it printed up to "Ctrl-C"."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - a fixed command built by the test
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(process)
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith("Ctrl-C"):
            break
    text = "".join(printed)
    url = next(word for word in text.split() if word.startswith("http://"))
    return url, text


ENTRY_POINTS = [
    pytest.param([sys.executable, "-m", "eniadmin.ens.emulator"], id="python-m"),
    pytest.param([sys.executable, "manage.py", "ens_emulator"], id="manage-py"),
]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_the_command_line_serves_until_sigterm(entry_point, started_process):
    flags = ["--port", "0", "--instances", "6", "--seed", "4", "--access-key", "ops:ops-secret"]
    flags += ["--faults", '[{"kind": "throttle", "action": "StopInstance"}]']
    url, printed = start_process([*entry_point, *flags], started_process)
    assert "access key id demo  secret demo-secret" in printed
    assert "access key id ops  secret ops-secret" in printed

    control = EmulatorControl(url)
    assert control.state()["instances"]["total"] == 6
    assert control.faults()[0]["action"] == "StopInstance"

    process = started_process[0]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert "Stopping" in process.stdout.read()


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_the_command_line_refuses_bad_faults(entry_point):
    completed = subprocess.run(  # noqa: S603 - a fixed command built by the test
        [*entry_point, "--faults", '[{"kind": "explode"}]'],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode != 0
    assert "kind must be one of" in completed.stderr
