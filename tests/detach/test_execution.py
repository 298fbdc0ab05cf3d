"""The worker's side: errors from the call, unclear outcomes, dead workers, expiry and stuck."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from eniadmin.audit.models import AuditEvent
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import EnsError
from eniadmin.inventory.models import NetworkInterface
from tests.detach.conftest import approved_request, detach_calls, open_request


def _work(client) -> None:
    workflow.run_detach_work(client=client, worker="w1")


def _lease_run_out(detach_request: DetachRequest) -> None:
    """As if the lease, counted from the claim and from the call, had run out."""
    long_ago = timezone.now() - timedelta(minutes=5)
    requests = DetachRequest.objects.filter(pk=detach_request.pk)
    requests.update(submitted_at=long_ago)
    requests.filter(called_at__isnull=False).update(called_at=long_ago)


def _failed(detach_request: DetachRequest) -> DetachRequest:
    detach_request.refresh_from_db()
    assert detach_request.status == "failed", detach_request.status
    return detach_request


def test_no_permission_names_the_missing_ram_action(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.add_key("limited", "limited-secret", deny=["DetachNetworkInterface"])
    limited = EnsClient(
        endpoint=emulator.url, access_key_id="limited", access_key_secret="limited-secret"
    )
    _work(limited)
    failed = _failed(detach_request)
    assert failed.error_code == "NoPermission"
    assert "ens:DetachNetworkInterface" in failed.error_message
    assert failed.error_request_id == detach_calls(emulator)[0]["request_id"]
    event = AuditEvent.objects.get(action="detach_failed")
    assert (event.outcome, event.request_id) == ("NoPermission", failed.error_request_id)
    assert AuditEvent.objects.filter(action="cloud_error", outcome="NoPermission").exists()


def test_a_failed_read_before_the_call_is_shown_on_the_request_and_recorded_once(
    client, candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.add_key("no-reads", "no-reads-secret", deny=["DescribeInstances"])
    blind = EnsClient(
        endpoint=emulator.url, access_key_id="no-reads", access_key_secret="no-reads-secret"
    )
    _work(blind)
    _work(blind)
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.error_code) == ("approved", "NoPermission")
    assert detach_calls(emulator) == []
    # Two ticks, two failed reads, one event: the same error again is not news.
    assert AuditEvent.objects.filter(action="cloud_error", outcome="NoPermission").count() == 1
    client.force_login(operator)
    card = client.get(reverse("detach:request-status", args=[detach_request.pk])).content.decode()
    assert "Nothing was sent yet" in card
    assert "ens:DescribeInstances" in card
    assert f"RequestId {detach_request.error_request_id}" in card
    _work(ens_client)  # reads again, and sends
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.error_code) == ("detaching", "")
    assert len(detach_calls(emulator)) == 1


def test_an_interface_error_is_resolved_by_reading_and_reported(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_faults(
        [{"kind": "interface_error", "action": "DetachNetworkInterface", "count": 1}]
    )
    _work(ens_client)
    # Still InUse right after the call: ENS may carry it out later, so it waits for the lease.
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.error_code) == (
        "submitting",
        "ens.interface.error",
    )
    assert "internal error" in detach_request.error_message
    _work(ens_client)
    assert DetachRequest.objects.get(pk=detach_request.pk).status == "submitting"
    _lease_run_out(detach_request)
    _work(ens_client)
    failed = _failed(detach_request)
    assert failed.error_code == "ens.interface.error"
    assert "did not go through" in failed.error_message
    assert failed.error_request_id == detach_calls(emulator)[0]["request_id"]
    assert len(detach_calls(emulator)) == 1
    assert AuditEvent.objects.filter(action="cloud_error").count() == 1


def test_an_unclear_call_that_ens_carries_out_late_succeeds(
    client, candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_faults(
        [{"kind": "interface_error", "action": "DetachNetworkInterface", "count": 1}]
    )
    _work(ens_client)
    client.force_login(operator)
    card = client.get(reverse("detach:request-status", args=[detach_request.pk])).content.decode()
    assert "it is not sent again" in card and "ENS code ens.interface.error" in card
    ens_client.detach_network_interface(candidate.eni_id)  # as if ENS carried it out late
    _lease_run_out(detach_request)
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status in ("detaching", "succeeded")
    assert len(detach_calls(emulator)) == 2, "ours and the late one; the worker sent no other"
    # It went through: the unclear answer is no longer the request's story, its RequestId is.
    assert detach_request.error_code == "" and detach_request.error_message == ""
    assert detach_request.ens_request_id == detach_calls(emulator)[0]["request_id"]


def test_a_service_managed_answer_is_learned(fleet, operator, approver, ens_client, emulator):
    eni = NetworkInterface.objects.get(eni_id=fleet["service_managed"][0])
    detach_request = approved_request(eni, operator, approver, ens_client)
    _work(ens_client)
    failed = _failed(detach_request)
    assert failed.error_code == "InvalidParameter.EniServiceManaged"
    assert "managed by a cloud service" in failed.error_message
    assert NetworkInterface.objects.get(pk=eni.pk).service_managed
    assert AuditEvent.objects.filter(action="service_managed_learned", eni_id=eni.eni_id).exists()
    with pytest.raises(workflow.DetachRefused, match="managed by a cloud service"):
        open_request(NetworkInterface.objects.get(pk=eni.pk), operator, ens_client)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("instance", "InvalidOperation.InvalidEnsStatus"),
        ("eni", "InvalidOperation.InvalidEniStatus"),
    ],
)
def test_a_state_change_during_the_call_is_reported_with_its_code(
    change, code, candidate, operator, approver, ens_client, emulator
):
    """The state changes after the worker's fresh read, while the call is on its way."""
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_faults(
        [{"kind": "latency", "ms": 400, "action": "DetachNetworkInterface"}]
    )

    def change_state() -> None:
        if change == "instance":
            emulator.control.set_instance_status(candidate.attached_instance_id, "Running")
        else:
            emulator.control.change_eni(candidate.eni_id, status="Available")

    timer = threading.Timer(0.2, change_state)
    timer.start()
    _work(ens_client)
    timer.join()
    failed = _failed(detach_request)
    assert failed.error_code == code
    assert failed.error_message == EnsError(code=code, message="").operator_message
    assert failed.error_request_id


