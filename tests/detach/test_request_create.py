from __future__ import annotations

import json

from django.core import mail
from django.urls import reverse

from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.models import NetworkInterface
from tests.detach.conftest import REASON

CREATE = reverse("detach:request-create")


def test_operator_confirms_with_a_reason_and_the_request_opens(
    client, operator, approver, candidate, django_capture_on_commit_callbacks
):
    approver.email = "arthur@example.com"
    approver.save()
    client.force_login(operator)
    step_one = client.get(CREATE, {"eni": candidate.eni_id})
    assert step_one.status_code == 200
    html = step_one.content.decode()
    assert candidate.eni_id in html and 'name="reason"' in html
    assert not DetachRequest.objects.exists(), "the first step changes nothing"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CREATE, {"eni": candidate.eni_id, "reason": REASON}, follow=True)
    detach_request = DetachRequest.objects.get()
    assert response.redirect_chain[-1][0] == detach_request.get_absolute_url()
    assert (detach_request.status, detach_request.requester) == ("pending", operator)
    assert "waiting for an Approver" in response.content.decode()
    assert [message.to for message in mail.outbox] == [["arthur@example.com"]]


def test_several_selected_enis_get_one_request_each(client, operator, fleet):
    client.force_login(operator)
    chosen = [*fleet["detach_candidates"][:3], fleet["primary_on_stopped_instance"][0]]
    response = client.post(CREATE, {"eni": chosen, "reason": REASON})
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 of 4 requests opened" in html
    assert "primary network interface" in html
    requests = DetachRequest.objects.all()
    assert sorted(item.eni_id for item in requests) == sorted(fleet["detach_candidates"][:3])
    assert {item.reason for item in requests} == {REASON}


def test_a_short_reason_is_refused_and_nothing_changes(client, operator, candidate):
    client.force_login(operator)
    response = client.post(CREATE, {"eni": candidate.eni_id, "reason": "because"})
    assert response.status_code == 200
    assert "at least 10 characters" in response.content.decode()
    assert not DetachRequest.objects.exists()


def test_an_unknown_or_tampered_eni_is_refused_and_nothing_changes(client, operator, candidate):
    client.force_login(operator)
    response = client.post(CREATE, {"eni": "eni-doesnotexist0000", "reason": REASON})
    assert "does not know the network interface eni-doesnotexist0000" in response.content.decode()
    assert (
        "does not know eni-doesnotexist0000"
        in client.get(CREATE, {"eni": "eni-doesnotexist0000"}).content.decode()
    )
    assert not DetachRequest.objects.exists()


def test_an_ineligible_eni_gets_the_reasons(client, operator, fleet):
    client.force_login(operator)
    running = fleet["secondary_on_running_instance"][0]
    response = client.post(CREATE, {"eni": running, "reason": REASON})
    assert "Its instance is Running; it must be Stopped." in response.content.decode()
    assert not DetachRequest.objects.exists()


def test_a_cloud_error_while_reading_is_shown_with_code_and_request_id(
    client, operator, candidate, emulator
):
    emulator.control.set_faults([{"kind": "no_permission", "action": "DescribeNetworkInterfaces"}])
    client.force_login(operator)
    html = client.post(CREATE, {"eni": candidate.eni_id, "reason": REASON}).content.decode()
    assert "ens:DescribeNetworkInterfaces" in html
    assert "ENS code NoPermission" in html
    request_id = emulator.control.requests("DescribeNetworkInterfaces")[-1]["request_id"]
    assert f"RequestId {request_id}" in html
    assert not DetachRequest.objects.exists()


def test_htmx_post_returns_the_result_fragment_and_trigger(client, operator, candidate):
    client.force_login(operator)
    response = client.post(
        CREATE, {"eni": candidate.eni_id, "reason": REASON}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="create-result"' in html
    pk = DetachRequest.objects.get().pk
    assert json.loads(response.headers["HX-Trigger"]) == {"detachChanged": {"created": [pk]}}


def test_htmx_get_returns_the_form_fragment(client, operator, candidate):
    client.force_login(operator)
    response = client.get(CREATE, {"eni": candidate.eni_id}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="create-form"' in html


def test_wrong_method_anonymous_and_wrong_role(client, viewer, approver, candidate):
    assert client.get(CREATE).status_code == 302
    assert client.post(CREATE, {"eni": candidate.eni_id, "reason": REASON}).status_code == 302
    for user in (viewer, approver):
        client.force_login(user)
        assert client.get(CREATE, {"eni": candidate.eni_id}).status_code == 403
        assert client.post(CREATE, {"eni": candidate.eni_id, "reason": REASON}).status_code == 403
    client.force_login(approver)
    assert client.put(CREATE).status_code == 405
    assert not DetachRequest.objects.exists()


def test_the_list_offers_the_request_form_and_selection_to_operators(client, operator, candidate):
    client.force_login(operator)
    html = client.get(reverse("inventory:instance-list")).content.decode()
    assert 'id="detach-selection"' in html
    assert f'value="{candidate.eni_id}" form="detach-selection"' in html


def test_the_list_shows_the_open_request_instead_of_the_control(
    client, operator, candidate, ens_client
):
    from tests.detach.conftest import open_request

    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(operator)
    html = client.get(reverse("inventory:instance-list")).content.decode()
    assert f"Request #{detach_request.pk}</a>" in html
    assert f'hx-get="{reverse("detach:eni-row", args=[candidate.eni_id])}"' in html
    assert f'value="{candidate.eni_id}" form="detach-selection"' not in html
    assert NetworkInterface.objects.get(pk=candidate.pk).status == "InUse"
