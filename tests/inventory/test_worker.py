from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from eniadmin.inventory.models import Instance, SyncRun, WorkerHeartbeat
from eniadmin.inventory.sync import claim_next_sync, fail_abandoned_runs, queue_sync
from eniadmin.worker import Worker, queue_sync_when_due


def test_the_worker_runs_a_queued_sync_and_writes_a_heartbeat(db, ens_client):
    run, _ = queue_sync()
    Worker(ens_client, name="w1").work_once()
    run.refresh_from_db()
    assert run.status == "succeeded" and run.claimed_by == "w1"
    assert Instance.objects.count() == 24
    assert WorkerHeartbeat.objects.alive().filter(worker="w1").exists()


def test_only_one_worker_claims_a_run(db):
    queue_sync()
    assert claim_next_sync("w1") is not None
    assert claim_next_sync("w2") is None
    assert SyncRun.objects.get().claimed_by == "w1"


def test_queueing_joins_a_run_another_worker_queued_and_started_in_between(db, monkeypatch):
    started = SyncRun.objects.create(status=SyncRun.Status.RUNNING, claimed_by="other")

    # Between our look for a queued run and our insert, another process queued one (our
    # insert fails) and a worker started it (no queued run is left to join).
    def refused(**fields: object) -> SyncRun:
        raise IntegrityError("another process queued a run first")

    monkeypatch.setattr(SyncRun.objects, "create", refused)
    assert queue_sync() == (started, False)


def test_a_run_abandoned_by_a_dead_worker_is_failed_and_the_queue_moves_on(db):
    stale = timezone.now() - timedelta(minutes=10)
    SyncRun.objects.create(status="running", progressed_at=stale, claimed_by="dead")
    queue_sync()
    assert fail_abandoned_runs() == 1
    run = claim_next_sync("w1")
    assert run is not None and run.claimed_by == "w1"
    assert SyncRun.objects.get(claimed_by="dead").error_code == "WorkerLost"


def test_the_periodic_sync_is_queued_when_due(db, settings):
    settings.INVENTORY_SYNC_SECONDS = 300
    assert queue_sync_when_due() is not None
    assert queue_sync_when_due() is None, "one is open already"
    SyncRun.objects.update(status="succeeded", created_at=timezone.now() - timedelta(minutes=4))
    assert queue_sync_when_due() is None, "not due yet"
    SyncRun.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    assert queue_sync_when_due().trigger == "schedule"


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_stops_cleanly_and_removes_its_heartbeat(ens_client):
    worker = Worker(ens_client, name="w-loop")
    thread = threading.Thread(target=worker.run, kwargs={"tick": 0.05})
    thread.start()
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert not WorkerHeartbeat.objects.filter(worker="w-loop").exists()


@pytest.mark.django_db(transaction=True)
def test_an_error_in_one_tick_does_not_end_the_worker(ens_client, monkeypatch):
    worker = Worker(ens_client, name="w-errors")
    ticks = []

    def failing_once() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise OSError("could not start the page fetchers")
        worker.stop()

    monkeypatch.setattr(worker, "work_once", failing_once)
    worker.run(tick=0)
    assert ticks == [0, 1]


def test_a_sync_the_worker_could_not_record_is_failed_at_its_next_tick(db, ens_client):
    """The database dropped mid-sync: the worker's run stayed running, as it could not write
    its failure. The next tick ends it at once, not five minutes later."""
    left = SyncRun.objects.create(
        status=SyncRun.Status.RUNNING, claimed_by="w1", progressed_at=timezone.now()
    )
    queue_sync()
    Worker(ens_client, name="w1").work_once()
    left.refresh_from_db()
    assert (left.status, left.error_code) == (SyncRun.Status.FAILED, "WorkerLost")
    assert SyncRun.objects.exclude(pk=left.pk).get().status == SyncRun.Status.SUCCEEDED


def test_detaches_keep_moving_while_a_sync_runs(db, ens_client, emulator, monkeypatch):
    from eniadmin import worker as worker_module

    emulator.control.reset(instances=250)  # several pages
    during_sync = []

    progressing = []

    def detach_work(*, on_progress, **kwargs: object) -> None:
        running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        during_sync.append(running.exists())
        if running.exists():  # a slow ENS read meanwhile must not make the sync look lost
            running.update(progressed_at=timezone.now() - timedelta(minutes=10))
            on_progress()
            stale = running.filter(progressed_at__lt=timezone.now() - timedelta(minutes=1))
            progressing.append(not stale.exists())

    monkeypatch.setattr(worker_module, "run_detach_work", detach_work)
    queue_sync()
    worker = Worker(ens_client, name="w1")
    worker.tick = 0  # a tick apart: here, between every two pages
    worker.work_once()
    assert SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED
    assert during_sync[0] is False, "before the sync, as every tick"
    assert during_sync.count(True) >= 2, "and between the sync's pages"
    assert progressing and all(progressing)