def test_a_dropped_answer_after_the_detach_is_resolved_as_gone_through(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_faults(
        [{"kind": "drop", "when": "after", "action": "DetachNetworkInterface", "count": 1}]
    )
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "detaching"
    time.sleep(0.35)
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "succeeded"
    assert len(detach_calls(emulator)) == 1
    event = AuditEvent.objects.get(action="detach_submitted")
    assert "went through" in event.comment


def test_a_dropped_request_before_the_detach_fails_without_a_second_call(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    emulator.control.set_faults(
        [{"kind": "drop", "when": "before", "action": "DetachNetworkInterface", "count": 1}]
    )
    _work(ens_client)
    _lease_run_out(detach_request)
    _work(ens_client)
    failed = _failed(detach_request)
    assert failed.error_code == "Client.OutcomeUnknown"
    assert "did not go through" in failed.error_message
    assert "not sent again" in failed.error_message
    _work(ens_client)
    assert len(detach_calls(emulator)) == 1


def _abandon(detach_request: DetachRequest, *, called: bool) -> None:
    """What a worker killed after its claim leaves behind."""
    long_ago = timezone.now() - timedelta(minutes=5)
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        status="submitting",
        claimed_by="dead-worker",
        submitted_at=long_ago,
        called_at=long_ago if called else None,
    )


def test_a_takeover_right_after_a_stalled_workers_call_waits_before_failing(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    _abandon(detach_request, called=True)
    # The stalled worker recorded its call only just now, near the end of its lease.
    DetachRequest.objects.filter(pk=detach_request.pk).update(called_at=timezone.now())
    _work(ens_client)
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.error_code) == (
        "submitting",
        "Client.OutcomeUnknown",
    )
    _lease_run_out(detach_request)
    _work(ens_client)
    assert "did not go through" in _failed(detach_request).error_message
    assert detach_calls(emulator) == []


def test_a_read_error_before_the_call_is_not_shown_as_an_unclear_call(
    client, candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        error_code="Throttling.User", error_message="ENS is throttling."
    )
    assert DetachRequest.objects.get(pk=detach_request.pk).claim(worker="w1")
    client.force_login(operator)
    card = client.get(reverse("detach:request-status", args=[detach_request.pk])).content.decode()
    assert "Sending DetachNetworkInterface" in card
    assert "it is not sent again" not in card


def test_a_worker_killed_between_claim_and_call_is_finished_by_the_next(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    _abandon(detach_request, called=False)
    _work(ens_client)
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.claimed_by) == ("detaching", "w1")
    assert len(detach_calls(emulator)) == 1
    taken = AuditEvent.objects.get(action="detach_taken_over")
    assert (taken.after["from_worker"], taken.after["worker"]) == ("dead-worker", "w1")
    assert "sends the call, as it had not been sent" in taken.comment
    assert AuditEvent.objects.get(action="detach_submitted").after["worker"] == "w1"


def test_a_worker_killed_between_call_and_record_is_resolved_by_reading(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    ens_client.detach_network_interface(candidate.eni_id)  # the dead worker's call
    _abandon(detach_request, called=True)
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status in ("detaching", "succeeded")
    assert len(detach_calls(emulator)) == 1, "never sent a second time"
    taken = AuditEvent.objects.get(action="detach_taken_over")
    assert "reads what ENS shows, as the call had been sent" in taken.comment


def test_a_worker_killed_after_marking_the_call_that_never_left_fails_cleanly(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    _abandon(detach_request, called=True)
    _work(ens_client)
    failed = _failed(detach_request)
    assert "did not go through" in failed.error_message
    assert detach_calls(emulator) == []


def test_a_live_submission_is_not_taken_over(candidate, operator, approver, ens_client, emulator):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        status="submitting", claimed_by="busy", submitted_at=timezone.now()
    )
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "submitting"
    assert detach_calls(emulator) == []


def test_a_slow_worker_that_calls_ens_after_being_read_as_dead_is_not_called_again(
    candidate, operator, approver, ens_client, emulator, monkeypatch
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    _abandon(detach_request, called=False)
    slow = DetachRequest.objects.get(pk=detach_request.pk)  # the first worker, only stalled
    take_over = DetachRequest.reclaim

    def reclaim_after_the_slow_worker_calls(self, *, worker):
        # Between the look for dead workers' submissions and the take-over, the slow worker
        # records its call and sends it.
        assert slow.mark_calling()
        ens_client.detach_network_interface(candidate.eni_id)
        return take_over(self, worker=worker)

    monkeypatch.setattr(DetachRequest, "reclaim", reclaim_after_the_slow_worker_calls)
    _work(ens_client)
    assert len(detach_calls(emulator)) == 1, "never sent a second time"
    monkeypatch.undo()
    # Once the slow worker is really gone, the next look reads what ENS shows.
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=5)
    )
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status in ("detaching", "succeeded")
    assert len(detach_calls(emulator)) == 1


def test_a_worker_whose_submission_was_taken_over_moves_it_no_further(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    slow = DetachRequest.objects.get(pk=detach_request.pk)
    assert slow.claim(worker="slow")
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=5)
    )
    _work(ens_client)  # takes the submission over and detaches
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.claimed_by) == ("detaching", "w1")
    # The slow worker's read finally fails, or finds the ENI changed: neither touches it now.
    assert not slow.release(code="Throttling", sentence="late")
    assert not slow.void(changes=[], reasons=["Its status is Detaching; it must be InUse."])
    assert not slow.mark_failed(code="X", sentence="late")
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.claimed_by) == ("detaching", "w1")
    assert len(detach_calls(emulator)) == 1


