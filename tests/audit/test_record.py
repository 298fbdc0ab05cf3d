"""record(): the one way to write audit events, and the model that refuses every other way."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from eniadmin.audit.chain import hash_of
from eniadmin.audit.context import AuditContext, audit_context, job_context
from eniadmin.audit.events import RecordOutsideTransaction, record
from eniadmin.audit.models import Action, AppendOnlyError, AuditEvent
from tests.audit.conftest import record_now

WEB_CONTEXT = AuditContext(
    correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    client_ip="203.0.113.7",
    user_agent="Mozilla/5.0 (audit test)",
)


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_recorded_once_with_actor_ip_and_correlation_id(operator, action):
    with audit_context(WEB_CONTEXT):
        record_now(action, actor=operator, eni_id="eni-1", outcome="ok")

    event = AuditEvent.objects.get(action=action)
    assert event.actor == operator
    assert event.actor_name == "olivia"
    assert event.client_ip == "203.0.113.7"
    assert event.user_agent == "Mozilla/5.0 (audit test)"
    assert event.correlation_id == WEB_CONTEXT.correlation_id


def test_record_keeps_every_field_it_was_given(approver):
    with audit_context(WEB_CONTEXT):
        event = record_now(
            Action.DETACH_SUBMITTED,
            on_behalf_of=approver,
            eni_id="eni-5ffj2xk",
            instance_id="i-5f1nbv8",
            region_id="cn-hangzhou-telecom",
            request_id="6A1B7C3D-0000-4C3E-9F1D-1234567890AB",
            outcome="IncorrectNetworkInterfaceStatus",
            before={"status": "InUse"},
            after={"status": "Detaching", "attempt": 1},
            comment="maintenance window 42",
        )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor is None
    assert stored.actor_name == "system"
    assert stored.on_behalf_of == approver
    assert stored.on_behalf_of_name == "arthur"
    assert (stored.eni_id, stored.instance_id, stored.region_id) == (
        "eni-5ffj2xk",
        "i-5f1nbv8",
        "cn-hangzhou-telecom",
    )
    assert stored.request_id == "6A1B7C3D-0000-4C3E-9F1D-1234567890AB"
    assert stored.outcome == "IncorrectNetworkInterfaceStatus"
    assert stored.before == {"status": "InUse"}
    assert stored.after == {"status": "Detaching", "attempt": 1}
    assert stored.comment == "maintenance window 42"


def test_anonymous_actor_is_named_anonymous(db):
    event = record_now(Action.LOGIN_FAILED, actor=AnonymousUser())
    assert event.actor is None
    assert event.actor_name == "anonymous"


def test_event_commits_with_the_change_it_describes(operator):
    with transaction.atomic():
        Group.objects.create(name="changed")
        record(Action.SYNC_REQUESTED, actor=operator)

    assert Group.objects.filter(name="changed").exists()
    assert AuditEvent.objects.filter(action=Action.SYNC_REQUESTED).count() == 1


def test_event_rolls_back_with_the_change_it_describes(operator):
    with pytest.raises(RuntimeError, match="cloud said no"), transaction.atomic():
        Group.objects.create(name="changed")
        record(Action.SYNC_REQUESTED, actor=operator)
        raise RuntimeError("cloud said no")

    assert not Group.objects.filter(name="changed").exists()
    assert not AuditEvent.objects.filter(action=Action.SYNC_REQUESTED).exists()


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    with pytest.raises(RecordOutsideTransaction, match=r"inside the transaction\.atomic\(\)"):
        record(Action.SYNC_REQUESTED)
    assert not AuditEvent.objects.exists()


def test_unknown_action_is_refused(db):
    with pytest.raises(ValueError, match="detach_everything"):
        record_now("detach_everything")


def test_float_state_is_refused_because_its_text_is_not_stable(db):
    with pytest.raises(TypeError, match="floats"):
        record_now(after={"cpu": 0.5})


def test_target_longer_than_its_column_is_refused_on_every_database(db):
    with pytest.raises(ValidationError, match="eni_id"):
        record_now(eni_id="eni-" + "x" * 80)


def test_each_event_links_to_the_one_before(db):
    first = record_now()
    second = record_now()
    third = record_now()

    assert first.previous_hash == ""
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert all(hash_of(event) == event.hash for event in AuditEvent.objects.all())


def test_events_of_one_job_share_a_correlation_id_and_have_no_ip(db):
    with job_context("inventory_sync") as context:
        started = record_now(Action.SYNC_STARTED)
        finished = record_now(Action.SYNC_FINISHED)

    assert started.correlation_id == finished.correlation_id == context.correlation_id
    assert started.client_ip is None
    assert started.user_agent == ""
    assert started.actor_name == "system"


def test_events_outside_any_request_or_job_get_their_own_correlation_id(db):
    first = record_now()
    second = record_now()
    assert first.correlation_id != second.correlation_id


def test_ipv6_client_address_is_stored_as_hashed(db, capsys):
    with audit_context(AuditContext(client_ip="::ffff:203.0.113.9")):
        event = record_now()

    assert AuditEvent.objects.get(pk=event.pk).client_ip == "::ffff:203.0.113.9"
    call_command("verify_audit")
    assert "Audit chain intact: 1 events" in capsys.readouterr().out


def test_saved_event_cannot_be_changed_or_deleted(db):
    event = record_now(comment="original")
    event.comment = "rewritten"

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(comment="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    # A new instance carrying the row's id and a hash is an INSERT, refused, not an UPDATE.
    forged = AuditEvent.objects.get(pk=event.pk)
    forged._state.adding, forged.comment = True, "rewritten"
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    assert AuditEvent.objects.get(pk=event.pk).comment == "original"


def test_events_are_written_only_through_record(db):
    with pytest.raises(AppendOnlyError, match=r"record\(\)"):
        AuditEvent.objects.create(
            action=Action.LOGIN, actor_name="mallory", correlation_id=uuid.uuid4()
        )


def test_deleting_a_user_keeps_their_history_and_the_chain(operator, capsys):
    record_now(Action.DETACH_REQUESTED, actor=operator, eni_id="eni-1")
    record_now(Action.DETACH_SUBMITTED, on_behalf_of=operator, eni_id="eni-1")

    operator.delete()

    requested, submitted = AuditEvent.objects.for_eni("eni-1")
    assert requested.actor is None
    assert requested.actor_name == "olivia"
    assert submitted.on_behalf_of is None
    assert submitted.on_behalf_of_name == "olivia"
    call_command("verify_audit")
    assert "Audit chain intact: 2 events" in capsys.readouterr().out


def test_eni_timeline_is_oldest_first_and_only_that_eni(db):
    requested = record_now(Action.DETACH_REQUESTED, eni_id="eni-1")
    record_now(Action.DETACH_REQUESTED, eni_id="eni-2")
    succeeded = record_now(Action.DETACH_SUCCEEDED, eni_id="eni-1")

    assert list(AuditEvent.objects.for_eni("eni-1")) == [requested, succeeded]
