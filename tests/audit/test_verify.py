"""verify_audit names changed, deleted and inserted rows; PostgreSQL refuses changes outright."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from eniadmin.audit.chain import HASHED_FIELDS, first_break, hash_of
from eniadmin.audit.models import Action, AuditEvent
from tests.audit.conftest import append_chain, on_postgresql, record_now

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def five_events(operator):
    return [
        record_now(Action.DETACH_REQUESTED, actor=operator, eni_id=f"eni-{n}", comment=f"n{n}")
        for n in range(5)
    ]


def raw_sql(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_forged_row(*, previous_hash: str, hash_value: str) -> int:
    correlation_id = uuid.uuid4()
    raw_sql(
        f"INSERT INTO {TABLE} (created, actor_name, on_behalf_of_name, action, eni_id, "  # noqa: S608
        "instance_id, region_id, request_id, outcome, comment, user_agent, correlation_id, "
        "previous_hash, hash) VALUES (%s, 'arthur', '', 'detach_approved', 'eni-2', '', '', "
        "'', 'ok', 'approved, honest', '', %s, %s, %s)",
        [
            connection.ops.adapt_datetimefield_value(timezone.now()),
            correlation_id if connection.features.has_native_uuid_field else correlation_id.hex,
            previous_hash,
            hash_value,
        ],
    )
    return AuditEvent.objects.newest_first().values_list("id", flat=True).first()


def verify_fails_with(message: str) -> None:
    with pytest.raises(CommandError, match=message) as failure:
        call_command("verify_audit")
    assert failure.value.returncode == 1


def test_intact_chain_prints_the_count_and_the_last_hash(five_events, capsys):
    call_command("verify_audit")
    assert capsys.readouterr().out == (
        f"Audit chain intact: 5 events, the last is #{five_events[-1].pk} "
        f"with hash {five_events[-1].hash}.\n"
    )


def test_empty_history_is_intact(db, capsys):
    call_command("verify_audit")
    assert capsys.readouterr().out == "Audit chain intact: 0 events.\n"


def test_a_long_chain_verifies(db, capsys):
    append_chain(3000, first_created=datetime(2025, 1, 1, tzinfo=UTC))
    record_now()
    call_command("verify_audit")
    assert "Audit chain intact: 3001 events" in capsys.readouterr().out


@pytest.mark.usefixtures("trigger_switched_off")
def test_changed_comment_is_named_with_a_failing_exit_status(five_events, capsys):
    raw_sql(f"UPDATE {TABLE} SET comment = %s WHERE id = %s", ["edited", five_events[2].pk])  # noqa: S608

    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line(["manage.py", "verify_audit"])

    assert exit_status.value.code == 1
    assert (
        f"Audit chain broken at event #{five_events[2].pk}: content changed"
        in capsys.readouterr().err
    )


@pytest.mark.usefixtures("trigger_switched_off")
def test_deleted_event_is_named_by_its_successor(five_events):
    raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [five_events[2].pk])  # noqa: S608

    verify_fails_with(
        f"event #{five_events[3].pk}: missing link: it does not follow #{five_events[1].pk}"
    )


@pytest.mark.usefixtures("trigger_switched_off")
def test_deleting_the_oldest_events_without_a_purge_is_found(five_events):
    raw_sql(f"DELETE FROM {TABLE} WHERE id <= %s", [five_events[1].pk])  # noqa: S608

    verify_fails_with(
        f"event #{five_events[2].pk}: missing link: the events before it were deleted, "
        "and no purge checkpoint records that removal"
    )


@pytest.mark.usefixtures("trigger_switched_off")
def test_event_rewritten_with_a_fresh_hash_is_found_at_the_next_link(five_events):
    forged = five_events[2]
    forged.comment = "edited"
    raw_sql(
        f"UPDATE {TABLE} SET comment = %s, hash = %s WHERE id = %s",  # noqa: S608
        ["edited", hash_of(forged), forged.pk],
    )

    verify_fails_with(f"event #{five_events[3].pk}: missing link: .* #{forged.pk} was rewritten")


def test_inserted_row_is_named(five_events):
    forged = insert_forged_row(previous_hash="0" * 64, hash_value="f" * 64)

    verify_fails_with(f"event #{forged}: inserted row")


def test_inserted_row_with_a_made_up_hash_is_named(five_events):
    forged = insert_forged_row(previous_hash=five_events[-1].hash, hash_value="f" * 64)

    verify_fails_with(f"event #{forged}: content changed")


def test_two_events_linking_to_the_same_one_cannot_be_stored(five_events):
    with pytest.raises(DatabaseError), transaction.atomic():
        insert_forged_row(previous_hash=five_events[1].hash, hash_value="f" * 64)


def synthetic_event(event_id: int, previous_hash: str) -> SimpleNamespace:
    event = SimpleNamespace(id=event_id, **dict.fromkeys(HASHED_FIELDS, ""))
    event.created = datetime(2025, 1, 1, tzinfo=UTC)
    event.comment = f"event {event_id}"
    event.previous_hash = previous_hash
    event.hash = hash_of(event)
    return event


def synthetic_chain(count: int) -> list[SimpleNamespace]:
    events = [synthetic_event(1, "")]
    for event_id in range(2, count + 1):
        events.append(synthetic_event(event_id, events[-1].hash))
    return events


def walk(events: list[SimpleNamespace]) -> str:
    ids_by_hash = {event.hash: event.id for event in events}
    return str(first_break(events, purge_checkpoints={}, event_id_with_hash=ids_by_hash.get))


# Without the unique constraint on previous_hash (say, dropped by whoever tampers), forks are
# still named: these walk synthetic chains.
def test_row_slipped_between_two_events_is_named():
    first, second, third = synthetic_chain(3)
    slipped = synthetic_event(2, first.hash)
    second.id, third.id = 3, 4

    assert walk([first, slipped, second, third]) == (
        "event #2: inserted row: event #3 links past it, to #1"
    )


def test_row_appended_with_a_link_back_into_the_chain_is_named():
    events = synthetic_chain(3)
    events.append(synthetic_event(4, events[0].hash))

    assert walk(events) == (
        "event #4: inserted row: it links back to #1, which already has a successor, "
        "instead of to #3"
    )


@on_postgresql
def test_postgresql_refuses_update(five_events):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        raw_sql(f"UPDATE {TABLE} SET comment = 'edited' WHERE id = %s", [five_events[0].pk])  # noqa: S608

    assert AuditEvent.objects.get(pk=five_events[0].pk).comment == "n0"


@on_postgresql
def test_postgresql_refuses_delete(five_events):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [five_events[0].pk])  # noqa: S608

    assert AuditEvent.objects.count() == 5


@on_postgresql
def test_postgresql_refuses_pointing_an_event_at_another_user(five_events, approver):
    with pytest.raises(DatabaseError, match="UPDATE refused"), transaction.atomic():
        raw_sql(f"UPDATE {TABLE} SET actor_id = %s WHERE id = %s", [approver.pk, five_events[0].pk])  # noqa: S608


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_allows_delete_only_in_a_transaction_with_the_purge_setting(five_events):
    with transaction.atomic():
        raw_sql("SET LOCAL eniadmin.audit_purge = 'on'", [])
        raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [five_events[0].pk])  # noqa: S608

    assert AuditEvent.objects.count() == 4
    with pytest.raises(DatabaseError, match="DELETE refused"), transaction.atomic():
        raw_sql(f"DELETE FROM {TABLE} WHERE id = %s", [five_events[1].pk])  # noqa: S608
