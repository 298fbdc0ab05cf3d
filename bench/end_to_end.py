"""End to end: from the emulator marking an ENI Available to the poll fragment showing it.

On loopback, as `make demo` runs them but with gunicorn (2 workers, DEBUG off) for the web: the
ENS emulator in its own process, `run_worker` with its default tick, ENS_REFRESH_SECONDS 2 (the
default), the fleet mirrored into the database (DATABASE_URL when set, else a temporary SQLite
file). For each repetition, a different eligible ENI: an Operator requests its detach and an
Approver approves it; then
- a browser stand-in polls the ENI's row fragment (the list page's row, which polls itself while
  it moves) the way htmx does: the next GET one interval after the previous answer arrived, the
  interval read from the answer's own hx-trigger, until an answer shows the ENI Available;
- the ENI is flagged stuck in the emulator beforehand, so it stays Detaching after the worker's
  DetachNetworkInterface until the benchmark marks it Available through the control API.
The moment it is marked Available (after it became Detaching) and the browser's first poll
(after the approval) differ in each repetition, spread evenly over one interval each, so they
fall at every phase of the worker's reads and of the browser's polls.
Latency = when the first answer showing Available arrived - when the emulator marked it
Available; the median of the repetitions. Target: <= the poll interval + ENS_REFRESH_SECONDS.
Also reported, from the emulator's request log: how long after the marking the worker's read
saw it, and how long the fragment took after that.

    .venv/bin/python bench/end_to_end.py [--instances 10000] [--repetitions 7] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    PYTHON,
    app_env,
    default_database_url,
    describe_times,
    emulator,
    free_port,
    gunicorn,
    median,
    print_result,
    process,
    wait_until_up,
)

REFRESH_SECONDS = 2.0  # ENS_REFRESH_SECONDS' default
POLL_SECONDS = 2.0  # what a moving row asks for in its first minute (spreads browser phases)
TIMEOUT_SECONDS = 60.0
TRIGGER = re.compile(r'hx-trigger="every (\d+(?:\.\d+)?)s"')
AVAILABLE = re.compile(r'class="badge badge-\w+">Available<')


def poll_seconds(html: str) -> float | None:
    """The interval a fragment asks to be polled at; None when it stops polling."""
    match = TRIGGER.search(html)
    return float(match.group(1)) if match else None


def shows_available(html: str) -> bool:
    return bool(AVAILABLE.search(html))


def watch_fragment(
    get: Callable[[], str], *, timeout: float = TIMEOUT_SECONDS, sleep=time.sleep
) -> tuple[float, list[float]]:
    """Poll like htmx until an answer shows Available: when that answer arrived (epoch
    seconds), and the intervals the fragment asked for on the way."""
    deadline = time.time() + timeout
    intervals: list[float] = []
    while time.time() < deadline:
        html = get()
        if shows_available(html):
            return time.time(), intervals
        interval = poll_seconds(html)
        if interval is None:
            raise RuntimeError(f"the fragment stopped polling before showing Available:\n{html}")
        intervals.append(interval)
        sleep(interval)
    raise RuntimeError(f"the fragment did not show Available within {timeout:g} s")


def wait_until_detaching(control: Any, eni_id: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Until the worker has called DetachNetworkInterface and the emulator says Detaching."""
    deadline = time.time() + timeout
    while control.eni(eni_id)["status"] != "Detaching":
        if time.time() > deadline:
            raise RuntimeError(f"{eni_id} did not start detaching within {timeout:g} s")
        time.sleep(0.05)


def one_detach(
    eni_id: str,
    *,
    delay: float,
    phase: float,
    users: dict,
    client: Any,
    control: Any,
    row_url: str,
    session: requests.Session,
) -> dict[str, float]:
    """Request and approve one detach; mark the ENI Available `delay` seconds after the emulator
    shows it Detaching; time it from that moment to the fragment showing it. The browser's
    first poll is `phase` seconds after the approval (when its page happened to load)."""
    from eniadmin.detach import workflow
    from eniadmin.inventory.models import NetworkInterface

    control.clear_requests()
    control.change_eni(eni_id, stuck=True)  # Detaching until this benchmark says otherwise
    eni = NetworkInterface.objects.get(eni_id=eni_id)
    detach_request = workflow.request_detach(
        eni=eni, requester=users["operator"], reason="Benchmark, end to end.", client=client
    )
    workflow.approve_detach(
        detach_request=detach_request, approver=users["approver"], client=client
    )
    assert detach_request.status == "approved", detach_request.error_message

    # The browser polls from the approval on, in a thread; this thread plays the cloud.
    seen: dict[str, Any] = {}

    def browse() -> None:
        time.sleep(phase)
        try:
            seen["at"], seen["intervals"] = watch_fragment(
                lambda: session.get(row_url, headers={"HX-Request": "true"}, timeout=30).text
            )
        except Exception as error:  # raised again below
            seen["error"] = error

    browser = threading.Thread(target=browse)
    browser.start()
    wait_until_detaching(control, eni_id)
    time.sleep(delay)
    before = time.time()
    control.change_eni(eni_id, status="Available")
    marked_at = (before + time.time()) / 2
    browser.join()
    if "error" in seen:
        raise seen["error"]
    reads = [moment.timestamp() for moment in describe_times(control.requests(), eni_id)]
    read_at = min((moment for moment in reads if moment >= marked_at), default=seen["at"])
    return {
        "latency_seconds": seen["at"] - marked_at,
        "cloud_read_lag_seconds": read_at - marked_at,
        "display_lag_seconds": seen["at"] - read_at,
        "poll_seconds": max(seen["intervals"], default=0.0),
    }


