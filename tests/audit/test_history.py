"""The audit history page: filters, search, pages, htmx fragments and who may read it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import time_machine
from django.urls import reverse

from eniadmin.audit.context import AuditContext, audit_context
from eniadmin.audit.models import Action
from tests.audit.conftest import append_chain, record_now

HISTORY = reverse("audit:history")


def shown_event_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="audit-event-(\d+)"', response.content.decode())]


def shown_fixture_events(response, events: dict) -> list[str]:
    """Which of the fixture's events the page shows, in order (ignoring the login event)."""
    names = {event.pk: name for name, event in events.items()}
    return [names[pk] for pk in shown_event_ids(response) if pk in names]


@pytest.fixture
def events(operator, approver):
    """A small history: a detach from request to success, a failed sync, a rejected request."""
    with audit_context(AuditContext(client_ip="198.51.100.20")):
        with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
            requested = record_now(
                Action.DETACH_REQUESTED,
                actor=operator,
                eni_id="eni-aaa111",
                instance_id="i-inst1",
                region_id="cn-hangzhou-telecom",
                comment="free the secondary for the new tenant",
            )
        with time_machine.travel(datetime(2025, 3, 2, 9, 0, tzinfo=UTC), tick=False):
            submitted = record_now(
                Action.DETACH_SUBMITTED,
                on_behalf_of=approver,
                eni_id="eni-aaa111",
                instance_id="i-inst1",
                region_id="cn-hangzhou-telecom",
                request_id="REQ-0001-SUBMIT",
            )
        with time_machine.travel(datetime(2025, 3, 3, 9, 0, tzinfo=UTC), tick=False):
            failed_sync = record_now(
                Action.SYNC_FAILED,
                region_id="ap-southeast-1",
                outcome="Throttling",
                request_id="REQ-0002-SYNC",
            )
        with time_machine.travel(datetime(2025, 3, 4, 9, 0, tzinfo=UTC), tick=False):
            rejected = record_now(
                Action.DETACH_REJECTED,
                actor=approver,
                eni_id="eni-bbb222",
                instance_id="i-inst2",
                region_id="cn-hangzhou-telecom",
                comment="primary ENI of a database",
            )
    return {
        "requested": requested,
        "submitted": submitted,
        "failed_sync": failed_sync,
        "rejected": rejected,
    }


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.mark.parametrize("persona", ["viewer", "operator", "approver", "auditor"])
def test_every_role_can_read_the_history(client, request, persona, events):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(HISTORY)

    assert response.status_code == 200
    assert "<h1>Audit history</h1>" in response.content.decode()


def test_history_shows_who_did_what_to_which_eni_newest_first(viewer_client, events):
    response = viewer_client.get(HISTORY, {"action": Action.DETACH_SUBMITTED})
    html = response.content.decode()

    assert shown_event_ids(response) == [events["submitted"].pk]
    assert "2025-03-02 09:00:00" in html
    assert "system" in html
    assert "on behalf of arthur" in html
    assert "Detach submitted to the cloud" in html
    assert "eni-aaa111" in html
    assert "i-inst1" in html
    assert "cn-hangzhou-telecom" in html
    assert '<span class="badge badge-ok">ok</span>' in html
    assert "REQ-0001-SUBMIT" in html
    assert "198.51.100.20" in html


def test_newest_event_comes_first(viewer_client, events):
    response = viewer_client.get(HISTORY)
    assert shown_fixture_events(response, events) == [
        "rejected",
        "failed_sync",
        "submitted",
        "requested",
    ]


def test_failure_outcome_shows_its_error_code(viewer_client, events):
    html = viewer_client.get(HISTORY, {"outcome": "error"}).content.decode()
    assert '<span class="badge badge-bad">Throttling</span>' in html


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": "olivia"}, ["requested"]),
        ({"actor": "arthur"}, ["rejected", "submitted"]),
        ({"action": "detach_rejected"}, ["rejected"]),
        ({"eni": "eni-aaa111"}, ["submitted", "requested"]),
        ({"instance": "i-inst2"}, ["rejected"]),
        ({"region": "ap-southeast-1"}, ["failed_sync"]),
        ({"outcome": "Throttling"}, ["failed_sync"]),
        ({"outcome": "error"}, ["failed_sync"]),
        ({"since": "2025-03-02", "until": "2025-03-03"}, ["failed_sync", "submitted"]),
        ({"since": "2025-03-04"}, ["rejected"]),
        ({"until": "2025-03-01"}, ["requested"]),
        ({"region": "cn-hangzhou-telecom", "actor": "arthur"}, ["rejected", "submitted"]),
    ],
)
def test_filters_narrow_the_events(viewer_client, events, filters, expected):
    response = viewer_client.get(HISTORY, filters)
    assert shown_fixture_events(response, events) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tenant", ["requested"]),
        ("DATABASE", ["rejected"]),
        ("REQ-0002", ["failed_sync"]),
        ("bbb222", ["rejected"]),
        ("arth", ["rejected", "submitted"]),
        ("i-inst1", ["submitted", "requested"]),
    ],
)
def test_search_looks_in_comments_targets_request_ids_and_users(
    viewer_client, events, text, expected
):
    response = viewer_client.get(HISTORY, {"q": text})
    assert shown_fixture_events(response, events) == expected


