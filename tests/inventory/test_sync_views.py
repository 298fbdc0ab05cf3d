from __future__ import annotations

import json

from django.urls import reverse

from eniadmin.inventory.models import SyncRun

SYNC_NOW = reverse("inventory:sync-now")
SYNC_STATUS = reverse("inventory:sync-status")


def test_operator_queues_a_sync(client, operator):
    client.force_login(operator)
    response = client.post(SYNC_NOW, follow=True)
    run = SyncRun.objects.get()
    assert (run.status, run.requested_by, run.trigger) == ("queued", operator, "manual")
    assert "Sync queued" in response.content.decode()


def test_a_second_sync_now_joins_the_queued_one(client, approver):
    client.force_login(approver)
    client.post(SYNC_NOW)
    response = client.post(SYNC_NOW, follow=True)
    assert SyncRun.objects.count() == 1
    assert "already queued" in response.content.decode()


def test_viewer_and_auditor_may_not_sync(client, viewer, auditor):
    for user in (viewer, auditor):
        client.force_login(user)
        assert client.post(SYNC_NOW).status_code == 403
    assert not SyncRun.objects.exists()


def test_sync_now_refuses_get(client, operator):
    client.force_login(operator)
    assert client.get(SYNC_NOW).status_code == 405


def test_htmx_sync_now_returns_the_polling_progress_region(client, operator):
    client.force_login(operator)
    response = client.post(SYNC_NOW, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 2s"' in html
    assert 'data-poll="sync"' in html, "static/js/poll.js pauses it in a hidden tab"
    assert "waiting for the worker" in html
    # Nothing left waiting to surface on some later page.
    later_page = client.get(reverse("inventory:instance-list")).content.decode()
    assert "the worker picks it up within a few seconds" not in later_page


def test_progress_polls_while_running_and_stops_when_done(client, viewer):
    client.force_login(viewer)
    run = SyncRun.objects.create(status="running", pages_done=3, pages_expected=12)
    html = client.get(SYNC_STATUS, {"was_open": 1}).content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert 'value="25"' in html and "3 of 12 pages" in html

    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", pages_done=12)
    SyncRun.objects.filter(pk=run.pk).update(finished_at=run.created_at)
    response = client.get(SYNC_STATUS, {"was_open": 1})
    assert "hx-trigger" not in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"inventorySynced": {}}


def test_a_failed_sync_shows_its_sentence_code_and_request_id(client, viewer):
    client.force_login(viewer)
    SyncRun.objects.create(
        status="failed",
        error_code="Throttling.User",
        error_request_id="R-9",
        error_message="ENS is limiting how fast the dashboard may call it.",
    )
    html = client.get(SYNC_STATUS).content.decode()
    assert "Last sync failed" in html
    assert "Throttling.User" in html and "RequestId R-9" in html


def test_sync_status_needs_a_role(client, outsider):
    client.force_login(outsider)
    assert client.get(SYNC_STATUS).status_code == 403