def phases(repetitions: int) -> tuple[list[float], list[float]]:
    """Each repetition's delay before the emulator marks the ENI Available, and its browser's
    first poll after the approval: both spread evenly over one interval (every phase against
    the worker's reads and against the browser's polls), paired in a fixed shuffled order."""
    spread = [(n + 0.5) / repetitions for n in range(repetitions)]
    shuffled = spread[:]
    random.Random(repetitions).shuffle(shuffled)
    return [REFRESH_SECONDS * f for f in spread], [POLL_SECONDS * f for f in shuffled]


def measure(*, instances: int = 10_000, repetitions: int = 7) -> dict[str, Any]:
    workdir = tempfile.TemporaryDirectory(prefix="eniadmin-bench-e2e-")
    env = app_env(default_database_url(workdir.name), refresh_seconds=REFRESH_SECONDS)
    port = free_port()
    with emulator(env, instances=instances) as ens_url:
        env["ENS_ENDPOINT"] = ens_url
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "eniadmin.settings"
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from bench.poll import bench_users
        from eniadmin.ens.client import EnsClient
        from eniadmin.ens.emulator.control import EmulatorControl
        from eniadmin.inventory.sync import run_sync, start_foreground_sync

        call_command("migrate", verbosity=0)
        client = EnsClient.from_settings(settings)
        run = run_sync(start_foreground_sync(), client)
        assert run.status == "succeeded", run.error_message
        control = EmulatorControl(ens_url)
        candidates = control.state()["demo_notes"]["detach_candidates"]
        if len(candidates) < repetitions:
            raise SystemExit(f"only {len(candidates)} detachable ENIs in this fleet")
        users = bench_users()
        browser = Client()
        browser.force_login(users["viewer"])
        session = requests.Session()
        session.cookies.set("sessionid", browser.cookies["sessionid"].value)

        base = f"http://127.0.0.1:{port}"
        worker = [PYTHON, "manage.py", "run_worker"]
        with process(gunicorn(port, workers=2), env), process(worker, env, ready="started"):
            wait_until_up(f"{base}/healthz")
            runs = [
                one_detach(
                    eni_id,
                    delay=delay,
                    phase=phase,
                    users=users,
                    client=client,
                    control=control,
                    row_url=f"{base}/detach/enis/{eni_id}/row/",
                    session=session,
                )
                for eni_id, delay, phase in zip(candidates, *phases(repetitions), strict=False)
            ]
        database = connection.vendor
        connection.close()
    workdir.cleanup()

    def figure(name: str) -> float:
        return round(median(run[name] for run in runs), 2)

    poll = max(run["poll_seconds"] for run in runs)
    budget = poll + REFRESH_SECONDS
    latency = figure("latency_seconds")
    return {
        "cores": os.cpu_count(),
        "database": database,
        "instances": instances,
        "repetitions": repetitions,
        "marked_available_after_detaching_seconds": [round(d, 2) for d in phases(repetitions)[0]],
        "first_poll_after_approval_seconds": [round(p, 2) for p in phases(repetitions)[1]],
        "poll_seconds": poll,
        "refresh_seconds": REFRESH_SECONDS,
        "budget_seconds": budget,
        "latency_seconds_median": latency,
        "latency_seconds_max": round(max(run["latency_seconds"] for run in runs), 2),
        "latency_seconds_each": [round(run["latency_seconds"], 2) for run in runs],
        "latency_over_budget": round(latency / budget, 2),
        "cloud_read_lag_seconds_median": figure("cloud_read_lag_seconds"),
        "display_lag_seconds_median": figure("display_lag_seconds"),
        "targets": "median latency <= poll interval + ENS_REFRESH_SECONDS",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    args = parser.parse_args()
    result = measure(instances=args.instances, repetitions=args.repetitions)
    print_result(result, as_json=args.json)


if __name__ == "__main__":
    main()
