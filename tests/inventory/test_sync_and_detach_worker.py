"""The sync and the detach worker writing the same ENI row at the same time, on PostgreSQL."""

from __future__ import annotations

import functools
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from eniadmin.audit.events import record
from eniadmin.audit.models import Action, AuditEvent
from eniadmin.inventory import sync as sync_module
from eniadmin.inventory.models import Instance, NetworkInterface

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one write lock, rows have none"
)


@pytest.mark.django_db(transaction=True)
def test_the_sync_waits_for_the_audit_chain_before_locking_rows():
    """The detach worker appends to the audit chain, then writes the ENI's row (mark_detaching,
    then _observe). A sync writing that row meanwhile must wait for the chain first: the other
    order deadlocks, and PostgreSQL aborts one of them."""
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
    batch.add({"eni-1": {**values, "status": "Available", "attached_instance_id": ""}})
    assert batch.to_update
    the_worker_holds_the_chain = threading.Event()
    errors: list[Exception] = []

    def worker() -> None:
        try:
            with transaction.atomic():
                record(Action.DETACH_SUBMITTED, eni_id="eni-1", comment="The call went out.")
                the_worker_holds_the_chain.set()
                time.sleep(0.3)  # the sync reaches its write meanwhile
                NetworkInterface.objects.filter(pk=eni.pk).update(
                    status="Detaching", changed_at=timezone.now()
                )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def syncer() -> None:
        try:
            the_worker_holds_the_chain.wait(5)
            batch.write()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker), threading.Thread(target=syncer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert NetworkInterface.objects.get(pk=eni.pk).status == "Detaching", "the newer write stands"
    assert not AuditEvent.objects.filter(action=Action.EXTERNAL_CHANGE).exists()
