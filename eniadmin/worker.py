"""The worker loop: one process that takes its work from the database (and, during an
inventory sync, two child processes that fetch the pages: eniadmin.ens.walker).

Like healthchecks' sendalerts: every few seconds it writes a heartbeat, queues the periodic
sync when it is due, and claims queued work by conditional UPDATE, so any number of workers on
any number of machines share the queue without ever taking the same item.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from eniadmin.audit.context import job_context
from eniadmin.detach.workflow import run_detach_work
from eniadmin.ens.client import EnsClient
from eniadmin.inventory.models import HEARTBEAT_SECONDS, SyncRun, WorkerHeartbeat
from eniadmin.inventory.sync import claim_next_sync, queue_sync, run_sync

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, client: EnsClient, *, name: str | None = None) -> None:
        self.client = client
        self.name = name or worker_name()
        self.stopping = threading.Event()
        self.tick = 2.0
        self._last_beat = None
        self._detach_work_at = 0.0

    def run(self, *, tick: float = 2.0) -> None:
        self.tick = tick
        log.info("Worker %s started", self.name)
        try:
            while not self.stopping.is_set():
                # A long-lived process must drop connections the database closed or aged out.
                close_old_connections()
                try:
                    self.work_once()
                except Exception:
                    # A locked or dropped database, or anything else one step ran into, must
                    # not end the worker: every step is a conditional UPDATE in its own
                    # transaction, so the next tick retries it.
                    log.exception("Worker %s: error, retrying next tick", self.name)
                self.stopping.wait(tick)
        finally:
            WorkerHeartbeat.objects.filter(worker=self.name).delete()
            connections.close_all()
            log.info("Worker %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()

    def work_once(self) -> None:
        self.beat()
        self.detach_work()
        queue_sync_when_due()
        with job_context(f"claim by {self.name}"):
            run = claim_next_sync(self.name)
        if run is not None:
            log.info("Worker %s runs sync #%s", self.name, run.pk)
            with job_context(f"sync #{run.pk}"):
                run_sync(
                    run,
                    self.client,
                    should_stop=self.stopping.is_set,
                    on_progress=self.between_pages,
                )

    def detach_work(self, on_progress: Callable[[], None] | None = None) -> None:
        with job_context(f"detach work by {self.name}"):
            run_detach_work(
                client=self.client,
                worker=self.name,
                on_progress=on_progress or self.beat,
                should_stop=self.stopping.is_set,
            )
        self._detach_work_at = time.monotonic()

    def between_pages(self, run: SyncRun) -> None:
        """During a sync, which takes a while against the real ENS: the heartbeat, and the
        detaches someone is watching keep moving, a tick apart. Their ENS calls may take a
        while too: the sync counts as progressing meanwhile, or another worker would take it
        for lost."""
        self.beat()
        if time.monotonic() - self._detach_work_at < self.tick:
            return

        def progressing() -> None:
            self.beat()
            SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
                progressed_at=timezone.now()
            )

        try:
            self.detach_work(on_progress=progressing)
        except Exception:  # the sync goes on; the next tick retries the detach work
            log.exception("Worker %s: detach work during a sync failed", self.name)
            self._detach_work_at = time.monotonic()

    def beat(self, *_: object) -> None:
        now = timezone.now()
        if self._last_beat and now - self._last_beat < timedelta(seconds=HEARTBEAT_SECONDS):
            return
        WorkerHeartbeat.objects.update_or_create(worker=self.name, defaults={"seen_at": now})
        self._last_beat = now


def queue_sync_when_due() -> SyncRun | None:
    if SyncRun.objects.open().exists():
        return None
    latest = SyncRun.objects.order_by("-created_at").first()
    due = timezone.now() - timedelta(seconds=settings.INVENTORY_SYNC_SECONDS)
    if latest is not None and latest.created_at > due:
        return None
    with job_context("scheduled sync"):
        run, _ = queue_sync(trigger=SyncRun.Trigger.SCHEDULE)
    return run
