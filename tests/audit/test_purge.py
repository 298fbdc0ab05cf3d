"""purge_audit removes events past retention and leaves a chain that still verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from eniadmin.audit.models import Action, AuditEvent
from tests.audit.conftest import append_chain, on_postgresql, record_now

OLD = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
RECENT = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
PURGE_DAY = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # 365 days back is 2024-06-01


@pytest.fixture
def history(operator):
    with time_machine.travel(OLD, tick=False):
        old = [record_now(Action.LOGIN, actor=operator, comment=f"old {n}") for n in range(3)]
    with time_machine.travel(RECENT, tick=False):
        recent = [record_now(Action.LOGIN, actor=operator, comment=f"new {n}") for n in range(2)]
    return {"old": old, "recent": recent}


def purge(*arguments: str) -> None:
    with time_machine.travel(PURGE_DAY, tick=False):
        call_command("purge_audit", *arguments)


def test_purge_removes_old_events_and_records_a_checkpoint(history, capsys):
    old, recent = history["old"], history["recent"]

    purge()

    checkpoint = AuditEvent.objects.get(action=Action.AUDIT_PURGED)
    remaining = list(AuditEvent.objects.order_by("id"))
    assert remaining == [*recent, checkpoint]
    assert checkpoint.actor is None
    assert checkpoint.actor_name == "system"
    assert checkpoint.client_ip is None
    assert checkpoint.correlation_id not in {event.correlation_id for event in recent}
    assert checkpoint.created == PURGE_DAY
    assert checkpoint.after == {
        "removed_count": 3,
        "first_removed_id": old[0].pk,
        "last_removed_id": old[-1].pk,
        "last_removed_hash": old[-1].hash,
        "last_removed_created": "2024-01-01T12:00:00+00:00",
        "cutoff": "2024-06-01T12:00:00+00:00",
    }
    assert capsys.readouterr().out == (
        f"Removed 3 events, #{old[0].pk} to #{old[-1].pk}, older than 2024-06-01 12:00 UTC; "
        f"checkpoint event #{checkpoint.pk} links the rest.\n"
    )


def test_chain_still_verifies_after_a_purge(history, capsys):
    purge()
    capsys.readouterr()

    call_command("verify_audit")

    assert "Audit chain intact: 3 events" in capsys.readouterr().out


def test_a_purge_committing_while_the_chain_is_verified_is_no_false_alarm(
    history, capsys, monkeypatch
):
    from eniadmin.audit.management.commands import verify_audit

    read_checkpoints = verify_audit.purge_checkpoints
    purged = []

    def purge_after_reading_the_checkpoints() -> dict[str, int]:
        checkpoints = read_checkpoints()
        if not purged:  # another cron job's purge commits just now
            purge()
            purged.append(True)
        return checkpoints

    monkeypatch.setattr(verify_audit, "purge_checkpoints", purge_after_reading_the_checkpoints)
    call_command("verify_audit")
    assert "Audit chain intact: 3 events" in capsys.readouterr().out


def test_the_hash_reported_intact_is_the_last_one_checked(history, capsys, monkeypatch):
    from eniadmin.audit.management.commands import verify_audit

    walk = verify_audit.first_break

    def appended_after_the_walk(*args, **kwargs):
        broken = walk(*args, **kwargs)
        record_now(Action.LOGIN, comment="appended after the walk")
        return broken

    monkeypatch.setattr(verify_audit, "first_break", appended_after_the_walk)
    call_command("verify_audit")
    last_checked = history["recent"][-1]
    assert capsys.readouterr().out == (
        f"Audit chain intact: 5 events, the last is #{last_checked.pk} "
        f"with hash {last_checked.hash}.\n"
    )


def test_dry_run_shows_what_would_go_and_changes_nothing(history, capsys):
    old = history["old"]

    purge("--dry-run")

    assert AuditEvent.objects.count() == 5
    assert capsys.readouterr().out == (
        f"Dry run, retention 365 days: would remove 3 events, #{old[0].pk} to #{old[-1].pk}, "
        "older than 2024-06-01 12:00 UTC.\n"
    )


def test_nothing_to_purge_records_nothing(operator, capsys):
    with time_machine.travel(RECENT, tick=False):
        record_now(Action.LOGIN, actor=operator)

    purge()

    assert not AuditEvent.objects.filter(action=Action.AUDIT_PURGED).exists()
    assert capsys.readouterr().out == (
        "Nothing to purge: no event is older than 2024-06-01 12:00 UTC.\n"
    )


def test_retention_follows_the_setting(history, settings, capsys):
    settings.AUDIT_RETENTION_DAYS = 500

    purge("--dry-run")

    assert "retention 500 days: would remove 3 events" in capsys.readouterr().out


def test_purging_everything_leaves_the_checkpoint_alone_and_verifiable(history, capsys):
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC), tick=False):
        call_command("purge_audit")

    checkpoint = AuditEvent.objects.get()
    assert checkpoint.action == Action.AUDIT_PURGED
    assert checkpoint.after["removed_count"] == 5
    call_command("verify_audit")
    assert "Audit chain intact: 1 events" in capsys.readouterr().out


def test_successive_purges_keep_the_chain_verifiable(history, capsys):
    purge()
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        record_now(Action.LOGOUT)
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC), tick=False):
        call_command("purge_audit")

    call_command("verify_audit")
    assert "Audit chain intact: 2 events" in capsys.readouterr().out.splitlines()[-1]


def test_a_purge_never_cuts_a_gap_into_the_chain(operator, capsys):
    with time_machine.travel(OLD, tick=False):
        oldest = record_now(comment="old")
    with time_machine.travel(RECENT, tick=False):
        kept = record_now(comment="recent")
    # A clock stepped back: an old time after a recent one must not be removed alone.
    with time_machine.travel(OLD, tick=False):
        late = record_now(comment="written while the clock was wrong")

    purge()

    assert not AuditEvent.objects.filter(pk=oldest.pk).exists()
    assert AuditEvent.objects.filter(pk__in=[kept.pk, late.pk]).count() == 2
    call_command("verify_audit")
    assert "Audit chain intact" in capsys.readouterr().out.splitlines()[-1]


def test_large_purge_verifies(db, capsys):
    append_chain(5000, first_created=OLD)
    with time_machine.travel(RECENT, tick=False):
        record_now()

    purge()

    assert AuditEvent.objects.count() == 2
    call_command("verify_audit")
    assert "Audit chain intact: 2 events" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.usefixtures("trigger_switched_off")
def test_a_break_elsewhere_than_the_checkpoint_says_is_still_found(history):
    purge()
    first_remaining = history["recent"][0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s",  # noqa: S608
            [first_remaining.pk],
        )

    with pytest.raises(CommandError, match=rf"event #{history['recent'][1].pk}: missing link"):
        call_command("verify_audit")


@on_postgresql
def test_after_a_purge_the_database_refuses_deletes_again(history):
    purge()

    with (
        pytest.raises(DatabaseError, match="DELETE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table}")  # noqa: S608
