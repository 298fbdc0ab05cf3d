"""Live polling under gunicorn: poll fragment throughput, and cloud reads per ENI per interval.

One run, on loopback:
- the ENS emulator in its own process, one ENI stuck in Detaching behind an approved request;
- gunicorn with 2 workers (DEBUG off) and one `run_worker` process;
- throughput: N client threads for --seconds against the request card's poll fragment, then
  against a trivial login-required view (/_bench/trivial/, added by bench/_urls.py: middleware,
  session and user, then a constant answer), each with the same session, --rounds times
  alternating; target poll / trivial >= 0.5 (the median of the rounds' ratios);
- coalescing: 50 concurrent pollers (card and ENI row) for --poller-seconds while the worker follows
  the request, counting DescribeNetworkInterfaces calls for that ENI in the emulator's log;
  target <= 1 per ENS_REFRESH_SECONDS.

    .venv/bin/python bench/poll.py [--seconds 10] [--clients 8] [--pollers 50] [--rounds 1]
        [--instances 24] [--poller-seconds S] [--json]

DATABASE_URL is used when set (a PostgreSQL URL for production-like figures); otherwise a
temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    app_env,
    child_json,
    default_database_url,
    describe_times,
    emulator,
    free_port,
    gunicorn,
    median,
    median_ratio,
    print_result,
    process,
    wait_until_up,
)

REFRESH_SECONDS = 2.0
# The request log's times are taken when the emulator handles a call, a few milliseconds after
# the worker decided to make it; two reads one refresh interval apart may land this much closer.
LOG_JITTER_SECONDS = 0.05


def prepare() -> None:
    """In a child: migrate, mirror the fleet, and leave one request Detaching for good (the
    stuck ENI); prints the ids and a Viewer's session as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eniadmin.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from eniadmin.detach import workflow
    from eniadmin.detach.models import DetachRequest
    from eniadmin.ens.client import EnsClient
    from eniadmin.ens.emulator.control import EmulatorControl
    from eniadmin.inventory.models import NetworkInterface
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    call_command("migrate", verbosity=0)
    client = EnsClient.from_settings(settings)
    run_sync(start_foreground_sync(), client)
    notes = EmulatorControl(settings.ENS_ENDPOINT).state()["demo_notes"]
    users = bench_users()
    eni = NetworkInterface.objects.get(eni_id=notes["stuck_on_detach"][0])
    request = DetachRequest.objects.open().filter(network_interface=eni).first()
    if request is None:
        request = workflow.request_detach(
            eni=eni, requester=users["operator"], reason="Benchmark of polling.", client=client
        )
        workflow.approve_detach(detach_request=request, approver=users["approver"], client=client)
        workflow.run_detach_work(client=client, worker="bench-setup")
    request.refresh_from_db()
    browser = Client()
    browser.force_login(users["viewer"])
    print(json.dumps({"pk": request.pk, "eni_id": eni.eni_id, "status": request.status,
                      "session": browser.cookies["sessionid"].value}))  # fmt: skip


def bench_users() -> dict[str, Any]:
    """An Operator, an Approver and a Viewer, created on first use."""
    from django.contrib.auth.models import User

    from eniadmin.accounts.roles import Role, set_roles

    users = {}
    for role in (Role.OPERATOR, Role.APPROVER, Role.VIEWER):
        users[role.value], created = User.objects.get_or_create(username=f"bench-{role.value}")
        if created:
            set_roles(users[role.value], [role])
    return users


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


def busiest_window(times: list[datetime], seconds: float) -> int:
    """The most calls that fall in any window of `seconds` (target: 1 per refresh interval)."""
    return max(
        (sum(1 for other in times if 0 <= (other - first).total_seconds() < seconds)
         for first in times),
        default=0,
    )  # fmt: skip


def gaps(times: list[datetime]) -> list[float]:
    return [(later - earlier).total_seconds() for earlier, later in pairwise(times)]


