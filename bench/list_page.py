"""The list page at fleet scale, against Django admin's changelist of the same instances.

The emulator's 10,000-instance fleet (about 40,000 ENIs) is synced into the database
(DATABASE_URL when set, else a temporary SQLite file; a mirror already holding that many
instances is used as it is). Then, through Django's test client:
- SQL queries of the list page, as an Operator and as a superuser, at 50 and 20 instances per
  page, on two pages, and again with the fleet shrunk to 100 instances (the others marked gone
  inside a transaction that is rolled back): target <= 6 and the same everywhere;
- alternating, the list page (50 instances per page, each with its ENIs nested) and
  /admin/inventory/instance/ (list_per_page 50) for the same pages by the same superuser: the
  median server-time ratio list page / admin changelist, target <= 1.0.

    .venv/bin/python bench/list_page.py [--instances 10000] [--requests 30] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import app_env, default_database_url, print_result

LIST_URL = "/"
ADMIN_URL = "/admin/inventory/instance/"
INSTANCE_ROW = 'class="instance-row"'
PAGE_SIZES = (50, 20)
PAGES = (1, 2)


# The measurements below run inside a configured Django (this process, or the smoke test).


def timed_get(browser: Any, url: str) -> tuple[Any, float, int]:
    """The response, its server time as seen by the test client, and its SQL queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = browser.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return response, elapsed, len(queries.captured_queries)


@contextmanager
def page_size(size: int) -> Iterator[None]:
    """Both pages at `size` instances per page."""
    from django.contrib import admin

    from eniadmin.inventory import views
    from eniadmin.inventory.models import Instance

    model_admin = admin.site.get_model_admin(Instance)
    saved = views.PAGE_SIZE, model_admin.list_per_page
    views.PAGE_SIZE = model_admin.list_per_page = size
    try:
        yield
    finally:
        views.PAGE_SIZE, model_admin.list_per_page = saved


def list_page_queries(
    browser: Any, *, page_sizes: Sequence[int] = PAGE_SIZES, pages: Sequence[int] = PAGES
) -> dict[str, int]:
    """SQL queries of the list page for each page size and page, after one warming request."""
    from eniadmin.inventory.models import Instance

    present = Instance.objects.present().count()
    timed_get(browser, LIST_URL)
    counts = {}
    for size in page_sizes:
        with page_size(size):
            for page in pages:
                response, _, queries = timed_get(browser, f"{LIST_URL}?page={page}")
                shown = response.content.decode().count(INSTANCE_ROW)
                expected = max(0, min(size, present - (page - 1) * size))
                assert shown == expected, f"{size} per page, page {page}: {shown} instances shown"
                counts[f"{size} per page, page {page}"] = queries
    return counts


@contextmanager
def shrunk_fleet(keep: int) -> Iterator[None]:
    """Only the first `keep` instances (and the ENIs attached to them or to nothing) present,
    inside a transaction rolled back at the end: the list page of a small fleet, same database.
    """
    from django.db import transaction
    from django.utils import timezone

    from eniadmin.inventory.models import Instance, NetworkInterface

    now = timezone.now()
    with transaction.atomic():
        kept = list(
            Instance.objects.present()
            .order_by("region_id", "instance_id")
            .values_list("pk", flat=True)[:keep]
        )
        Instance.objects.present().exclude(pk__in=kept).update(gone_at=now)
        NetworkInterface.objects.present().exclude(instance__in=kept).exclude(
            attached_instance_id=""
        ).update(gone_at=now)
        yield
        transaction.set_rollback(True)


def compare_with_admin(browser: Any, requests: int, pages: int) -> dict[str, Any]:
    """Alternating list page and admin changelist requests for the same pages."""
    ours, admin, our_queries, admin_queries = [], [], set(), set()
    timed_get(browser, LIST_URL)  # warm template and query caches on both sides
    timed_get(browser, ADMIN_URL)
    for n in range(requests):
        page = 1 + (n * 37) % pages
        _, seconds, count = timed_get(browser, f"{LIST_URL}?page={page}")
        ours.append(seconds)
        our_queries.add(count)
        _, seconds, count = timed_get(browser, f"{ADMIN_URL}?p={page}")
        admin.append(seconds)
        admin_queries.add(count)
    return {
        "list_page_ms_median": round(1000 * statistics.median(ours), 1),
        "admin_changelist_ms_median": round(1000 * statistics.median(admin), 1),
        "list_over_admin": round(statistics.median(ours) / statistics.median(admin), 2),
        "superuser_list_page_queries": sorted(our_queries),
        "admin_changelist_queries": sorted(admin_queries),
    }


def user(username: str, *, superuser: bool = False, roles: Sequence[str] = ()) -> Any:
    from django.contrib.auth.models import User

    from eniadmin.accounts.roles import Role, set_roles

    found = User.objects.filter(username=username).first()
    if found is None:
        if superuser:
            found = User.objects.create_superuser(username, password=None)
        else:
            found = User.objects.create_user(username, password=None)
    set_roles(found, [Role(role) for role in roles])
    return found


def measure(*, instances: int = 10_000, requests: int = 30, small_fleet: int = 100) -> dict:
    scratch = tempfile.TemporaryDirectory(prefix="eniadmin-bench-list-")
    for name, value in app_env(default_database_url(scratch.name)).items():
        os.environ.setdefault(name, value)
    os.environ["DJANGO_SETTINGS_MODULE"] = "eniadmin.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from eniadmin.ens.client import EnsClient
    from eniadmin.ens.emulator.server import EmulatorServer
    from eniadmin.inventory.models import Instance, NetworkInterface, SyncRun
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    call_command("migrate", verbosity=0)
    if Instance.objects.present().count() != instances:
        with EmulatorServer(instances=instances) as emulator:
            client = EnsClient(
                endpoint=emulator.url,
                access_key_id=emulator.access_key_id,
                access_key_secret=emulator.access_key_secret,
            )
            run = run_sync(start_foreground_sync(), client)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    # Served from the source tree, as in the tests: no collectstatic needed for a benchmark.
    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain_static, ALLOWED_HOSTS=["testserver"]):
        superuser, operator = Client(), Client()
        superuser.force_login(user("bench-admin", superuser=True))
        operator.force_login(user("bench-list-operator", roles=["operator"]))
        queries = {
            "operator": list_page_queries(operator),
            "superuser": list_page_queries(superuser),
        }
        with shrunk_fleet(small_fleet):
            small = {
                "operator": list_page_queries(operator, page_sizes=(50,), pages=(1,)),
                "superuser": list_page_queries(superuser, page_sizes=(50,), pages=(1,)),
            }
        present = Instance.objects.present().count()
        timing = compare_with_admin(superuser, requests, max(1, present // 50))
    per_persona = {
        persona: [*queries[persona].values(), *small[persona].values()] for persona in queries
    }
    scratch.cleanup()
    return {
        "cores": os.cpu_count(),
        "database": connection.vendor,
        "instances": present,
        "enis": NetworkInterface.objects.present().count(),
        "requests_each": requests,
        "list_page_queries": queries,
        f"list_page_queries_with_{small_fleet}_instances": small,
        "list_page_queries_max": max(max(counts) for counts in per_persona.values()),
        "list_page_queries_constant": all(len(set(c)) == 1 for c in per_persona.values()),
        **timing,
        "targets": "queries <= 6 and constant; list/admin <= 1.0",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    args = parser.parse_args()
    print_result(measure(instances=args.instances, requests=args.requests), as_json=args.json)


if __name__ == "__main__":
    main()
