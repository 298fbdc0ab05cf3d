"""The sync and the detach worker writing the same ENI row at the same time, on PostgreSQL.

Each writer takes two locks: the audit chain's and the row's. Taken in opposite orders, they
deadlock and PostgreSQL aborts one side. Each test lets the worker take its first lock, starts
the sync's write, and lets the worker go on only once the sync waits for a lock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.utils import timezone

from eniadmin.audit.events import record
from eniadmin.audit.models import Action, AuditEvent
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from eniadmin.inventory import sync as sync_module
from eniadmin.inventory.mirrored import fingerprinted
from eniadmin.inventory.models import Instance, NetworkInterface

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has one write lock, rows have none"
    ),
    pytest.mark.django_db(transaction=True),
]


def _until_another_session_waits_for_a_lock() -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Within a transaction the statistics views keep their first answer unless told.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the sync never waited for a lock")


def _an_eni_the_sync_will_update() -> tuple[NetworkInterface, sync_module._Batch]:
    instance = Instance.objects.create(instance_id="i-1", region_id="r", status="Stopped")
    eni = NetworkInterface.objects.create(
        eni_id="eni-1", region_id="r", attached_instance_id="i-1", instance=instance,
        status="InUse", type="Secondary", fingerprint="as the last sync saw it",
    )  # fmt: skip
    batch = sync_module._Batch(
        NetworkInterface,
        "eni_id",
        timezone.now(),
        watched=("status", "attached_instance_id"),
        on_status_change="status_changed_at",
        before_write=functools.partial(sync_module._link_instances, instance_pks={}),
    )
    values = {name: getattr(eni, name) for name in NetworkInterface.MIRRORED}
    seen = fingerprinted({**values, "status": "Available", "attached_instance_id": ""})
    batch.add({"eni-1": seen})
    assert batch.to_update
    return eni, batch


def _side_by_side(
    worker: Callable[[], None], sync_write: Callable[[], object], worker_began: threading.Event
) -> list[Exception]:
    """The worker in one thread and, once it has begun, the sync's write in another: the
    errors either raised."""
    errors: list[Exception] = []

    def run(target: Callable[[], object]) -> None:
        try:
            target()
        except Exception as error:  # whatever it is, the test reports it
            errors.append(error)
        finally:
            connection.close()

    def sync_once_the_worker_began() -> None:
        assert worker_began.wait(10), "the worker never began"
        sync_write()

    threads = [
        threading.Thread(target=run, args=(worker,)),
        threading.Thread(target=run, args=(sync_once_the_worker_began,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a side is still waiting"
    return errors


def test_submitting_the_detach_appends_then_writes_the_row():
    """_submit: mark_detaching appends to the chain, then _observe writes the row."""
    eni, batch = _an_eni_the_sync_will_update()
    began = threading.Event()

    def worker() -> None:
        with transaction.atomic():
            record(Action.DETACH_SUBMITTED, eni_id="eni-1", comment="The call went out.")
            began.set()
            _until_another_session_waits_for_a_lock()
            NetworkInterface.objects.filter(pk=eni.pk).update(
                status="Detaching", changed_at=timezone.now()
            )

    assert _side_by_side(worker, batch.write, began) == []
    assert NetworkInterface.objects.get(pk=eni.pk).status == "Detaching", "the newer write stands"
    assert not AuditEvent.objects.filter(action=Action.EXTERNAL_CHANGE).exists()


def test_following_the_detach_observes_before_it_appends(monkeypatch):
    """follow_detach: _observe writes the row, and records it, before mark_succeeded."""
    eni, batch = _an_eni_the_sync_will_update()
    following = DetachRequest(pk=1, network_interface_id=eni.pk, eni_id="eni-1")
    began = threading.Event()
    real_record = workflow.record

    def record_once_the_sync_waits(*args, **kwargs):
        began.set()
        _until_another_session_waits_for_a_lock()
        return real_record(*args, **kwargs)

    monkeypatch.setattr(workflow, "record", record_once_the_sync_waits)

    def worker() -> None:
        with transaction.atomic():
            workflow._observe(following, status="Available", instance_id="")

    assert _side_by_side(worker, batch.write, began) == []
    row = NetworkInterface.objects.get(pk=eni.pk)
    assert (row.status, row.fingerprint) == ("Available", ""), "the worker's write stands"
    assert not AuditEvent.objects.filter(action=Action.EXTERNAL_CHANGE).exists()
