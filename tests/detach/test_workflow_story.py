from __future__ import annotations

import time

from django.core import mail

from eniadmin.audit.models import AuditEvent
from eniadmin.detach import workflow
from eniadmin.inventory.models import NetworkInterface
from eniadmin.inventory.sync import run_sync, start_foreground_sync
from eniadmin.worker import Worker
from tests.detach.conftest import REASON, detach_calls


def test_request_approve_execute_detaching_available(
    operator, approver, candidate, ens_client, emulator, django_capture_on_commit_callbacks
):
    approver.email = "arthur@example.com"
    approver.save()
    operator.email = "olivia@example.com"
    operator.save()

    with django_capture_on_commit_callbacks(execute=True):
        detach_request = workflow.request_detach(
            eni=candidate, requester=operator, reason=REASON, client=ens_client
        )
    assert detach_request.status == "pending"
    assert detach_request.snapshot == {
        "eni_status": "InUse",
        "eni_type": "Secondary",
        "attached_instance_id": candidate.attached_instance_id,
        "instance_status": "Stopped",
    }
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve_detach(
            detach_request=detach_request, approver=approver, comment="ok", client=ens_client
        )
    assert detach_request.status == "approved"

    worker = Worker(ens_client, name="w1")
    worker.work_once()
    detach_request.refresh_from_db()
    assert detach_request.status == "detaching"
    assert detach_request.ens_request_id
    assert NetworkInterface.objects.get(pk=candidate.pk).status == "Detaching"

    time.sleep(0.35)
    with django_capture_on_commit_callbacks(execute=True):
        worker.work_once()
    detach_request.refresh_from_db()
    assert detach_request.status == "succeeded"
    eni = NetworkInterface.objects.get(pk=candidate.pk)
    assert (eni.status, eni.attached_instance_id, eni.instance_id) == ("Available", "", None)

    calls = detach_calls(emulator)
    assert len(calls) == 1
    assert calls[0]["params"]["NetworkInterfaceId"] == candidate.eni_id
    assert calls[0]["request_id"] == detach_request.ens_request_id

    trail = list(
        AuditEvent.objects.for_eni(candidate.eni_id)
        .filter(action__startswith="detach")
        .values_list("action", "actor_name", "on_behalf_of_name")
    )
    assert trail == [
        ("detach_requested", "olivia", ""),
        ("detach_approved", "arthur", ""),
        ("detach_submitted", "system", "arthur"),
        ("detach_succeeded", "system", "arthur"),
    ]
    observed = AuditEvent.objects.for_eni(candidate.eni_id).filter(action="eni_state_observed")
    assert [event.after["status"] for event in observed] == ["Detaching", "Available"]
    submitted = AuditEvent.objects.get(action="detach_submitted")
    assert submitted.request_id == detach_request.ens_request_id

    subjects = [message.subject for message in mail.outbox]
    assert any("needs a decision" in subject for subject in subjects)
    assert any(subject.endswith(": approved") for subject in subjects)
    assert any(subject.endswith(": detached") for subject in subjects)
    assert mail.outbox[0].to == ["arthur@example.com"]


def _detached_by_the_worker(eni, operator, approver, client) -> None:
    """Requested, approved, sent by the worker and followed until ENS says Available."""
    detach_request = workflow.request_detach(
        eni=eni, requester=operator, reason=REASON, client=client
    )
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=client)
    workflow.run_detach_work(client=client, worker="w1")
    time.sleep(0.35)
    workflow.run_detach_work(client=client, worker="w1")


def test_the_next_sync_sees_no_external_change_after_a_detach(
    operator, approver, candidate, ens_client
):
    _detached_by_the_worker(candidate, operator, approver, ens_client)
    run_sync(start_foreground_sync(), ens_client)
    assert not AuditEvent.objects.for_eni(candidate.eni_id).filter(action="external_change")


def test_an_interface_attached_again_after_a_detach_is_seen_by_the_next_sync(
    operator, approver, candidate, ens_client, emulator
):
    """What the worker saw replaced what the last sync saw; the cloud going back to the latter
    is still a change for the next sync."""
    attached_to = candidate.attached_instance_id
    _detached_by_the_worker(candidate, operator, approver, ens_client)
    candidate.refresh_from_db()
    assert (candidate.status, candidate.attached_instance_id) == ("Available", "")

    emulator.control.change_eni(candidate.eni_id, status="InUse", instance_id=attached_to)
    run_sync(start_foreground_sync(), ens_client)

    candidate.refresh_from_db()
    assert (candidate.status, candidate.attached_instance_id) == ("InUse", attached_to)
    (change,) = AuditEvent.objects.for_eni(candidate.eni_id).filter(action="external_change")
    assert change.after == {"status": "InUse", "attached_instance_id": attached_to}
