"""Live polling under gunicorn: poll fragment throughput, and cloud reads per ENI per interval.

One run, on loopback:
- the ENS emulator in its own process, one ENI stuck in Detaching behind an approved request;
- gunicorn with 2 workers (DEBUG off) and one `run_worker` process;
- throughput: N client threads for --seconds against the request card's poll fragment, then
  against a trivial login-required view (inventory's sync-status fragment: one small query),
  each with the same session; target poll / trivial >= 0.5;
- coalescing: 50 concurrent pollers (card and ENI row) for --seconds while the worker follows
  the request, counting DescribeNetworkInterfaces calls for that ENI in the emulator's log;
  target <= 1 per ENS_REFRESH_SECONDS.

    .venv/bin/python bench/poll.py [--seconds 10] [--clients 8] [--pollers 50]

DATABASE_URL is used when set (a PostgreSQL URL for production-like figures); otherwise a
temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
REFRESH_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def process(command: list[str], env: dict[str, str], ready: str = "") -> Iterator[str]:
    """Run a child until the block ends; yields its first output line containing `ready`."""
    child = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line = ""
    try:
        if ready:
            while ready not in line:
                line = child.stdout.readline()
                if not line and child.poll() is not None:
                    raise SystemExit(f"{command[0]} exited early")
        threading.Thread(target=lambda: child.stdout.read(), daemon=True).start()
        yield line
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, mirror the fleet, and leave one request Detaching for good (stuck ENI)."""
    code = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eniadmin.settings")
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from eniadmin.accounts.roles import Role
from eniadmin.detach import workflow
from eniadmin.ens.client import EnsClient
from eniadmin.inventory.models import NetworkInterface
from eniadmin.inventory.sync import run_sync, start_foreground_sync
from django.contrib.auth.models import User
from eniadmin.accounts.roles import set_roles
from eniadmin.ens.emulator.control import EmulatorControl

call_command("migrate", verbosity=0)
client = EnsClient.from_settings(settings)
run_sync(start_foreground_sync(), client)
notes = EmulatorControl(settings.ENS_ENDPOINT).state()["demo_notes"]
operator = User.objects.create_user("bench-operator")
set_roles(operator, [Role.OPERATOR])
approver = User.objects.create_user("bench-approver")
set_roles(approver, [Role.APPROVER])
viewer = User.objects.create_user("bench-viewer")
set_roles(viewer, [Role.VIEWER])
eni = NetworkInterface.objects.get(eni_id=notes["stuck_on_detach"][0])
request = workflow.request_detach(eni=eni, requester=operator, reason="Benchmark of polling.",
                                  client=client)
workflow.approve_detach(detach_request=request, approver=approver, client=client)
workflow.run_detach_work(client=client, worker="bench-setup")
request.refresh_from_db()
browser = Client()
browser.force_login(viewer)
print(json.dumps({"pk": request.pk, "eni_id": eni.eni_id, "status": request.status,
                  "session": browser.cookies["sessionid"].value}))
"""
    out = subprocess.run(  # noqa: S603
        [PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def hammer(url: str, session_id: str, threads: int, seconds: float) -> int:
    """Requests completed by `threads` keep-alive clients in `seconds` (all must be 200)."""
    done = [0] * threads
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        with requests.Session() as session:
            session.cookies.set("sessionid", session_id)
            while time.monotonic() < stop_at:
                response = session.get(url, headers={"HX-Request": "true"})
                if response.status_code != 200:
                    errors.append(f"{url}: HTTP {response.status_code}")
                    return
                done[number] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise SystemExit(errors[0])
    return sum(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pollers", type=int, default=50)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="eniadmin-bench-poll-")
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{workdir}/bench.sqlite3",
        "ENS_ACCESS_KEY_ID": "demo",
        "ENS_ACCESS_KEY_SECRET": "demo-secret",
        "ENS_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "INVENTORY_SYNC_SECONDS": "86400",
        "LOG_LEVEL": "WARNING",
    }
    emulator = [PYTHON, "-m", "eniadmin.ens.emulator", "--port", "0", "--detach-seconds", "1"]
    with process(emulator, env, ready="listening on") as line:
        ens_url = line.rsplit(" ", 1)[-1].strip()
        env["ENS_ENDPOINT"] = ens_url
        setup = prepare(env)
        gunicorn = [
            str(Path(PYTHON).parent / "gunicorn"), "eniadmin.wsgi", "--workers", "2",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
        with process(gunicorn, env):
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    requests.get(f"{base}/healthz", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            poll_url = f"{base}/detach/requests/{setup['pk']}/status/"
            row_url = f"{base}/detach/enis/{setup['eni_id']}/row/"
            trivial_url = f"{base}/sync/status/"
            hammer(poll_url, setup["session"], 2, 1.0)  # warm both gunicorn workers
            hammer(trivial_url, setup["session"], 2, 1.0)
            polls = hammer(poll_url, setup["session"], args.clients, args.seconds)
            trivial = hammer(trivial_url, setup["session"], args.clients, args.seconds)

            worker = [PYTHON, "manage.py", "run_worker", "--tick", "0.5"]
            with process(worker, env, ready="started"):
                requests.delete(f"{ens_url}/_emulator/requests", timeout=5)
                started = time.monotonic()
                pollers = [
                    threading.Thread(
                        target=hammer,
                        args=(url, setup["session"], 1, args.seconds),
                    )
                    for url in (poll_url, row_url)
                    for _ in range(args.pollers // 2)
                ]
                for poller in pollers:
                    poller.start()
                for poller in pollers:
                    poller.join()
                elapsed = time.monotonic() - started
                log = requests.get(
                    f"{ens_url}/_emulator/requests",
                    params={"action": "DescribeNetworkInterfaces"},
                    timeout=5,
                ).json()
    entries = log.get("requests", log) if isinstance(log, dict) else log
    describes = [
        entry for entry in entries
        if setup["eni_id"] in json.dumps(entry.get("params", {}))
    ]  # fmt: skip
    times = sorted(
        datetime.fromisoformat(entry["time"].replace("Z", "+00:00")) for entry in describes
    )
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    # The most calls that fall in any window of one refresh interval (target: 1).
    busiest = max(
        (sum(1 for other in times if 0 <= (other - first).total_seconds() < REFRESH_SECONDS)
         for first in times),
        default=0,
    )  # fmt: skip
    print(f"command: .venv/bin/python bench/poll.py --seconds {args.seconds:g} "
          f"--clients {args.clients} --pollers {args.pollers}")  # fmt: skip
    print(json.dumps({
        "cores": os.cpu_count(),
        "database": env["DATABASE_URL"].split(":", 1)[0],
        "gunicorn_workers": 2,
        "client_threads": args.clients,
        "poll_fragment_rps": round(polls / args.seconds, 1),
        "trivial_login_required_rps": round(trivial / args.seconds, 1),
        "poll_over_trivial": round(polls / trivial, 2),
        "pollers": args.pollers,
        "poller_seconds": round(elapsed, 1),
        "describe_calls_for_the_eni": len(describes),
        "describe_calls_max_in_any_refresh_interval": busiest,
        "describe_min_gap_seconds": round(min(gaps), 2) if gaps else None,
        "refresh_seconds": REFRESH_SECONDS,
        "targets": "poll/trivial >= 0.5; describe calls in any refresh interval <= 1",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
