"""Inventory sync at fleet scale: pages fetched, wall time against a bare requests loop, memory.

The emulator runs in its own process with 10,000 instances (about 40,000 ENIs). In the same run:
- a bare loop: requests + the signing module + json.loads over every DescribeInstances and
  DescribeNetworkInterfaces page at PageSize 100, nothing else (the baseline);
- the sync, in a child process on an empty inventory (DATABASE_URL when set, else a temporary
  SQLite file), then a re-sync with nothing changed, which must write no row.
Each is repeated (--rounds) and reported as medians. Targets: pages = ceil(N/100) for each action,
sync / bare <= 1.3, peak RSS of the sync process <= 250 MB, re-sync writes = 0.

    .venv/bin/python bench/sync.py [--instances 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eniadmin.ens import signing  # noqa: E402

PAGE_SIZE = 100
KEY_ID, SECRET = "demo", "demo-secret"


def start_emulator(instances: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "eniadmin.ens.emulator", "--port", "0", "--instances",
         str(instances)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    first_line = process.stdout.readline()
    url = first_line.rsplit(" ", 1)[-1].strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"The emulator did not start: {first_line!r}")
    return process, url


def bare_loop(url: str) -> tuple[float, dict[str, int]]:
    """Every page of both actions, fetched and decoded, with nothing else done."""
    session = requests.Session()
    host = urlsplit(url).netloc
    pages = {}
    started = time.perf_counter()
    for action in ("DescribeInstances", "DescribeNetworkInterfaces"):
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
    return time.perf_counter() - started, pages


def child(url: str, rounds: int) -> None:
    """Runs in its own process, so its peak RSS is the sync's alone."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eniadmin.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from eniadmin.ens.client import EnsClient
    from eniadmin.inventory.models import EdgeRegion, Instance, NetworkInterface, SyncRun
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    call_command("migrate", verbosity=0)
    client = EnsClient(endpoint=url, access_key_id=KEY_ID, access_key_secret=SECRET)
    first, again, writes = [], [], []
    counted: list[str] = []

    def count_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) and any(
            table in sql for table in ("inventory_instance", "inventory_networkinterface")
        ):
            counted.append(sql)
        return execute(sql, params, many, context)

    for _ in range(rounds):
        for model in (NetworkInterface, Instance, EdgeRegion, SyncRun):
            model.objects.all().delete()
        started = time.perf_counter()
        run = run_sync(start_foreground_sync(), client)
        first.append(time.perf_counter() - started)
        assert run.status == "succeeded", run.error_message

        counted.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(count_writes):
            run_sync(start_foreground_sync(), client)
        again.append(time.perf_counter() - started)
        writes.append(len(counted))
    print(json.dumps({
        "first_sync_seconds": first,
        "no_change_sync_seconds": again,
        "no_change_row_writes": writes,
        "instances": Instance.objects.count(),
        "enis": NetworkInterface.objects.count(),
        "pages_done": run.pages_done,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "database": connection.vendor,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return

    emulator, url = start_emulator(args.instances)
    try:
        bare = [bare_loop(url) for _ in range(args.rounds)]
        bare_seconds = [seconds for seconds, _ in bare]
        pages = bare[0][1]
        env = dict(os.environ)
        scratch = tempfile.TemporaryDirectory()
        env.setdefault("DATABASE_URL", f"sqlite:///{scratch.name}/bench.sqlite3")
        requests.delete(f"{url}/_emulator/requests", timeout=10)
        result = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--child", url, "--rounds", str(args.rounds)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        sync = json.loads(result.stdout.strip().splitlines()[-1])
        log = requests.get(f"{url}/_emulator/requests", timeout=30).json()["requests"]
    finally:
        emulator.terminate()
        emulator.wait()

    fetched = {
        action: sum(1 for entry in log if entry["action"] == action) // (2 * args.rounds)
        for action in pages
    }
    first = statistics.median(sync["first_sync_seconds"])
    again = statistics.median(sync["no_change_sync_seconds"])
    base = statistics.median(bare_seconds)
    report = {
        "cores": os.cpu_count(),
        "database": sync["database"],
        "instances": sync["instances"],
        "enis": sync["enis"],
        "pages_minimum": {
            "DescribeInstances": math.ceil(sync["instances"] / PAGE_SIZE),
            "DescribeNetworkInterfaces": math.ceil(sync["enis"] / PAGE_SIZE),
        },
        "pages_fetched_per_sync": fetched,
        "bare_loop_seconds_median": round(base, 2),
        "first_sync_seconds_median": round(first, 2),
        "no_change_sync_seconds_median": round(again, 2),
        "first_sync_over_bare": round(first / base, 2),
        "no_change_sync_over_bare": round(again / base, 2),
        "no_change_row_writes": sync["no_change_row_writes"],
        "peak_rss_mb": round(sync["peak_rss_mb"], 1),
        "targets": "pages = minimum; sync/bare <= 1.3; peak RSS <= 250 MB; no-change writes 0",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
