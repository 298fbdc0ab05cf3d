from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.models import User
from django.urls import reverse

from eniadmin.audit.models import AuditEvent
from eniadmin.detach.models import DetachRequest
from tests.detach.conftest import open_request


def _decide(pk: int) -> str:
    return reverse("detach:request-decide", args=[pk])


def _messages(response) -> list[str]:
    return [str(message) for message in messages.get_messages(response.wsgi_request)]


def test_approver_approves_after_a_fresh_read(
    client, operator, approver, candidate, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    emulator.control.clear_requests()
    client.force_login(approver)
    response = client.post(_decide(detach_request.pk), {"action": "approve", "comment": "go"})
    assert response.status_code == 302
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.approver) == ("approved", approver)
    actions = [entry["action"] for entry in emulator.control.requests()]
    assert actions == ["DescribeNetworkInterfaces", "DescribeInstances"]


def test_approver_rejects_with_a_comment(client, operator, approver, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(approver)
    response = client.post(_decide(detach_request.pk), {"action": "reject"})
    assert "Say why you reject it" in response.content.decode()
    assert DetachRequest.objects.get().status == "pending"
    client.post(_decide(detach_request.pk), {"action": "reject", "comment": "Wrong instance."})
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.decision_comment) == (
        "rejected",
        "Wrong instance.",
    )


def test_a_drifted_request_is_voided_and_the_page_shows_what_changed(
    client, operator, approver, candidate, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    emulator.control.set_instance_status(candidate.attached_instance_id, "Running")
    client.force_login(approver)
    detail = reverse("detach:request-detail", args=[detach_request.pk])
    before = client.get(detail).content.decode()
    assert "approving will void it" in before
    response = client.post(_decide(detach_request.pk), {"action": "approve"}, follow=True)
    html = response.content.decode()
    assert DetachRequest.objects.get().status == "voided"
    assert "was voided, not approved" in html
    diff_row = (
        '<th scope="row">instance status</th>'
        '<td class="mono">Stopped</td><td class="mono">Running</td>'
    )
    assert diff_row in html


def test_the_second_approval_is_told_it_was_already_handled(
    client, operator, approver, second_approver, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(approver)
    client.post(_decide(detach_request.pk), {"action": "approve"})
    client.force_login(second_approver)
    response = client.post(_decide(detach_request.pk), {"action": "approve"})
    assert any("already handled" in text for text in _messages(response))
    assert AuditEvent.objects.filter(action="detach_approved").count() == 1
    assert DetachRequest.objects.get().approver == approver


def test_a_superuser_cannot_decide_on_their_own_request(client, candidate, ens_client):
    root = User.objects.create_superuser("root", "root@example.com", "root-pass-3391")
    detach_request = open_request(candidate, root, ens_client)
    client.force_login(root)
    response = client.post(_decide(detach_request.pk), {"action": "approve"})
    assert response.status_code == 403
    assert DetachRequest.objects.get().status == "pending"
    detail = client.get(reverse("detach:request-detail", args=[detach_request.pk]))
    assert 'value="approve"' not in detail.content.decode()


def test_a_cloud_error_on_approval_changes_nothing_and_says_why(
    client, operator, approver, candidate, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    emulator.control.set_faults([{"kind": "no_permission", "action": "DescribeInstances"}])
    client.force_login(approver)
    response = client.post(_decide(detach_request.pk), {"action": "approve"})
    text = " ".join(_messages(response))
    assert "ens:DescribeInstances" in text and "ENS code NoPermission" in text
    request_id = emulator.control.requests("DescribeInstances")[-1]["request_id"]
    assert f"RequestId {request_id}" in text
    assert DetachRequest.objects.get().status == "pending"


def test_htmx_decision_returns_the_fragment_and_trigger(
    client, operator, approver, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(approver)
    response = client.post(
        _decide(detach_request.pk), {"action": "approve"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and f'id="review-{detach_request.pk}"' in html
    assert json.loads(response.headers["HX-Trigger"]) == {
        "detachChanged": {"id": detach_request.pk, "status": "approved"}
    }


def test_decide_wrong_method_anonymous_and_wrong_role(
    client, operator, viewer, approver, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    url = _decide(detach_request.pk)
    assert client.post(url, {"action": "approve"}).status_code == 302
    for user in (viewer, operator):
        client.force_login(user)
        assert client.post(url, {"action": "approve"}).status_code == 403
    client.force_login(approver)
    assert client.get(url).status_code == 405
    assert client.post(reverse("detach:request-decide", args=[9999]), {}).status_code == 404
    assert DetachRequest.objects.get().status == "pending"


def test_tampered_action_is_refused(client, operator, approver, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(approver)
    response = client.post(_decide(detach_request.pk), {"action": "execute-now"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert DetachRequest.objects.get().status == "pending"


def test_requester_cancels_while_pending(client, operator, approver, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    cancel = reverse("detach:request-cancel", args=[detach_request.pk])
    assert client.post(cancel).status_code == 302
    client.force_login(approver)
    assert client.post(cancel).status_code == 403
    client.force_login(operator)
    assert client.get(cancel).status_code == 405
    response = client.post(cancel, headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode()
    assert json.loads(response.headers["HX-Trigger"]) == {
        "detachChanged": {"id": detach_request.pk, "status": "cancelled"}
    }
    assert DetachRequest.objects.get().status == "cancelled"
    again = client.post(cancel)
    assert any("already handled" in text for text in _messages(again))
