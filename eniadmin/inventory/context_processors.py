"""What the header and the list's sync region show about the fleet, read in one query.

The latest sync runs, when the inventory was last synced, whether a worker is alive and when the
regions last changed are read together the first time a page asks, and kept on the request.
Higher apps put their own header counts into that same query with `add_header_count()` from
their context processors (inventory never imports them); context processors run before any of
the page renders, so the counts are in place when the header first asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, Func, IntegerField, JSONField, QuerySet, Subquery
from django.db.models.expressions import Star
from django.db.models.functions import JSONArray
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import SimpleLazyObject

from eniadmin.inventory.models import EdgeRegion, SyncRun, WorkerHeartbeat

# The newest region row and when a region last changed: regions change only when a sync writes
# them; the row id moves with a new region whatever the writing machine's clock says.
RegionsVersion = tuple[int | None, datetime | None]


@dataclass(frozen=True, slots=True)
class FleetStatus:
    open_run: SyncRun | None
    last_run: SyncRun | None
    last_synced_at: datetime | None
    worker_alive: bool
    regions_version: RegionsVersion
    counts: dict[str, int]


def fleet_status(request: HttpRequest) -> dict[str, object]:
    return {"fleet_status": SimpleLazyObject(lambda: fleet_status_of(request))}


def count_of(rows: QuerySet[Any]) -> Subquery:
    """How many `rows` there are, as a column of another query (COUNT(*), which PostgreSQL
    can answer from an index alone)."""
    count = Func(Star(), function="COUNT", output_field=IntegerField())
    return Subquery(rows.order_by().values(count=count))


def add_header_count(
    request: HttpRequest, name: str, rows: Callable[[], QuerySet[Any] | None]
) -> None:
    """Count `rows` with the status query; `rows` returns None to skip it (for a user who is
    not shown it), and is called only if the status is read."""
    if not hasattr(request, "_header_counts"):
        request._header_counts = {}
    request._header_counts[name] = rows


def fleet_status_of(request: HttpRequest) -> FleetStatus:
    if status := getattr(request, "_fleet_status", None):
        return status
    if not request.user.is_authenticated:
        # The query below hangs off the user's row; nobody signed in is shown no status.
        return FleetStatus(None, None, None, False, (None, None), {})
    builders = getattr(request, "_header_counts", {})
    counts = {
        name: count_of(counted)
        for name, rows in builders.items()
        if (counted := rows()) is not None
    }
    columns: dict[str, Any] = {
        "open_run": _newest_run(SyncRun.objects.open(), OPEN_RUN_FIELDS),
        "last_run": _newest_run(SyncRun.objects.closed(), LAST_RUN_FIELDS),
        "last_synced_at": Subquery(
            SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED)
            .order_by("-finished_at")
            .values("finished_at")[:1]
        ),
        "worker_alive": Exists(WorkerHeartbeat.objects.alive()),
        "regions_newest_pk": Subquery(EdgeRegion.objects.order_by("-pk").values("pk")[:1]),
        "regions_changed_at": Subquery(
            EdgeRegion.objects.order_by("-changed_at").values("changed_at")[:1]
        ),
        **counts,
    }
    # Every column is a subquery; the signed-in user's own row is only there to carry them, so
    # the answer is one row whatever the tables hold.
    values = get_user_model().objects.filter(pk=request.user.pk).values(**columns).get()
    status = FleetStatus(
        open_run=_run_from(values["open_run"], OPEN_RUN_FIELDS),
        last_run=_run_from(values["last_run"], LAST_RUN_FIELDS),
        last_synced_at=values["last_synced_at"],
        worker_alive=bool(values["worker_alive"]),
        regions_version=(values["regions_newest_pk"], values["regions_changed_at"]),
        counts={name: values[name] or 0 for name in counts},
    )
    request._fleet_status = status
    return status


# What the sync region shows of an open run, and of the last one that ended.
OPEN_RUN_FIELDS = ("status", "pages_done", "pages_expected")
LAST_RUN_FIELDS = (
    *OPEN_RUN_FIELDS, "finished_at", "instances_created", "instances_updated", "instances_gone",
    "enis_created", "enis_updated", "enis_gone", "error_code", "error_message",
    "error_request_id",
)  # fmt: skip


def _newest_run(runs: QuerySet[SyncRun], fields: tuple[str, ...]) -> Subquery:
    """The newest of `runs` as one JSON column (its `fields` in order), to fit in the row."""
    shown = JSONArray(*fields)
    return Subquery(runs.order_by("-created_at").values(run=shown)[:1], output_field=JSONField())


def _run_from(values: list[Any] | None, fields: tuple[str, ...]) -> SyncRun | None:
    if values is None:
        return None
    run = SyncRun(**dict(zip(fields, values, strict=True)))
    # JSON holds a time as text: ISO 8601 from PostgreSQL, "YYYY-MM-DD HH:MM:SS" in UTC from
    # SQLite.
    if finished_at := getattr(run, "finished_at", None):
        run.finished_at = parse_datetime(finished_at)
        if timezone.is_naive(run.finished_at):
            run.finished_at = timezone.make_aware(run.finished_at, UTC)
    return run
