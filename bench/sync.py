"""Inventory sync at fleet scale: pages fetched, wall time against a bare requests loop, memory.

The emulator runs in its own process with 10,000 instances (about 40,000 ENIs). Each round, back
to back:
- a bare loop: requests + the signing module + json.loads over every DescribeInstances and
  DescribeNetworkInterfaces page at PageSize 100, nothing else (the baseline);
- in a new child process (so its peak RSS is the sync's alone), on an emptied inventory
  (DATABASE_URL when set, else a temporary SQLite file): a first sync, then a re-sync with
  nothing changed, which must write no row.
Reported as medians of the rounds (ratios: the median of each round's ratio). Targets:
pages = ceil(N/100) for each action, sync / bare <= 1.3, peak RSS of the sync process and its
page fetchers together <= 250 MB,
re-sync writes = 0.

    .venv/bin/python bench/sync.py [--instances 10000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    KEY_ID,
    PYTHON,
    ROOT,
    SECRET,
    app_env,
    child_json,
    default_database_url,
    emulator,
    median,
    median_ratio,
    print_result,
)
from eniadmin.ens import signing
from eniadmin.ens.walker import FETCHERS

PAGE_SIZE = 100
PAGED_ACTIONS = ("DescribeInstances", "DescribeNetworkInterfaces")
RUN_COUNTERS = (
    "instances_created", "instances_updated", "instances_gone",
    "enis_created", "enis_updated", "enis_gone",
)  # fmt: skip
MIRROR_TABLES = ("inventory_instance", "inventory_networkinterface", "inventory_edgeregion")


def bare_loop(url: str) -> tuple[float, float, dict[str, int]]:
    """Every page of both actions, fetched and decoded, with nothing else done: the wall time,
    this process's CPU time and the pages fetched of each action."""
    session = requests.Session()
    host = urlsplit(url).netloc
    pages = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    for action in PAGED_ACTIONS:
        number, total = 1, None
        while total is None or (number - 1) * PAGE_SIZE < total:
            query = {"PageNumber": str(number), "PageSize": str(PAGE_SIZE)}
            headers = signing.v3_signed_headers(
                method="POST", host=host, action=action, query=query,
                access_key_id=KEY_ID, access_key_secret=SECRET,
            )  # fmt: skip
            response = session.post(
                f"{url}/?{signing.canonical_query(query)}", headers=headers, timeout=30
            )
            total = response.json()["TotalCount"]
            number += 1
        pages[action] = number - 1
    return time.perf_counter() - started, time.process_time() - cpu_started, pages


# The measurements below run inside a configured Django (the child process, or the smoke test).


@contextmanager
def mirror_writes() -> Iterator[list[str]]:
    """Collects every INSERT, UPDATE or DELETE on the mirror's tables run in the block."""
    from django.db import connection

    writes: list[str] = []

    def count(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) and any(
            table in sql for table in MIRROR_TABLES
        ):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield writes


def pages_fetched(log: list[dict[str, Any]]) -> dict[str, int]:
    """Pages of each paged action in an emulator request log."""
    return {action: sum(entry["action"] == action for entry in log) for action in PAGED_ACTIONS}


def minimum_pages(instances: int, enis: int) -> dict[str, int]:
    return {
        "DescribeInstances": math.ceil(instances / PAGE_SIZE),
        "DescribeNetworkInterfaces": math.ceil(enis / PAGE_SIZE),
    }


def empty_mirror() -> None:
    """Raw DELETEs: Django's delete() would load every row first and inflate the peak RSS."""
    from django.db import connection, transaction

    from eniadmin.inventory.models import EdgeRegion, Instance, NetworkInterface, SyncRun

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (NetworkInterface, Instance, EdgeRegion, SyncRun):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 - model names


