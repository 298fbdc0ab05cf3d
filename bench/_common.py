"""What the benchmarks share: free ports, child processes, the emulator, databases, medians.

Every benchmark runs on its own (`.venv/bin/python bench/X.py`) and also as part of the suite
(`bench/run.py`), which runs it in a child process with `--json` and reads the one JSON line it
prints last.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

KEY_ID, SECRET = "demo", "demo-secret"  # the emulator's published demo key
# No collectstatic for a benchmark: an empty STATIC_ROOT keeps WhiteNoise from warning.
STATIC_ROOT = os.path.join(tempfile.gettempdir(), "eniadmin-bench-static")
os.makedirs(STATIC_ROOT, exist_ok=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def process(command: Sequence[str], env: dict[str, str], ready: str = "") -> Iterator[str]:
    """Run a child until the block ends; yields its first output line containing `ready`.

    Its output is drained in a thread afterwards, so a chatty child never blocks on a full pipe.
    """
    child = subprocess.Popen(  # noqa: S603
        list(command), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    line = ""
    try:
        if ready:
            while ready not in line:
                line = child.stdout.readline()
                if not line and child.poll() is not None:
                    raise SystemExit(f"{command[0]} {command[1]} exited early")
        threading.Thread(target=child.stdout.read, daemon=True).start()
        yield line
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def emulator(
    env: dict[str, str] | None = None, *, instances: int = 24, detach_seconds: float = 3.0
) -> Iterator[str]:
    """The ENS emulator in its own process (so it never shares an interpreter with what is
    measured), seed 1; yields its URL."""
    command = [
        PYTHON, "-m", "eniadmin.ens.emulator", "--port", "0", "--instances", str(instances),
        "--detach-seconds", str(detach_seconds),
    ]  # fmt: skip
    with process(command, env or dict(os.environ), ready="listening on") as line:
        yield line.rsplit(" ", 1)[-1].strip()


def gunicorn(port: int, workers: int = 2) -> list[str]:
    return [
        str(Path(PYTHON).parent / "gunicorn"), "eniadmin.wsgi", "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:  # not listening yet, or too busy starting
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing answers at {url}") from None
            time.sleep(0.1)


def default_database_url(workdir: str) -> str:
    """DATABASE_URL when set (a PostgreSQL URL for production-like figures), else SQLite."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{workdir}/bench.sqlite3"


def app_env(database_url: str, ens_url: str = "", refresh_seconds: float = 2.0) -> dict[str, str]:
    """The environment of the web server, the worker and any Django child: production-like
    (DEBUG off), quiet, pointed at one database and one emulator."""
    return {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        # Plain HTTP on loopback, whatever the production defaults say.
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_COOKIES": "False",
        "DATABASE_URL": database_url,
        "ENS_ENDPOINT": ens_url,
        "ENS_ACCESS_KEY_ID": KEY_ID,
        "ENS_ACCESS_KEY_SECRET": SECRET,
        "ENS_REFRESH_SECONDS": str(refresh_seconds),
        "INVENTORY_SYNC_SECONDS": "86400",
        "STATIC_ROOT": STATIC_ROOT,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def scratch_database(base_url: str | None) -> Iterator[str]:
    """A database nobody else uses, dropped at the end: a SQLite file in a temporary directory,
    or, when `base_url` is PostgreSQL, a new database on that same server."""
    if not base_url or base_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="eniadmin-bench-") as workdir:
            yield f"sqlite:///{workdir}/bench.sqlite3"
        return
    import psycopg

    name = f"eniadmin_bench_{secrets.token_hex(4)}"
    parts = urlsplit(base_url)
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_description(database_url: str) -> str:
    """Engine and server version, for the report."""
    if database_url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(database_url) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    return f"PostgreSQL {version.split()[0]}"


def describe_times(log: list[dict[str, Any]], eni_id: str) -> list[datetime]:
    """When the emulator answered a DescribeNetworkInterfaces naming this ENI, in order."""
    return sorted(
        datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        for entry in log
        if entry["action"] == "DescribeNetworkInterfaces"
        and eni_id in json.dumps(entry.get("params", {}))
    )


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of the per-round ratios: each round's pair ran back to back, so a slow moment
    on a shared machine hits both sides of one ratio rather than one side of the medians."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def print_result(result: dict[str, Any], *, as_json: bool) -> None:
    """One JSON line for bench/run.py, or indented JSON for a person."""
    print(json.dumps(result, separators=(",", ":")) if as_json else json.dumps(result, indent=2))


def child_json(command: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a child process to the end and return the JSON object it printed last."""
    done = subprocess.run(  # noqa: S603
        list(command), cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(command[1:])} failed (exit {done.returncode}):\n"
            f"{done.stderr[-3000:]}{done.stdout[-2000:]}"
        )
    return json.loads(lines[-1])


def run_json(script: str, arguments: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Run bench/<script> with --json in a child process and return its figures."""
    return child_json([PYTHON, str(ROOT / "bench" / script), "--json", *arguments], env)
