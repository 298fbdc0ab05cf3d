"""Mirror the cloud into the database: walk every page once, write only what changed.

Memory stays flat whatever the fleet size: a page is compared with the mirror and dropped; only
its changed rows wait, a couple of thousand at most, to be written together. Only the ids seen
are kept, to mark the rows that vanished, and each instance's row key, to link the ENIs to it.
The pages are fetched and decoded by processes of their own (eniadmin.ens.walker) while this
one compares and writes them.
A sync that fails half-way still writes the pages it finished (its run says how far it got)
and marks nothing gone: absence is only concluded from a complete walk.
"""

from __future__ import annotations

import functools
import gc
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, Field, Model, OuterRef, QuerySet, Subquery
from django.utils import timezone

from eniadmin.audit.events import record, serialise_appends
from eniadmin.audit.models import Action
from eniadmin.ens import resources
from eniadmin.ens.client import MAX_LIST_LENGTH, EnsClient
from eniadmin.ens.errors import EnsError
from eniadmin.ens.walker import COLLECT_AFTER_OBJECTS, FetcherLost, PageWalker
from eniadmin.inventory import mirrored
from eniadmin.inventory.models import EdgeRegion, Instance, NetworkInterface, SyncRun

log = logging.getLogger(__name__)

# A running sync not touched for this long lost its worker (killed, machine gone).
ABANDONED_AFTER_SECONDS = 300
GONE_BATCH = 500
PROGRESS_EVERY = timedelta(seconds=0.5)
WRITE_EVERY_ROWS = 2000
WRITE_EVERY = timedelta(seconds=1)
ANALYZE_AFTER_CHANGED_ROWS = 5000
# Its statistics sample 300 times this many rows of each table (PostgreSQL's default: 100).
QUICK_STATISTICS_TARGET = 10
# What the list page's queries filter and join on (eniadmin.inventory.views._filtered).
PLANNED_FIELDS = {
    Instance: ("region_id", "status", "gone_at"),
    NetworkInterface: (
        "instance",
        "attached_instance_id",
        "region_id",
        "status",
        "type",
        "gone_at",
    ),
}


@dataclass
class Change:
    """A state change the sync observed: not caused by this sync, maybe not by the dashboard."""

    kind: str  # "instance" or "eni"
    resource_id: str
    region_id: str
    instance_id: str
    before: dict[str, object]
    after: dict[str, object]


@dataclass
class WriteResult:
    """What one batch wrote, and the state changes it saw on the way."""

    created: int = 0
    updated: int = 0
    changes: list[Change] = field(default_factory=list)


class SyncStopped(Exception):
    """The sync was asked to stop (the worker stopping, Ctrl-C) between two pages."""


class SyncLost(Exception):
    """Another worker took the run for lost (no progress for ABANDONED_AFTER_SECONDS: the
    process was suspended, say) and ended it; a newer sync may be running."""


def queue_sync(
    *, requested_by: AbstractBaseUser | None = None, trigger: str = SyncRun.Trigger.MANUAL
) -> tuple[SyncRun, bool]:
    """Queue a sync, or join the one already queued. Returns (run, created)."""
    queued = SyncRun.objects.filter(status=SyncRun.Status.QUEUED).first()
    if queued:
        return queued, False
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(requested_by=requested_by, trigger=trigger)
            record(
                Action.SYNC_REQUESTED,
                actor=requested_by,
                comment=f"Sync #{run.pk} queued ({run.get_trigger_display()}).",
            )
    except IntegrityError:  # another process queued one in between, maybe started it since
        open_runs = SyncRun.objects.filter(
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        )
        joined = open_runs.order_by("-created_at").first()
        if joined is None:  # and it ended already
            return queue_sync(requested_by=requested_by, trigger=trigger)
        return joined, False
    return run, True


def claim_next_sync(worker: str) -> SyncRun | None:
    """Take the oldest queued run by conditional UPDATE: of several workers, exactly one wins."""
    fail_runs_left_by(worker)
    fail_abandoned_runs()
    if SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists():
        return None
    run = SyncRun.objects.filter(status=SyncRun.Status.QUEUED).order_by("created_at").first()
    if run is None:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
                status=SyncRun.Status.RUNNING, started_at=now, progressed_at=now, claimed_by=worker
            )
            if claimed:
                record(Action.SYNC_STARTED, comment=f"Sync #{run.pk} started by {worker}.")
    except IntegrityError:  # another worker started a run in between
        return None
    if not claimed:
        return None
    run.refresh_from_db()
    return run


