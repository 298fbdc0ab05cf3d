"""CSV and JSON exports of the history: auditors only, filtered, streamed, and audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.urls import reverse

from eniadmin.audit.chain import hash_of
from eniadmin.audit.exports import EXPORT_FIELDS, ROWS_PER_CHUNK
from eniadmin.audit.models import Action, AuditEvent
from tests.audit.conftest import append_chain, record_now

EXPORT_CSV = reverse("audit:export-csv")
EXPORT_JSON = reverse("audit:export-json")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def events(operator):
    return [
        record_now(
            Action.DETACH_REQUESTED,
            actor=operator,
            eni_id="eni-aaa111",
            before={"status": "InUse"},
            comment="for the new tenant",
        ),
        record_now(Action.SYNC_FAILED, region_id="ap-southeast-1", outcome="Throttling"),
        record_now(Action.DETACH_REQUESTED, actor=operator, eni_id="eni-bbb222"),
    ]


def streamed_text(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(streamed_text(response))))


def test_csv_export_has_a_header_and_the_filtered_rows_oldest_first(auditor_client, events):
    response = auditor_client.get(EXPORT_CSV, {"action": "detach_requested"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    text = streamed_text(response)
    assert text.splitlines()[0] == ",".join(EXPORT_FIELDS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["eni_id"] for row in rows] == ["eni-aaa111", "eni-bbb222"]
    first = rows[0]
    assert first["id"] == str(events[0].pk)
    assert first["actor_name"] == "olivia"
    assert first["action"] == "detach_requested"
    assert first["comment"] == "for the new tenant"
    assert json.loads(first["before"]) == {"status": "InUse"}
    assert first["hash"] == events[0].hash


def test_json_export_is_one_array_of_the_filtered_events(auditor_client, events):
    response = auditor_client.get(EXPORT_JSON, {"outcome": "error"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    exported = json.loads(streamed_text(response))
    assert len(exported) == 1
    assert exported[0]["action"] == "sync_failed"
    assert exported[0]["outcome"] == "Throttling"
    assert exported[0]["region_id"] == "ap-southeast-1"
    assert exported[0]["hash"] == events[1].hash
    assert set(exported[0]) == set(EXPORT_FIELDS)


def test_json_export_can_be_verified_without_the_database(auditor_client, events):
    exported = json.loads(streamed_text(auditor_client.get(EXPORT_JSON)))

    assert [row["previous_hash"] for row in exported[1:]] == [row["hash"] for row in exported[:-1]]
    assert all(hash_of(SimpleNamespace(**row)) == row["hash"] for row in exported)


def test_empty_json_export_is_an_empty_array(auditor_client, events):
    response = auditor_client.get(EXPORT_JSON, {"eni": "eni-none"})
    assert json.loads(streamed_text(response)) == []


def test_export_is_itself_audited_before_streaming(auditor_client, auditor, events):
    response = auditor_client.get(EXPORT_CSV, {"eni": "eni-aaa111"})

    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert exported.actor == auditor
    assert exported.client_ip == "127.0.0.1"
    assert exported.correlation_id != events[-1].correlation_id
    assert exported.after == {"format": "csv", "filters": {"eni": "eni-aaa111"}}
    assert exported.comment == "CSV export, filters: eni=eni-aaa111"
    # The export covers the events before its own record, which it does not contain.
    assert str(exported.pk) not in [row["id"] for row in csv_rows(response)]


def test_spreadsheet_formulas_in_comments_are_neutralised(auditor_client, operator):
    record_now(Action.DETACH_REQUESTED, actor=operator, comment='=HYPERLINK("http://x")')

    rows = csv_rows(auditor_client.get(EXPORT_CSV, {"action": "detach_requested"}))

    assert rows[0]["comment"] == '\'=HYPERLINK("http://x")'


def test_invalid_filters_export_nothing_and_say_why(auditor_client, events):
    response = auditor_client.get(EXPORT_CSV, {"since": "last tuesday"})

    assert response.status_code == 400
    assert "From: Enter a valid date." in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


def test_hundred_thousand_events_are_streamed_in_chunks(auditor_client, db):
    append_chain(100_000, first_created=datetime(2025, 1, 1, tzinfo=UTC))

    response = auditor_client.get(EXPORT_CSV, {"actor": "bulk"})

    chunks = 0
    rows = -1  # the header
    for chunk in response.streaming_content:
        chunks += 1
        rows += chunk.count(b"\n")
    assert rows == 100_000
    assert chunks >= 100_000 // ROWS_PER_CHUNK


@pytest.mark.parametrize("persona", ["viewer", "operator", "approver", "outsider"])
@pytest.mark.parametrize("url", [EXPORT_CSV, EXPORT_JSON])
def test_only_auditors_may_export(client, request, persona, url, events):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(url)

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


@pytest.mark.parametrize("url", [EXPORT_CSV, EXPORT_JSON])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("url", [EXPORT_CSV, EXPORT_JSON])
def test_post_is_not_allowed(auditor_client, db, url):
    assert auditor_client.post(url).status_code == 405
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()
