"""What the inventory writes to the audit history."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from eniadmin.audit.models import Action, AuditEvent
from eniadmin.inventory import sync as sync_module
from eniadmin.inventory.models import NetworkInterface, SyncRun
from eniadmin.inventory.sync import queue_sync, run_sync, start_foreground_sync
from eniadmin.worker import Worker
from tests.inventory.conftest import sync


def events(action: Action) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_sync_records_started_and_finished_once(db, ens_client):
    run = sync(ens_client)
    (started,) = events(Action.SYNC_STARTED)
    (finished,) = events(Action.SYNC_FINISHED)
    assert finished.actor_name == "system"
    assert finished.after["instances_created"] == run.instances_created == 24
    assert f"Sync #{run.pk}" in started.comment
    assert events(Action.EXTERNAL_CHANGE) == [], "a first sync creates rows, it observes no change"


def test_a_failed_sync_records_its_code_and_request_id(db, ens_client, emulator):
    emulator.control.set_faults([{"kind": "no_permission", "action": "DescribeInstances"}])
    run = sync(ens_client)
    (failed,) = events(Action.SYNC_FAILED)
    assert failed.outcome == "NoPermission" == run.error_code
    assert failed.request_id == run.error_request_id != ""


def test_worker_jobs_share_a_correlation_id_per_job(db, ens_client):
    queue_sync()
    Worker(ens_client, name="w1").work_once()
    started, finished = events(Action.SYNC_STARTED)[0], events(Action.SYNC_FINISHED)[0]
    requested = events(Action.SYNC_REQUESTED)[0]
    assert started.correlation_id and finished.correlation_id
    assert started.correlation_id != requested.correlation_id
    assert started.client_ip is None


def test_changes_seen_by_the_sync_are_recorded_as_external(db, ens_client, emulator):
    sync(ens_client)
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    eni = emulator.control.eni(eni_id)
    emulator.control.change_eni(eni_id, status="Available")
    sync(ens_client)

    (change,) = events(Action.EXTERNAL_CHANGE)
    assert change.eni_id == eni_id
    assert change.instance_id == eni["instance_id"]
    assert change.before == {"status": "InUse", "attached_instance_id": eni["instance_id"]}
    assert change.after == {"status": "Available", "attached_instance_id": ""}


def test_a_row_written_while_the_sync_held_an_older_page_keeps_the_newer_state(
    db, ens_client, emulator, monkeypatch
):
    """The detach worker records what it saw of an ENI between the sync's reading of a page and
    its writing: the page is older, and must neither overwrite the row nor be recorded."""
    sync(ens_client)
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    emulator.control.change_eni(eni_id, status="Detaching", stuck=True)  # until told
    write = sync_module._Batch.write

    def the_worker_writes_first(batch):
        if batch.model is NetworkInterface and batch.to_update:
            emulator.control.change_eni(eni_id, status="Available", instance_id="")
            NetworkInterface.objects.filter(eni_id=eni_id).update(
                status="Available", attached_instance_id="", instance=None,
                changed_at=timezone.now(),
            )  # fmt: skip
        return write(batch)

    monkeypatch.setattr(sync_module._Batch, "write", the_worker_writes_first)
    run = sync(ens_client)
    monkeypatch.undo()

    assert NetworkInterface.objects.get(eni_id=eni_id).status == "Available"
    assert run.enis_updated == 0
    assert events(Action.EXTERNAL_CHANGE) == []
    # The next sync compares the row again: the cloud agrees with it, nothing is recorded.
    again = sync(ens_client)
    assert again.enis_updated == 1, "the row's fingerprint catches up"
    assert NetworkInterface.objects.get(eni_id=eni_id).status == "Available"
    assert events(Action.EXTERNAL_CHANGE) == []
    assert sync(ens_client).enis_updated == 0


def test_a_row_written_after_its_page_was_fetched_keeps_the_newer_state(
    db, ens_client, emulator, monkeypatch
):
    """The page fetchers run ahead: the worker may write between a page's fetching and its
    comparison too."""
    sync(ens_client)
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    emulator.control.change_eni(eni_id, status="Detaching", stuck=True)  # until told
    add = sync_module._Batch.add

    def the_worker_writes_before_the_comparison(batch, wanted):
        if eni_id in wanted and wanted[eni_id]["status"] == "Detaching":
            emulator.control.change_eni(eni_id, status="Available", instance_id="")
            NetworkInterface.objects.filter(eni_id=eni_id).update(
                status="Available", attached_instance_id="", instance=None,
                changed_at=timezone.now(),
            )  # fmt: skip
        return add(batch, wanted)

    monkeypatch.setattr(sync_module._Batch, "add", the_worker_writes_before_the_comparison)
    sync(ens_client)
    monkeypatch.undo()

    assert NetworkInterface.objects.get(eni_id=eni_id).status == "Available"
    assert events(Action.EXTERNAL_CHANGE) == []


def test_vanished_rows_are_recorded_once(db, ens_client, emulator):
    sync(ens_client)
    emulator.control.reset(seed=2, instances=2)
    run = sync(ens_client)
    gone = [e for e in events(Action.EXTERNAL_CHANGE) if e.after == {"listed": False}]
    assert len(gone) == run.instances_gone + run.enis_gone
    run_sync(start_foreground_sync(), ens_client)
    assert len([e for e in events(Action.EXTERNAL_CHANGE) if e.after == {"listed": False}]) == len(
        gone
    )


def test_sync_now_records_who_asked_and_from_where(client, operator):
    client.force_login(operator)
    client.post(reverse("inventory:sync-now"), REMOTE_ADDR="203.0.113.7")
    (requested,) = events(Action.SYNC_REQUESTED)
    assert requested.actor == operator
    assert requested.client_ip == "203.0.113.7"
    assert SyncRun.objects.get().requested_by == operator


def test_the_eni_timeline_shows_every_event_about_it(client, viewer, db, ens_client, emulator):
    sync(ens_client)
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    emulator.control.change_eni(eni_id, status="Available")
    sync(ens_client)
    client.force_login(viewer)
    html = client.get(reverse("inventory:eni-detail", args=[eni_id])).content.decode()
    assert "Timeline" in html
    assert "Changed outside eniadmin" in html
    assert "The inventory sync saw this eni change in ENS." in html