def fail_abandoned_runs() -> int:
    cutoff = timezone.now() - timezone.timedelta(seconds=ABANDONED_AFTER_SECONDS)
    return _fail_lost_runs(
        SyncRun.objects.filter(progressed_at__lt=cutoff),
        "The worker running this sync stopped answering; the next sync starts over.",
        "stopped answering",
    )


def fail_runs_left_by(worker: str) -> int:
    """Runs this worker still holds as running, when it is between two syncs: its last one
    ended in an error that could not be recorded (the database connection had dropped)."""
    return _fail_lost_runs(
        SyncRun.objects.filter(claimed_by=worker),
        "The worker lost this sync to an error it could not record (the database connection "
        "dropped, say); the next sync starts over.",
        "lost it to an error",
    )


def _fail_lost_runs(runs: QuerySet[SyncRun], message: str, what_happened: str) -> int:
    failed = 0
    for run in runs.filter(status=SyncRun.Status.RUNNING):
        with transaction.atomic():
            taken = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.FAILED,
                finished_at=timezone.now(),
                error_code="WorkerLost",
                error_message=message,
            )
            if taken:
                record(
                    Action.SYNC_FAILED,
                    outcome="WorkerLost",
                    comment=f"Sync #{run.pk}: its worker {run.claimed_by} {what_happened}.",
                )
                failed += 1
    return failed


class SyncAlreadyRunning(Exception):
    """A foreground sync cannot start: another one runs."""


def start_foreground_sync() -> SyncRun:
    fail_abandoned_runs()
    now = timezone.now()
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                status=SyncRun.Status.RUNNING,
                trigger=SyncRun.Trigger.COMMAND,
                started_at=now,
                progressed_at=now,
                claimed_by="sync_inventory",
            )
            record(Action.SYNC_STARTED, comment=f"Sync #{run.pk} started in the foreground.")
    except IntegrityError:  # one running at most
        running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first()
        if running is None:  # it ended in between
            return start_foreground_sync()
        raise SyncAlreadyRunning(
            f"Sync #{running.pk} is running ({running.claimed_by}, last progress "
            f"{running.progressed_at:%Y-%m-%d %H:%M:%S} UTC). Wait for it to end; with no "
            f"progress for {ABANDONED_AFTER_SECONDS // 60} minutes it is taken for lost."
        ) from None
    return run