def test_pending_requests_expire_after_the_ttl(
    candidate, operator, ens_client, settings, time_machine
):
    settings.DETACH_REQUEST_TTL = 3600
    detach_request = open_request(candidate, operator, ens_client)
    time_machine.move_to(timezone.now() + timedelta(minutes=59))
    assert workflow.expire_detach_requests() == 0
    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    assert workflow.expire_detach_requests() == 1
    detach_request.refresh_from_db()
    assert detach_request.status == "expired"
    assert "DETACH_REQUEST_TTL" in AuditEvent.objects.get(action="detach_expired").comment


def test_approved_requests_not_executed_in_the_window_expire(
    candidate, operator, approver, ens_client, emulator, settings, time_machine
):
    settings.DETACH_EXECUTE_WINDOW = 900
    detach_request = approved_request(candidate, operator, approver, ens_client)
    time_machine.move_to(timezone.now() + timedelta(minutes=16))
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "expired"
    assert detach_calls(emulator) == []
    event = AuditEvent.objects.get(action="detach_expired")
    assert event.on_behalf_of_name == "arthur" and "DETACH_EXECUTE_WINDOW" in event.comment


def test_a_detach_that_stays_detaching_becomes_stuck_with_the_remedy(
    client, fleet, operator, approver, ens_client, emulator, settings
):
    eni = NetworkInterface.objects.get(eni_id=fleet["stuck_on_detach"][0])
    detach_request = approved_request(eni, operator, approver, ens_client)
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "detaching"
    settings.DETACH_STUCK_AFTER = 0
    _work(ens_client)
    detach_request.refresh_from_db()
    assert detach_request.status == "stuck"
    assert AuditEvent.objects.get(action="detach_stuck").outcome == "stuck"

    client.force_login(operator)
    html = client.get(reverse("detach:request-detail", args=[detach_request.pk])).content.decode()
    assert "issue the detach again, then restart the instance" in html
    assert f'name="remedy_for" value="{detach_request.pk}"' in html
    # The confirmation step states the same rule as the request: Detaching is no reason here.
    confirm = reverse("detach:request-create")
    as_remedy = client.get(confirm, {"eni": eni.eni_id, "remedy_for": detach_request.pk})
    assert "it must be InUse" not in as_remedy.content.decode()
    plain = client.get(confirm, {"eni": eni.eni_id})
    assert "Its status is Detaching; it must be InUse." in plain.content.decode()

    remedy = workflow.request_detach(
        eni=NetworkInterface.objects.get(pk=eni.pk),
        requester=operator,
        reason="Issuing the detach again as documented.",
        client=ens_client,
        remedy_for=detach_request,
    )
    assert remedy.status == "pending" and remedy.snapshot["eni_status"] == "Detaching"


def test_a_tick_of_detach_work_beats_between_requests_and_stops_when_asked(
    candidate, operator, approver, ens_client, emulator
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    beats = []
    workflow.run_detach_work(
        client=ens_client,
        worker="w1",
        on_progress=lambda: beats.append(1),
        should_stop=lambda: True,
    )
    assert DetachRequest.objects.get(pk=detach_request.pk).status == "approved"
    assert detach_calls(emulator) == [] and beats == []
    workflow.run_detach_work(client=ens_client, worker="w1", on_progress=lambda: beats.append(1))
    assert DetachRequest.objects.get(pk=detach_request.pk).status == "detaching"
    assert beats, "a beat after each request handled"


def test_the_refresh_is_coalesced_between_workers(
    candidate, operator, approver, ens_client, other_client, emulator, settings
):
    settings.ENS_REFRESH_SECONDS = 60
    approved_request(candidate, operator, approver, ens_client)
    _work(ens_client)
    emulator.control.clear_requests()
    for client in (ens_client, other_client, ens_client):
        workflow.run_detach_work(client=client, worker="wx")
    assert emulator.control.requests("DescribeNetworkInterfaces") == []
