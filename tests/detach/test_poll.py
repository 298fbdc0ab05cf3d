"""The live fragments: cheap, self-stopping, and never a reason to ask the cloud more often."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from tests.detach.conftest import approved_request, open_request

AUTH_TABLES = ("django_session", "auth_")


def _own_queries(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if not any(table in query["sql"] for table in AUTH_TABLES)
    ]


def _trigger(html: str) -> str | None:
    match = re.search(r'hx-trigger="([^"]*)"', html)
    return match.group(1) if match else None


def _status(pk: int) -> str:
    return reverse("detach:request-status", args=[pk])


def test_the_card_poll_reads_the_database_only(
    client, viewer, operator, candidate, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(viewer)
    client.get(_status(detach_request.pk))  # session and permissions warm up
    emulator.control.clear_requests()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(_status(detach_request.pk), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert len(_own_queries(captured)) <= 3, _own_queries(captured)
    # The session, the user, their roles and permissions in one, the request.
    assert len(captured.captured_queries) == 4, [q["sql"] for q in captured]
    assert emulator.control.requests() == [], "a poll never asks the cloud"
    html = response.content.decode()
    assert "<html" not in html and f'id="request-{detach_request.pk}"' in html


def test_the_card_polls_every_2s_then_10s_then_stops(
    client, viewer, operator, approver, candidate, ens_client, time_machine
):
    detach_request = approved_request(candidate, operator, approver, ens_client)
    client.force_login(viewer)
    html = client.get(_status(detach_request.pk)).content.decode()
    assert _trigger(html) == "every 2s"
    assert f'hx-get="{_status(detach_request.pk)}"' in html
    assert "Waiting for the worker" in html
    time_machine.move_to(timezone.now() + timedelta(seconds=61))
    assert _trigger(client.get(_status(detach_request.pk)).content.decode()) == "every 10s"

    workflow.run_detach_work(client=ens_client, worker="w1")
    time.sleep(0.35)
    workflow.run_detach_work(client=ens_client, worker="w1")
    detach_request.refresh_from_db()
    assert detach_request.status == "succeeded"
    final = client.get(_status(detach_request.pk)).content.decode()
    assert _trigger(final) is None and "hx-get" not in final
    assert "Detached" in final


def test_the_card_shows_elapsed_time(client, viewer, operator, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    DetachRequest.objects.filter(pk=detach_request.pk).update(
        changed_at=timezone.now() - timedelta(seconds=75)
    )
    client.force_login(viewer)
    html = client.get(_status(detach_request.pk)).content.decode()
    assert "pending approval for 1 min 15 s" in html


def test_the_eni_row_polls_while_moving_and_stops_at_rest(
    client, viewer, operator, approver, candidate, ens_client
):
    row = reverse("detach:eni-row", args=[candidate.eni_id])
    client.force_login(viewer)
    assert _trigger(client.get(row).content.decode()) is None, "at rest: no polling"

    approved_request(candidate, operator, approver, ens_client)
    workflow.run_detach_work(client=ens_client, worker="w1")
    client.get(row)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(row, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert len(_own_queries(captured)) <= 3, _own_queries(captured)
    assert "<html" not in html and html.startswith("<tr")
    assert _trigger(html) == "every 2s" and "Detaching" in html

    time.sleep(0.35)
    workflow.run_detach_work(client=ens_client, worker="w1")
    final = client.get(row).content.decode()
    assert _trigger(final) is None and "Available" in final


def test_poll_endpoints_refuse_post_anonymous_and_no_role(
    client, outsider, operator, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    urls = [_status(detach_request.pk), reverse("detach:eni-row", args=[candidate.eni_id])]
    for url in urls:
        assert client.get(url).status_code == 302
    client.force_login(outsider)
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(operator)
    for url in urls:
        assert client.post(url).status_code == 405
    assert client.get(reverse("detach:eni-row", args=["eni-nope"])).status_code == 404


def test_fifty_pollers_add_no_cloud_reads(
    client, viewer, operator, approver, candidate, ens_client, other_client, emulator, settings
):
    """Polls read the database; only the worker asks ENS, once per ENS_REFRESH_SECONDS."""
    settings.ENS_REFRESH_SECONDS = 1
    detach_request = approved_request(candidate, operator, approver, ens_client)
    # The stuck flag keeps it Detaching for the whole test.
    emulator.control.change_eni(candidate.eni_id, stuck=True)
    workflow.run_detach_work(client=ens_client, worker="w1")
    emulator.control.clear_requests()
    client.force_login(viewer)
    started = time.monotonic()
    for round_number in range(3):
        for _ in range(50):
            assert client.get(_status(detach_request.pk)).status_code == 200
            assert client.get(reverse("detach:eni-row", args=[candidate.eni_id])).status_code == 200
        for worker_client in (ens_client, other_client):
            workflow.run_detach_work(client=worker_client, worker=f"w{round_number}")
    elapsed = time.monotonic() - started
    describes = emulator.control.requests("DescribeNetworkInterfaces")
    assert len(describes) <= int(elapsed / settings.ENS_REFRESH_SECONDS) + 1
