"""The list page at fleet scale, against Django admin's changelist of the same instances.

The emulator's 10,000-instance fleet (about 40,000 ENIs) is synced into a fresh database
(DATABASE_URL when set, else a temporary SQLite file). Then, in one run and alternating, the
list page (50 instances per page, each with its ENIs nested) and /admin/inventory/instance/
(list_per_page 50) are requested for the same pages by the same superuser through Django's test
client. Reported: SQL queries per request (target <= 6, constant) and the median server-time
ratio list page / admin changelist (target <= 1.0).

    .venv/bin/python bench/list_page.py [--instances 10000] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch.name}/bench.sqlite3")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "eniadmin.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from eniadmin.ens.client import EnsClient
    from eniadmin.ens.emulator.server import EmulatorServer
    from eniadmin.inventory.models import Instance, NetworkInterface, SyncRun
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    if Instance.objects.count() != args.instances:
        with EmulatorServer(instances=args.instances) as emulator:
            client = EnsClient(
                endpoint=emulator.url,
                access_key_id=emulator.access_key_id,
                access_key_secret=emulator.access_key_secret,
            )
            run = run_sync(start_foreground_sync(), client)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    admin_user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", password=None
    )
    browser = Client()
    browser.force_login(admin_user)
    pages = max(1, Instance.objects.count() // 50)

    def measure(url: str) -> tuple[float, int]:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = browser.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(queries.captured_queries)

    ours, admin, our_queries, admin_queries = [], [], set(), set()
    measure("/")  # warm template and query caches on both sides
    measure("/admin/inventory/instance/")
    for n in range(args.requests):
        page = 1 + (n * 37) % pages
        seconds, count = measure(f"/?page={page}")
        ours.append(seconds)
        our_queries.add(count)
        seconds, count = measure(f"/admin/inventory/instance/?p={page}")
        admin.append(seconds)
        admin_queries.add(count)

    print(json.dumps({
        "cores": os.cpu_count(),
        "database": connection.vendor,
        "instances": Instance.objects.count(),
        "enis": NetworkInterface.objects.count(),
        "requests_each": args.requests,
        "list_page_queries": sorted(our_queries),
        "admin_changelist_queries": sorted(admin_queries),
        "list_page_ms_median": round(1000 * statistics.median(ours), 1),
        "admin_changelist_ms_median": round(1000 * statistics.median(admin), 1),
        "list_over_admin": round(statistics.median(ours) / statistics.median(admin), 2),
        "targets": "queries <= 6 and constant; list/admin <= 1.0",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
