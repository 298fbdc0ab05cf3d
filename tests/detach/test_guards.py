"""Every guard at every step: when requesting, approving, and in the worker before the call."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from eniadmin.accounts.roles import Role
from eniadmin.audit.models import AuditEvent
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.models import NetworkInterface
from tests.conftest import make_user
from tests.detach.conftest import REASON, approved_request, detach_calls, open_request


def _eni(eni_id: str) -> NetworkInterface:
    return NetworkInterface.objects.get(eni_id=eni_id)


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("primary_on_stopped_instance", "primary network interface"),
        ("secondary_on_running_instance", "Its instance is Running; it must be Stopped."),
    ],
)
def test_a_request_is_refused_by_the_guards(note, reason, fleet, operator, ens_client):
    with pytest.raises(workflow.DetachRefused) as refused:
        open_request(_eni(fleet[note][0]), operator, ens_client)
    assert any(reason in text for text in refused.value.reasons)
    assert not DetachRequest.objects.exists()


def test_an_available_eni_cannot_be_requested(fleet, operator, ens_client):
    available = _eni(fleet["attach_candidates"][0]["network_interface_id"])
    with pytest.raises(workflow.DetachRefused, match="Its status is Available; it must be InUse"):
        open_request(available, operator, ens_client)


def test_a_known_service_managed_eni_cannot_be_requested(fleet, operator, ens_client):
    NetworkInterface.objects.filter(eni_id=fleet["service_managed"][0]).update(service_managed=True)
    with pytest.raises(workflow.DetachRefused, match="managed by a cloud service"):
        open_request(_eni(fleet["service_managed"][0]), operator, ens_client)


def test_the_request_reads_the_cloud_not_the_mirror(candidate, operator, ens_client, emulator):
    emulator.control.set_instance_status(candidate.attached_instance_id, "Running")
    with pytest.raises(workflow.DetachRefused, match="Its instance is Running"):
        open_request(candidate, operator, ens_client)


def test_a_second_open_request_for_the_same_eni_is_refused(candidate, operator, ens_client):
    open_request(candidate, operator, ens_client)
    with pytest.raises(workflow.DetachRefused, match="already open"):
        open_request(candidate, operator, ens_client)
    assert DetachRequest.objects.count() == 1


def test_the_database_allows_one_open_request_per_eni(candidate, operator, ens_client):
    first = open_request(candidate, operator, ens_client)
    with pytest.raises(IntegrityError), transaction.atomic():
        DetachRequest.objects.create(
            network_interface=candidate,
            eni_id=candidate.eni_id,
            instance_id=first.instance_id,
            requester=operator,
            reason=REASON,
        )


def test_a_closed_request_does_not_block_a_new_one(candidate, operator, ens_client):
    first = open_request(candidate, operator, ens_client)
    workflow.cancel_detach(detach_request=first, requester=operator)
    assert open_request(candidate, operator, ens_client).status == "pending"


def test_reason_length_is_checked(candidate, operator, ens_client):
    for reason in ("too short", "x" * 1001):
        with pytest.raises(ValidationError):
            workflow.request_detach(
                eni=candidate, requester=operator, reason=reason, client=ens_client
            )
    assert not DetachRequest.objects.exists()


def test_requester_cannot_approve_own_request(candidate, ens_client):
    both = make_user("bob", Role.OPERATOR, Role.APPROVER)
    detach_request = open_request(candidate, both, ens_client)
    with pytest.raises(workflow.DetachRefused, match="cannot approve it"):
        workflow.approve_detach(detach_request=detach_request, approver=both, client=ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "pending"


def test_a_superuser_cannot_approve_own_request_either(candidate, ens_client):
    root = User.objects.create_superuser("root", "root@example.com", "root-pass-3391")
    detach_request = open_request(candidate, root, ens_client)
    with pytest.raises(workflow.DetachRefused):
        workflow.approve_detach(detach_request=detach_request, approver=root, client=ens_client)
    with pytest.raises(ValidationError):
        detach_request.approve(by=root)
    assert DetachRequest.objects.get().status == "pending"


def test_the_database_refuses_approver_equal_to_requester(candidate, operator, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    with pytest.raises(IntegrityError), transaction.atomic():
        DetachRequest.objects.filter(pk=detach_request.pk).update(approver=operator)


def test_the_database_refuses_an_unknown_status(candidate, operator, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    with pytest.raises(IntegrityError), transaction.atomic():
        DetachRequest.objects.filter(pk=detach_request.pk).update(status="bogus")


def test_drift_before_approval_voids_the_request_with_the_diff(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    emulator.control.set_instance_status(candidate.attached_instance_id, "Running")
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "voided"
    assert detach_request.changes == [
        {
            "field": "instance_status",
            "label": "instance status",
            "before": "Stopped",
            "after": "Running",
        }
    ]
    event = AuditEvent.objects.get(action="detach_voided")
    assert event.actor_name == "arthur"
    assert "instance status was Stopped, now Running" in event.comment


def test_an_eni_changed_outside_the_dashboard_voids_the_request(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    emulator.control.change_eni(candidate.eni_id, status="Available")
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    assert detach_request.status == "voided"
    assert {change["field"] for change in detach_request.changes} == {
        "eni_status",
        "attached_instance_id",
        "instance_status",
    }


def test_drift_after_approval_voids_in_the_worker_without_calling(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_instance_status(candidate.attached_instance_id, "Running")
    workflow.run_detach_work(client=ens_client, worker="w1")
    detach_request.refresh_from_db()
    assert detach_request.status == "voided"
    assert detach_request.changes[0]["after"] == "Running"
    assert detach_calls(emulator) == []
    assert AuditEvent.objects.get(action="detach_voided").on_behalf_of_name == "arthur"


def test_a_late_approver_does_not_void_a_request_approved_and_sent_meanwhile(
    candidate, operator, approver, second_approver, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    late_copy = DetachRequest.objects.get(pk=detach_request.pk)  # read while pending
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    worker_copy = DetachRequest.objects.get(pk=detach_request.pk)
    assert worker_copy.claim(worker="w1") and worker_copy.mark_calling()
    sent = ens_client.detach_network_interface(candidate.eni_id)  # ENS shows it Detaching
    # The late approver's fresh read finds the ENI changed: that is the detach itself.
    with pytest.raises(workflow.AlreadyHandled):
        workflow.approve_detach(
            detach_request=late_copy, approver=second_approver, client=ens_client
        )
    assert worker_copy.mark_detaching(request_id=sent.request_id)
    assert not AuditEvent.objects.filter(action="detach_voided").exists()
    assert len(detach_calls(emulator)) == 1


def test_a_decided_request_cannot_be_decided_again(
    candidate, operator, approver, second_approver, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    stale_copy = DetachRequest.objects.get(pk=detach_request.pk)
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    with pytest.raises(workflow.AlreadyHandled, match="already handled"):
        workflow.reject_detach(
            detach_request=stale_copy, approver=second_approver, comment="No, wait."
        )
    assert not stale_copy.reject(by=second_approver, comment="again")
    assert AuditEvent.objects.filter(action__in=["detach_approved", "detach_rejected"]).count() == 1


def test_rejecting_needs_a_comment(candidate, operator, approver, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    with pytest.raises(ValidationError):
        workflow.reject_detach(detach_request=detach_request, approver=approver, comment=" ")
    workflow.reject_detach(
        detach_request=detach_request, approver=approver, comment="Not during business hours."
    )
    assert detach_request.status == "rejected"


def test_only_the_requester_cancels_and_only_while_pending(
    candidate, operator, approver, ens_client
):
    other = make_user("otto", Role.OPERATOR)
    detach_request = open_request(candidate, operator, ens_client)
    with pytest.raises(ValidationError):
        workflow.cancel_detach(detach_request=detach_request, requester=other)
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    with pytest.raises(workflow.AlreadyHandled):
        workflow.cancel_detach(detach_request=detach_request, requester=operator)


def test_only_a_stuck_retry_may_target_an_eni_still_detaching():
    from eniadmin.inventory.eligibility import DetachState, detach_blockers

    detaching = DetachState("Detaching", "Secondary", "i-1", "Stopped")
    assert detach_blockers(detaching) == ["Its status is Detaching; it must be InUse."]
    retry = DetachState("Detaching", "Secondary", "i-1", "Stopped", retrying_stuck=True)
    assert detach_blockers(retry) == []


def test_a_retry_needs_a_stuck_request_of_the_same_eni(
    fleet, candidate, operator, approver, ens_client
):
    other = NetworkInterface.objects.get(eni_id=fleet["detach_candidates"][1])
    pending = open_request(other, operator, ens_client)
    with pytest.raises(workflow.DetachRefused, match="Only a stuck request"):
        workflow.request_detach(
            eni=candidate, requester=operator, reason=REASON, client=ens_client, remedy_for=pending
        )