def measure(
    *,
    seconds: float = 10.0,
    clients: int = 8,
    pollers: int = 50,
    rounds: int = 1,
    instances: int = 24,
    poller_seconds: float | None = None,
) -> dict[str, Any]:
    poller_seconds = poller_seconds or seconds
    workdir = tempfile.TemporaryDirectory(prefix="eniadmin-bench-poll-")
    port = free_port()
    env = app_env(default_database_url(workdir.name), refresh_seconds=REFRESH_SECONDS)
    env["DJANGO_SETTINGS_MODULE"] = "bench._settings"  # the project's, plus the trivial view
    with emulator(env, instances=instances, detach_seconds=1) as ens_url:
        env["ENS_ENDPOINT"] = ens_url
        out = child_json([PYTHON, __file__, "--prepare"], env)
        with process(gunicorn(port, workers=2), env):
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz")
            poll_url = f"{base}/detach/requests/{out['pk']}/status/"
            row_url = f"{base}/detach/enis/{out['eni_id']}/row/"
            trivial_url = f"{base}/_bench/trivial/"
            hammer(poll_url, out["session"], 2, 1.0)  # warm both gunicorn workers
            hammer(trivial_url, out["session"], 2, 1.0)
            polls, trivial = [], []
            for _ in range(rounds):
                polls.append(hammer(poll_url, out["session"], clients, seconds) / seconds)
                trivial.append(hammer(trivial_url, out["session"], clients, seconds) / seconds)

            worker = [PYTHON, "manage.py", "run_worker", "--tick", "0.5"]
            with process(worker, env, ready="started"):
                requests.delete(f"{ens_url}/_emulator/requests", timeout=5)
                started = time.monotonic()
                threads = [
                    threading.Thread(target=hammer, args=(url, out["session"], 1, poller_seconds))
                    for url in (poll_url, row_url)
                    for _ in range(pollers // 2)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - started
                log = requests.get(f"{ens_url}/_emulator/requests", timeout=30).json()["requests"]
    workdir.cleanup()
    times = describe_times(log, out["eni_id"])
    return {
        "cores": os.cpu_count(),
        "database": env["DATABASE_URL"].split(":", 1)[0],
        "instances": instances,
        "gunicorn_workers": 2,
        "client_threads": clients,
        "rounds": rounds,
        "seconds_each": seconds,
        "poll_fragment_rps": round(median(polls), 1),
        "trivial_login_required_rps": round(median(trivial), 1),
        "poll_over_trivial": round(median_ratio(polls, trivial), 2),
        "pollers": pollers,
        "poller_seconds": round(elapsed, 1),
        "describe_calls_for_the_eni": len(times),
        "describe_calls_max_in_any_refresh_interval": busiest_window(
            times, REFRESH_SECONDS - LOG_JITTER_SECONDS
        ),
        "describe_calls_max_in_any_refresh_interval_strict": busiest_window(times, REFRESH_SECONDS),
        "describe_min_gap_seconds": round(min(gaps(times)), 3) if len(times) > 1 else None,
        "refresh_seconds": REFRESH_SECONDS,
        "targets": "poll/trivial >= 0.5; describe calls in any refresh interval <= 1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--instances", type=int, default=24)
    parser.add_argument(
        "--poller-seconds", type=float, help="how long the pollers run (default: --seconds)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return
    result = measure(
        seconds=args.seconds,
        clients=args.clients,
        pollers=args.pollers,
        rounds=args.rounds,
        instances=args.instances,
        poller_seconds=args.poller_seconds,
    )
    if not args.json:
        print(
            f"command: .venv/bin/python bench/poll.py --seconds {args.seconds:g} "
            f"--clients {args.clients} --pollers {args.pollers} --rounds {args.rounds} "
            f"--instances {args.instances}"
        )
    print_result(result, as_json=args.json)


if __name__ == "__main__":
    main()