def test_no_match_says_so(viewer_client, events):
    html = viewer_client.get(HISTORY, {"eni": "eni-unknown"}).content.decode()
    assert "No event matches these filters." in html


def test_pages_hold_fifty_events_and_keep_the_filters(viewer_client, db):
    append_chain(120, first_created=datetime(2025, 1, 1, tzinfo=UTC))

    first = viewer_client.get(HISTORY, {"actor": "bulk"})
    last = viewer_client.get(HISTORY, {"actor": "bulk", "page": "3"})

    assert len(shown_event_ids(first)) == 50
    assert len(shown_event_ids(last)) == 20
    html = first.content.decode()
    assert "120 events" in html
    assert "Page 1 of 3" in html
    assert 'href="?actor=bulk&amp;page=2"' in html
    assert 'hx-push-url="true"' in html


def test_page_past_the_end_shows_the_last_page(viewer_client, db):
    append_chain(60, first_created=datetime(2025, 1, 1, tzinfo=UTC))

    response = viewer_client.get(HISTORY, {"actor": "bulk", "page": "99"})

    assert response.status_code == 200
    assert "Page 2 of 2" in response.content.decode()
    assert len(shown_event_ids(response)) == 10


def test_htmx_request_gets_only_the_table(viewer_client, events):
    response = viewer_client.get(
        HISTORY, {"eni": "eni-aaa111"}, headers={"HX-Request": "true", "HX-Target": "history-table"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="history-table">')
    assert shown_event_ids(response) == [events["submitted"].pk, events["requested"].pk]
    assert "HX-Request" in response["Vary"]


def test_htmx_restoring_history_gets_the_whole_page(viewer_client, events):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = viewer_client.get(HISTORY, {"eni": "eni-aaa111"}, headers=headers)
    assert "<html" in response.content.decode()


def test_full_page_holds_the_filter_form_and_the_same_table(viewer_client, events):
    response = viewer_client.get(HISTORY, {"eni": "eni-aaa111"})

    html = response.content.decode()
    assert "<html" in html
    assert '<form class="filters" method="get"' in html
    assert 'hx-target="#history-table"' in html
    assert 'value="eni-aaa111"' in html
    assert '<div id="history-table">' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "From: Enter a valid date."),
        ({"page": "abc"}, "Page: Enter a whole number."),
        ({"page": "0"}, "Page: Ensure this value is greater than or equal to 1."),
        ({"eni": "eni-1'; drop table"}, "ENI: Use only letters, digits"),
        ({"action": "detach_everything"}, "Action: Select a valid choice."),
        ({"since": "2025-03-04", "until": "2025-03-01"}, "must not be after the"),
    ],
)
def test_invalid_filters_show_a_clear_message_and_no_events(viewer_client, events, params, message):
    response = viewer_client.get(HISTORY, params)

    html = response.content.decode()
    assert response.status_code == 200
    assert "These filters are not valid, so no events are shown" in html
    assert message in html
    assert shown_event_ids(response) == []


def test_export_links_are_offered_to_auditors_with_the_current_filters(client, auditor, events):
    client.force_login(auditor)

    html = client.get(HISTORY, {"eni": "eni-aaa111", "page": "1"}).content.decode()

    assert f'href="{reverse("audit:export-csv")}?eni=eni-aaa111"' in html
    assert f'href="{reverse("audit:export-json")}?eni=eni-aaa111"' in html


def test_export_links_are_not_offered_to_other_roles(viewer_client, events):
    html = viewer_client.get(HISTORY).content.decode()
    assert reverse("audit:export-csv") not in html


def test_user_without_role_is_refused(client, outsider, events):
    client.force_login(outsider)
    assert client.get(HISTORY).status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(HISTORY)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(HISTORY)}"


def test_post_is_not_allowed(viewer_client, db):
    assert viewer_client.post(HISTORY).status_code == 405