@contextmanager
def fetcher_peaks() -> Iterator[list[float]]:
    """The peak RSS of each page fetcher, in MB, read from /proc just before it is stopped.
    (Its ru_maxrss would also count the sync process's pages it shared until it ran Python.)"""
    from eniadmin.ens import walker

    peaks: list[float] = []
    stop = walker._Fetcher.stop

    def stop_noting_peak(fetcher: Any, *, kill: bool) -> None:
        status = Path(f"/proc/{fetcher.process.pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024)
        stop(fetcher, kill=kill)

    walker._Fetcher.stop = stop_noting_peak
    try:
        yield peaks
    finally:
        walker._Fetcher.stop = stop


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (the sync's page fetchers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def sync_round(client: Any, control: Any) -> dict[str, Any]:
    """A first sync into an empty mirror, then a re-sync with nothing changed: seconds, pages
    fetched by each (from the emulator's request log) and the re-sync's mirror writes."""
    from eniadmin.inventory.models import Instance, NetworkInterface, SyncRun
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    empty_mirror()
    control.clear_requests()
    started, cpu_started = time.perf_counter(), cpu_seconds()
    first = run_sync(start_foreground_sync(), client)
    first_seconds = time.perf_counter() - started
    first_cpu_seconds = cpu_seconds() - cpu_started
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    first_pages = pages_fetched(control.requests())

    control.clear_requests()
    with mirror_writes() as writes:
        started = time.perf_counter()
        again = run_sync(start_foreground_sync(), client)
        again_seconds = time.perf_counter() - started
    assert again.status == SyncRun.Status.SUCCEEDED, again.error_message
    return {
        "first_sync_seconds": first_seconds,
        "first_sync_cpu_seconds": first_cpu_seconds,
        "no_change_sync_seconds": again_seconds,
        "first_sync_pages": first_pages,
        "no_change_sync_pages": pages_fetched(control.requests()),
        "no_change_write_statements": len(writes),
        "no_change_rows_changed": sum(getattr(again, name) for name in RUN_COUNTERS),
        "instances": Instance.objects.present().count(),
        "enis": NetworkInterface.objects.present().count(),
    }


def child(url: str) -> None:
    """One round in its own process, so its peak RSS is the sync's alone."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eniadmin.settings")
    import django

    django.setup()
    from django.db import connection

    from eniadmin.ens.client import EnsClient
    from eniadmin.ens.emulator.control import EmulatorControl

    client = EnsClient(endpoint=url, access_key_id=KEY_ID, access_key_secret=SECRET)
    with fetcher_peaks() as peaks:
        result = sync_round(client, EmulatorControl(url))
    result["sync_process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["fetcher_peak_rss_mb"] = max(peaks)
    # As if the sync process and every fetcher peaked at the same moment.
    result["peak_rss_mb"] = result["sync_process_peak_rss_mb"] + FETCHERS * max(peaks)
    result["database"] = connection.vendor
    print(json.dumps(result))


def measure(*, instances: int = 10_000, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eniadmin-bench-sync-") as workdir:
        env = app_env(default_database_url(workdir))
        subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
        )
        bare_seconds, bare_cpu, syncs = [], [], []
        with emulator(env, instances=instances) as url:
            bare_loop(url)  # warm the emulator's page cache and the loopback path
            for _ in range(rounds):
                seconds, cpu_seconds, _pages = bare_loop(url)
                bare_seconds.append(seconds)
                bare_cpu.append(cpu_seconds)
                syncs.append(child_json([PYTHON, __file__, "--child", url], env))

    first = [sync["first_sync_seconds"] for sync in syncs]
    again = [sync["no_change_sync_seconds"] for sync in syncs]
    last = syncs[-1]
    minimum = minimum_pages(last["instances"], last["enis"])
    # Every sync of every round, both actions: the most pages any sync fetched over the minimum.
    fetched = [sync[key] for sync in syncs for key in ("first_sync_pages", "no_change_sync_pages")]
    return {
        "cores": os.cpu_count(),
        "database": last["database"],
        "rounds": rounds,
        "instances": last["instances"],
        "enis": last["enis"],
        "pages_minimum": minimum,
        "pages_fetched_per_sync": fetched[-1],
        "pages_fetched_max_over_minimum": max(
            pages[action] / minimum[action] for pages in fetched for action in PAGED_ACTIONS
        ),
        "pages_every_sync_at_minimum": all(pages == minimum for pages in fetched),
        "bare_loop_seconds_median": round(median(bare_seconds), 2),
        "first_sync_seconds_median": round(median(first), 2),
        # CPU time of the measuring process and the sync's page fetchers (neither the emulator
        # nor a database server).
        "bare_loop_cpu_seconds_median": round(median(bare_cpu), 2),
        "first_sync_cpu_seconds_median": round(
            median(sync["first_sync_cpu_seconds"] for sync in syncs), 2
        ),
        "no_change_sync_seconds_median": round(median(again), 2),
        "first_sync_over_bare": round(median_ratio(first, bare_seconds), 2),
        "no_change_sync_over_bare": round(median_ratio(again, bare_seconds), 2),
        "no_change_row_writes": [sync["no_change_write_statements"] for sync in syncs],
        "no_change_rows_changed": [sync["no_change_rows_changed"] for sync in syncs],
        # The two processes at their peaks, as if both peaked at once.
        "peak_rss_mb": round(max(sync["peak_rss_mb"] for sync in syncs), 1),
        "sync_process_peak_rss_mb": round(max(s["sync_process_peak_rss_mb"] for s in syncs), 1),
        "fetchers": FETCHERS,
        "fetcher_peak_rss_mb": round(max(sync["fetcher_peak_rss_mb"] for sync in syncs), 1),
        "targets": "pages = minimum; sync/bare <= 1.3; peak RSS <= 250 MB; no-change writes 0",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print_result(measure(instances=args.instances, rounds=args.rounds), as_json=args.json)


if __name__ == "__main__":
    main()