def run_sync(
    run: SyncRun,
    client: EnsClient,
    *,
    on_progress: Callable[[SyncRun], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> SyncRun:
    """Walk regions, instances and ENIs into the mirror; finish `run` as succeeded or failed."""
    now = timezone.now()
    walk = _Walk(run, now, on_progress, should_stop)
    try:
        # The walker's processes fetch and decode the pages while this one compares and
        # writes them: each side has about a core's worth of work.
        walker = PageWalker(
            client,
            ("describe_instances", mirrored.instance_values),
            ("describe_network_interfaces", mirrored.network_interface_values),
        )
        with _collector_spared(), walker:
            _upsert_regions(client.describe_regions().items, now)
            walk.instances(walker.pages())
            walk.network_interfaces(walker.pages())
            walk.mark_gone(client)
    except EnsError as error:
        walk.keep_walked()
        return _finish_failed(run, error.code, error.operator_message, error.request_id)
    except SyncStopped:
        walk.keep_walked()
        return _finish_stopped(run)
    except FetcherLost as error:
        walk.keep_walked()
        if should_stop():  # whatever stopped the worker reached its fetchers first
            return _finish_stopped(run)
        log.error("Sync #%s failed: %s", run.pk, error)
        return _finish_failed(run, "FetcherLost", f"{error} The next sync starts over.", "")
    except SyncLost:
        return _lost(run)
    except KeyboardInterrupt:  # stopped at once, not at a page boundary: nothing more is written
        try:
            _finish_stopped(run)
        except Exception:
            log.exception("Sync #%s: interrupted, and its run could not be recorded", run.pk)
        raise
    except Exception as error:
        log.exception("Sync #%s failed", run.pk)
        walk.keep_walked()
        _finish_failed(run, "InternalError", f"{type(error).__name__}: {error}", "")
        raise
    run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    try:
        with transaction.atomic():
            _save_running(run)
            record(Action.SYNC_FINISHED, after=_counts(run), comment=f"Sync #{run.pk} finished.")
    except SyncLost:
        return _lost(run)
    _refresh_statistics(run)
    return run


def _save_running(run: SyncRun, fields: Iterable[str] = ()) -> None:
    """Save `fields` of the run (all by default), as long as it is still running: SyncLost if
    another worker ended it meanwhile, whose ending stands."""
    names = fields or [
        field.attname for field in SyncRun._meta.concrete_fields if not field.primary_key
    ]
    values = {name: getattr(run, name) for name in names}
    if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(**values):
        raise SyncLost(run.pk)


def _lost(run: SyncRun) -> SyncRun:
    log.warning(
        "Sync #%s was taken for lost by another worker while it ran and stopped; the run "
        "keeps the ending that worker recorded.",
        run.pk,
    )
    run.refresh_from_db()
    return run


def _refresh_statistics(run: SyncRun) -> None:
    """After a first sync or another big change, let PostgreSQL's planner see the new tables.

    Autovacuum notices thousands of new rows only a while later; until then the list page's
    queries are planned for almost empty tables (sorting the whole fleet instead of reading an
    index). SQLite plans without statistics unless asked to keep them.

    Only the columns the list's queries filter and join on are analysed, from a sample a tenth
    of the usual size: enough to show the planner how big the tables have grown, in 0.03 s
    instead of 0.25 s, on a first sync's critical path. ANALYZE of some columns leaves the
    tables due for autovacuum's own, with the usual sample. The run has ended by now: a failure
    here is logged, not made the sync's.
    """
    changed = run.instances_created + run.enis_created + run.instances_gone + run.enis_gone
    if connection.vendor != "postgresql" or changed < ANALYZE_AFTER_CHANGED_ROWS:
        return
    quote = connection.ops.quote_name
    tables = ", ".join(
        f"{quote(model._meta.db_table)} "
        f"({', '.join(quote(model._meta.get_field(name).column) for name in names)})"
        for model, names in PLANNED_FIELDS.items()
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL default_statistics_target = {QUICK_STATISTICS_TARGET}")
            cursor.execute(f"ANALYZE {tables}")
    except DatabaseError:
        log.warning(
            "Sync #%s: the planner's statistics could not be refreshed", run.pk, exc_info=True
        )


@contextmanager
def _collector_spared() -> Iterator[None]:
    """Keep the cyclic garbage collector off every object that existed before the walk, and
    let it wait for more new objects than a batch of rows makes.

    A walk allocates hundreds of thousands of short-lived objects, which set off full
    collections that scanned the whole process (Django, its caches) again and again: a third
    of a re-sync's time. Even so, at the default threshold a first sync ran some two hundred
    collections, walking the rows waiting in a batch. The walk's own objects are still
    collected. A process that froze objects itself (a server preserving memory shared across
    forks) is left frozen as it is.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(COLLECT_AFTER_OBJECTS, *threshold[1:])
    frozen_here = not gc.get_freeze_count()
    if frozen_here:
        gc.freeze()
    try:
        yield
    finally:
        if frozen_here:
            gc.unfreeze()
        gc.set_threshold(*threshold)


def _finish_stopped(run: SyncRun) -> SyncRun:
    return _finish_failed(
        run, "WorkerStopped", "The sync was stopped before its end; the next one starts over.", ""
    )


def _finish_failed(run: SyncRun, code: str, message: str, request_id: str) -> SyncRun:
    run.status = SyncRun.Status.FAILED
    run.finished_at = timezone.now()
    run.error_code = code
    run.error_message = message
    run.error_request_id = request_id
    try:
        with transaction.atomic():
            _save_running(run)
            record(
                Action.SYNC_FAILED,
                outcome=code,
                request_id=request_id,
                after=_counts(run),
                comment=f"Sync #{run.pk} failed: {message}",
            )
    except SyncLost:
        return _lost(run)
    return run


def _counts(run: SyncRun) -> dict[str, int]:
    return {
        "pages_done": run.pages_done,
        "instances_created": run.instances_created,
        "instances_updated": run.instances_updated,
        "instances_gone": run.instances_gone,
        "enis_created": run.enis_created,
        "enis_updated": run.enis_updated,
        "enis_gone": run.enis_gone,
    }


def _record_changes(changes: list[Change]) -> None:
    """What the sync saw change in the cloud. The dashboard's own detaches are followed by the
    detach workflow, which updates the mirror first, so a change found here came from outside."""
    for change in changes:
        record(
            Action.EXTERNAL_CHANGE,
            eni_id=change.resource_id if change.kind == "eni" else "",
            instance_id=change.instance_id,
            region_id=change.region_id,
            before=change.before,
            after=change.after,
            comment=f"The inventory sync saw this {change.kind} change in ENS.",
        )


class _Walk:
    def __init__(
        self,
        run: SyncRun,
        now: datetime,
        on_progress: Callable[[SyncRun], None] | None,
        should_stop: Callable[[], bool],
    ) -> None:
        self.run = run
        self.now = now
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.instance_pages = 0
        self.seen_instances: set[str] = set()
        self.seen_enis: set[str] = set()
        self.instance_pks: dict[str, int] = {}
        self.batch: _Batch | None = None
        # For each table empty when its walk began: the ids the walk wrote into it.
        self.written_into_empty: dict[type[Model], set[str]] = {}

    def instances(self, pages: Iterable[resources.Page[mirrored.Values]]) -> None:
        self.batch = _Batch(Instance, "instance_id", self.now, watched=("status",))
        if self.batch.written is not None:
            self.written_into_empty[Instance] = self.batch.written
        for page in pages:
            if not self.instance_pages:
                self.instance_pages = _page_count(page)
                # Until the first ENI page says otherwise, expect as many ENI pages as now.
                enis = NetworkInterface.objects.present().count()
                self.run.pages_expected = self.instance_pages + math.ceil(enis / page.page_size)
            self.seen_instances.update(page.items)
            self.batch.add(page.items)
            self._progress()
        self.write()

    def network_interfaces(self, pages: Iterable[resources.Page[mirrored.Values]]) -> None:
        # Every instance row is written by now: the ENIs' links come from this, not from a
        # query per page.
        self.instance_pks = dict(Instance.objects.values_list("instance_id", "pk"))
        self.batch = _Batch(
            NetworkInterface,
            "eni_id",
            self.now,
            watched=("status", "attached_instance_id"),
            on_status_change="status_changed_at",
            before_write=functools.partial(_link_instances, instance_pks=self.instance_pks),
        )
        if self.batch.written is not None:
            self.written_into_empty[NetworkInterface] = self.batch.written
        first = True
        for page in pages:
            if first:
                self.run.pages_expected = self.instance_pages + _page_count(page)
                first = False
            self.seen_enis.update(page.items)
            self.batch.add(page.items)
            self._progress()
        self.write()
        with transaction.atomic():
            _link_late_instances()

    def write(self) -> None:
        """Write what the pages walked so far changed; a failed walk keeps them too."""
        if self.batch is None:
            return
        result = self.batch.write()
        if self.batch.model is Instance:
            self.run.instances_created += result.created
            self.run.instances_updated += result.updated
        else:
            self.run.enis_created += result.created
            self.run.enis_updated += result.updated

    def keep_walked(self) -> None:
        """After a failure: write what the finished pages changed, if the database lets us.
        Whatever happens here, the run must still be recorded as failed."""
        try:
            self.write()
        except Exception:
            log.exception("Sync #%s: the pages walked could not be written", self.run.pk)

    def mark_gone(self, client: EnsClient) -> None:
        """Mark the rows ENS no longer lists, once it has said so when asked for them by id.

        A walk lists items by their position: when the fleet changes while it is walked, an
        item can move to a page already fetched, and the walk never sees it although it is
        still there. The ids the walk did not see are asked for (a hundred a call; none at all
        when nothing vanished, every page of the answer), before any lock is taken. A table
        that was empty when the walk began (a first sync) and holds as many rows as the walk
        wrote into it holds none other: its ids are not read back.
        """
        instances = self._unlisted(
            Instance,
            "instance_id",
            self.seen_instances,
            lambda ids: {item.instance_id for item in client.iter_instances(instance_ids=ids)},
        )
        enis = self._unlisted(
            NetworkInterface,
            "eni_id",
            self.seen_enis,
            lambda ids: {item.eni_id for item in client.iter_network_interfaces(eni_ids=ids)},
        )
        with transaction.atomic():
            serialise_appends()  # before the rows' locks, as everywhere
            instances_gone = _mark_gone(Instance, "instance_id", instances, self.now)
            enis_gone = _mark_gone(NetworkInterface, "eni_id", enis, self.now)
        # Counted once committed: a failure in between leaves the run's counts at nothing gone.
        self.run.instances_gone, self.run.enis_gone = instances_gone, enis_gone

    def _unlisted(
        self,
        model: type[Model],
        key: str,
        seen: set[str],
        listed: Callable[[list[str]], set[str]],
    ) -> list[str]:
        written = self.written_into_empty.get(model)
        # Counted, not assumed: a sync taken for lost while suspended may still write the
        # batch it held when it wakes, before it finds out.
        if written is not None and model.objects.count() == len(written):
            return []
        return _unlisted(model, key, seen, listed)

    def _progress(self) -> None:
        if self.batch is not None and self.batch.due:
            self.write()
        self.run.pages_done += 1
        self.run.pages_expected = max(self.run.pages_expected or 0, self.run.pages_done)
        now = timezone.now()
        # The run's counters are saved in full when it finishes; meanwhile, the progress bar
        # needs no more than two writes a second.
        if not self.run.progressed_at or now - self.run.progressed_at >= PROGRESS_EVERY:
            self.run.progressed_at = now
            _save_running(
                self.run,
                [
                    "pages_done", "pages_expected", "progressed_at", "instances_created",
                    "instances_updated", "enis_created", "enis_updated",
                ],
            )  # fmt: skip
        if self.on_progress:
            self.on_progress(self.run)
        if self.should_stop():
            raise SyncStopped


def _page_count(page: resources.Page) -> int:
    return max(1, math.ceil(page.total_count / page.page_size))


def _upsert_regions(regions: list[resources.EnsRegion], now: datetime) -> None:
    batch = _Batch(EdgeRegion, "region_id", now)
    batch.add(mirrored.region_values(regions))
    batch.write()


def _link_instances(rows: list[Row], instance_pks: dict[str, int]) -> None:
    """Point the ENIs about to be written at their instance's row, when the mirror has it."""
    for row in rows:
        row["instance_id"] = instance_pks.get(row["attached_instance_id"])


def _link_late_instances() -> None:
    """ENIs written before their instance's row existed get linked once it does."""
    instance = Instance.objects.filter(instance_id=OuterRef("attached_instance_id"))
    unlinked = (
        NetworkInterface.objects.filter(instance__isnull=True)
        .exclude(attached_instance_id="")
        .filter(Exists(instance))
    )
    if unlinked.exists():  # the usual answer is no: then nothing is written at all
        unlinked.update(instance=Subquery(instance.values("pk")[:1]))


# A row to write: column values by field attname ("pk" for the primary key of an update).
Row = dict[str, object]


class _Batch:
    """One model's rows to create or update, gathered page by page and written together.

    Rows are compared by a fingerprint of their mirrored values: one narrow query per page
    instead of reading and converting every column of every row. The comparison runs outside
    any transaction. What differs waits here until WRITE_EVERY_ROWS rows have gathered (or
    WRITE_EVERY has passed), then those rows, their audit events and nothing else commit
    together: committing every page on its own wrote the same index pages again at each
    commit, since a page's random ids touch a leaf of every index, and that cost more than the
    inserts themselves. A later page's row replaces a waiting one with the same id (a fleet
    shifting mid-walk), as it would have once written.

    A row someone else wrote after the sync began (the detach worker recording what it saw of
    an ENI) may be newer than the page, which was fetched a while before it is written: it is
    left as it is, for the next sync to compare again. Otherwise an older page would undo it and
    be recorded as an external change.

    Into an empty table (a first sync) only the rows this batch wrote itself can exist, so
    the other ids are not looked up at all.
    """

    def __init__(
        self,
        model: type[Model],
        key: str,
        now: datetime,
        *,
        watched: tuple[str, ...] = (),
        on_status_change: str = "",
        before_write: Callable[[list[Row]], None] | None = None,
    ) -> None:
        self.model = model
        self.key = key
        self.now = now
        self.watched = watched
        self.on_status_change = on_status_change
        self.before_write = before_write
        self.to_create: dict[str, Row] = {}
        self.to_update: dict[str, Row] = {}
        self.written_at = time.monotonic()
        # None: the table had rows when the batch began, any id may be there.
        self.written: set[str] | None = None if model.objects.exists() else set()

    def add(self, wanted: mirrored.Values) -> None:
        key, now = self.key, self.now
        maybe_there = list(wanted) if self.written is None else self.written.intersection(wanted)
        existing = _existing(self.model, key, list(maybe_there))
        for resource_id, values in wanted.items():
            row = existing.get(resource_id)
            if row is None:
                self.to_create[resource_id] = {key: resource_id, **values, "changed_at": now}
            elif row[1] != values["fingerprint"] or row[2]:
                self.to_update[resource_id] = {
                    "pk": row[0], key: resource_id, **values, "changed_at": now, "gone_at": None,
                }  # fmt: skip
            else:  # as written: an earlier page's version of it is no longer news
                self.to_update.pop(resource_id, None)

    @property
    def due(self) -> bool:
        waiting = len(self.to_create) + len(self.to_update)
        return waiting >= WRITE_EVERY_ROWS or (
            waiting > 0 and time.monotonic() - self.written_at >= WRITE_EVERY.total_seconds()
        )

    def write(self) -> WriteResult:
        """Create the new rows and update the changed ones, in one transaction."""
        model = self.model
        to_create, to_update = list(self.to_create.values()), list(self.to_update.values())
        if self.written is not None:
            self.written.update(self.to_create)
        self.to_create, self.to_update = {}, {}
        self.written_at = time.monotonic()
        result = WriteResult()
        if not to_create and not to_update:
            return result
        with transaction.atomic():
            if to_update:
                if self.watched:
                    # The audit chain's lock before the rows' locks, the order in which the
                    # detach worker takes them.
                    serialise_appends()
                kept = (self.on_status_change,) if self.on_status_change else ()
                before = _locked(model, to_update, ("changed_at", "gone_at", *self.watched, *kept))
                to_update = _not_written_since(model, to_update, before, self.now)
            if to_update and self.watched:
                result.changes = _changes(
                    model, self.key, to_update, before, self.watched, self.on_status_change,
                    self.now,
                )  # fmt: skip
                _record_changes(result.changes)
            if not result.changes:
                _commit_without_waiting_for_the_disk()
            if self.before_write:
                self.before_write([*to_create, *to_update])
            if to_create:
                _insert_rows(model, to_create)
            if to_update:
                names = [*model.MIRRORED, *model.LINKS, "fingerprint", "changed_at", "gone_at"]
                if self.on_status_change:
                    names.append(self.on_status_change)
                _update_rows(model, to_update, names)
        result.created, result.updated = len(to_create), len(to_update)
        return result


def _commit_without_waiting_for_the_disk() -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL is on disk: for a
    batch of mirror rows that records no audit event, as every batch of a first sync.

    A first sync commits some thirty batches of 2,000 rows, and waiting for each one's WAL to
    reach the disk cost 0.1-0.2 s of a 4 s sync. A crash of the database server may then lose
    the batches of its last fraction of a second, whole and in order, never a half-written one;
    the next sync writes their rows again. Any later commit that waits for the disk (the sync's
    progress and its end, every detach step, every audit event) waits for them too.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _existing(model: type[Model], key: str, ids: list[str]) -> dict[str, tuple[int, str, bool]]:
    """(pk, fingerprint, gone) of the rows among `ids`. Written out: the ORM took longer to
    build this query than the database took to answer it, once for every page."""
    if not ids:  # an empty page: PostgreSQL refuses "IN ()"
        return {}
    quote = connection.ops.quote_name
    key_column = quote(model._meta.get_field(key).column)
    if connection.vendor == "postgresql":  # one array: short to quote on the client
        among, parameters = "= ANY(%s)", [ids]
    else:
        among, parameters = f"IN ({', '.join(['%s'] * len(ids))})", ids
    # Only quoted names of our own model go into the text; every id is a parameter.
    sql = (
        f"SELECT {key_column}, {quote(model._meta.pk.column)}, fingerprint, "  # noqa: S608
        f"gone_at IS NOT NULL FROM {quote(model._meta.db_table)} WHERE {key_column} {among}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return {
            resource_id: (pk, fingerprint, gone) for resource_id, pk, fingerprint, gone in cursor
        }


def _locked(model: type[Model], rows: list[Row], fields: tuple[str, ...]) -> dict[int, Row]:
    """The rows' `fields` as the database holds them, by pk, locked until the write commits
    (on SQLite, the transaction holds the database's only write lock already). The lock is the
    one the UPDATE takes anyway: it lets a detach request referring to a row be created
    meanwhile."""
    return {
        values.pop("pk"): values
        for values in model.objects.select_for_update(no_key=True)
        .filter(pk__in=[row["pk"] for row in rows])
        .values("pk", *fields)
    }


def _not_written_since(
    model: type[Model], rows: list[Row], before: dict[int, Row], since: datetime
) -> list[Row]:
    """The rows nobody else wrote since `since`, by the changed_at in `before`."""
    kept = [
        row for row in rows if row["pk"] not in before or before[row["pk"]]["changed_at"] <= since
    ]
    if len(kept) < len(rows):
        log.info(
            "%s: %d written by another process during the sync, left for the next one",
            model._meta.verbose_name_plural.capitalize(),
            len(rows) - len(kept),
        )
    return kept


def _insert_rows(model: type[Model], rows: list[Row]) -> None:
    """Insert new rows; columns a row lacks get their field's default.

    bulk_create() builds model instances and statements of a few dozen rows each (SQLite's
    limit on parameters), and prepares every value through its field: on a first sync that
    costs several times the database's own work. Instead, one parameterised INSERT goes to
    executemany, or on PostgreSQL the rows go through COPY: Django's psycopg cursors bind
    parameters on the client, which makes every INSERT a new statement for the server to
    parse and plan, and quotes every value in Python on the way. COPY's binary format spares
    the text of every value: psycopg writes each one as the column's type, in C (a first sync:
    0.24 s of this process's time down to 0.06 s).
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    # The columns the rows hold, then the others with their field's default.
    held = [field for field in fields if field.attname in rows[0]]
    defaulted = [field for field in fields if field.attname not in rows[0]]
    defaults = [_to_db(field)(field.get_default()) for field in defaulted]
    parameters = [values + defaults for values in _parameters(held, rows)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in [*held, *defaulted])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own COPY, under Django's cursor: the names are our model's, quoted.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                # "varchar(64)" is a varchar to psycopg's registry of type names.
                copy.set_types(
                    [field.db_type(connection).split("(")[0] for field in [*held, *defaulted]]
                )
                for values in parameters:
                    copy.write_row(values)
        else:
            placeholders = ", ".join(["%s"] * len(held + defaulted))
            # Only quoted names of our own model go into the text; every value is a parameter.
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                parameters,
            )


def _update_rows(model: type[Model], rows: list[Row], names: list[str]) -> None:
    """One parameterised UPDATE per row, sent with executemany.

    bulk_update() builds a CASE expression per field over every row of the batch, which costs
    seconds per page when a whole fleet changes at once (as after an upgrade).
    """
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # Only quoted names of our own model go into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    pk = model._meta.pk
    # The primary key last, for the WHERE clause.
    rows_by_pk = ({**row, pk.attname: row["pk"]} for row in rows)
    with connection.cursor() as cursor:
        cursor.executemany(sql, _parameters([*fields, pk], rows_by_pk))


# Fields whose Python values the database drivers take as they are (see _to_db).
PLAIN_FIELDS = {
    "CharField", "TextField", "BooleanField", "ForeignKey", "PositiveIntegerField",
    "IntegerField", "BigAutoField",
}  # fmt: skip


def _parameters(fields: list[Field], rows: Iterable[Row]) -> list[list[object]]:
    """Each row's values of `fields`, in order, ready for the database."""
    values_of = itemgetter(*(model_field.attname for model_field in fields))
    converted = [
        (index, to_db) for index, to_db in enumerate(map(_to_db, fields)) if to_db is not _as_it_is
    ]
    parameters = []
    for row in rows:
        values = list(values_of(row))
        for index, to_db in converted:
            values[index] = to_db(values[index])
        parameters.append(values)
    return parameters


def _as_it_is(value: object) -> object:
    return value


def _to_db(model_field: Field) -> Callable[[object], object]:
    """How a value of this field goes to the database: as it is for the kinds the drivers
    take directly; for times, Django's conversion (SQLite stores text) or its shortcut;
    for any other kind, Django's full preparation."""
    kind = model_field.get_internal_type()
    if kind in PLAIN_FIELDS:
        return _as_it_is
    if kind == "DateTimeField":
        return _time_to_db()
    return functools.partial(model_field.get_db_prep_save, connection=connection)


def _time_to_db() -> Callable[[datetime | None], object]:
    """Django's conversion of an aware time for this database, quicker in the common case.

    On SQLite Django stores an aware time as naive UTC text, and its checks on the way cost
    more than a row's insert, with two or three times a row. A time already in UTC takes the
    short way to the same text; any other goes through Django.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone is not UTC:
        return adapt
    # Every row of a batch holds the sync's own time as well: converted once.
    texts: dict[datetime, str] = {}

    def to_text(value: datetime | None) -> object:
        if value is None or value.tzinfo is not UTC:
            return adapt(value)
        text = texts.get(value)
        if text is None:
            text = texts[value] = value.isoformat(" ")[:-6]  # less its "+00:00"
        return text

    return to_text


def _changes(
    model: type[Model],
    key: str,
    updated: list[Row],
    before: dict[int, Row],
    watched: tuple[str, ...],
    on_status_change: str,
    now: datetime,
) -> list[Change]:
    """The watched fields that changed, from `before` (the rows as they were before being
    overwritten), and rows marked gone that ENS lists again; and `on_status_change` set to now
    where the status changed, kept where it did not."""
    changes = []
    for item in updated:
        old = {name: before[item["pk"]][name] for name in watched}
        if on_status_change:
            since = before[item["pk"]][on_status_change]
            item[on_status_change] = now if old["status"] != item["status"] else since
        new = {name: item[name] for name in watched}
        if before[item["pk"]]["gone_at"] is not None:  # the reverse of _mark_gone's event
            old["listed"], new["listed"] = False, True
        if old == new:
            continue
        is_eni = model is NetworkInterface
        changes.append(
            Change(
                kind="eni" if is_eni else "instance",
                resource_id=item[key],
                region_id=item.get("region_id", ""),
                instance_id=(
                    item["attached_instance_id"] or old["attached_instance_id"]
                    if is_eni
                    else item[key]
                ),
                before=old,
                after=new,
            )
        )
    return changes


def _unlisted(
    model: type[Model], key: str, seen: set[str], listed: Callable[[list[str]], set[str]]
) -> list[str]:
    """The ids of present rows that the walk did not see, less those that ENS, asked for by
    id (`listed`, up to MAX_LIST_LENGTH ids a call), still lists."""
    quote = connection.ops.quote_name
    # Written out, like _existing(): the whole table goes through this loop.
    sql = (
        f"SELECT {quote(model._meta.get_field(key).column)} "  # noqa: S608
        f"FROM {quote(model._meta.db_table)} WHERE gone_at IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        unseen = [resource_id for (resource_id,) in cursor if resource_id not in seen]
    still_listed: set[str] = set()
    for start in range(0, len(unseen), MAX_LIST_LENGTH):
        still_listed |= listed(unseen[start : start + MAX_LIST_LENGTH])
    if still_listed:
        log.info(
            "%s: %d not seen in the walk are still listed (the fleet changed while it was "
            "walked); not marked gone",
            model._meta.verbose_name_plural.capitalize(),
            len(still_listed),
        )
    return [resource_id for resource_id in unseen if resource_id not in still_listed]


def _mark_gone(model: type[Model], key: str, vanished_ids: list[str], now: datetime) -> int:
    """Mark these rows gone, and record each as an external change."""
    marked = 0
    for start in range(0, len(vanished_ids), GONE_BATCH):
        batch = list(
            model.objects.filter(
                **{f"{key}__in": vanished_ids[start : start + GONE_BATCH]}, gone_at__isnull=True
            ).values_list("pk", key, "region_id")
        )
        marked += model.objects.filter(pk__in=[pk for pk, _, _ in batch]).update(
            gone_at=now, changed_at=now
        )
        for _, resource_id, region_id in batch:
            record(
                Action.EXTERNAL_CHANGE,
                eni_id=resource_id if model is NetworkInterface else "",
                instance_id=resource_id if model is Instance else "",
                region_id=region_id,
                before={"listed": True},
                after={"listed": False},
                comment="ENS no longer lists it; the inventory marks it gone.",
            )
    return marked
