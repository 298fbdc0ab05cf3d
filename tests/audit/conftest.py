"""Builders for audit tests: events written the real way, and fast chains for volume tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction

from eniadmin.audit.chain import hash_of
from eniadmin.audit.events import record
from eniadmin.audit.models import Action, AuditEvent

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only: the append-only trigger"
)


@pytest.fixture
def trigger_switched_off(db) -> None:
    """Tamper as a database superuser could: with PostgreSQL's append-only trigger disabled.

    The ALTER TABLE is rolled back with the test's transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {AuditEvent._meta.db_table} "
                "DISABLE TRIGGER audit_auditevent_append_only"
            )


def record_now(action: Action = Action.SYNC_REQUESTED, **fields: Any) -> AuditEvent:
    with transaction.atomic():
        return record(action, **fields)


def append_chain(
    count: int,
    *,
    first_created: datetime,
    spacing: timedelta = timedelta(seconds=1),
    action: Action = Action.ENI_STATE_OBSERVED,
) -> None:
    """Append `count` valid, chained events in one statement (COPY, or executemany on SQLite).

    Only volume tests use this: it skips record() and model instances to stay fast, but builds
    the same hashes and column values, so verify_audit accepts the result.
    """
    columns = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
    defaults = {field.attname: field.get_default() for field in columns}
    # Preparing values for the database is the slow part: do it once for the shared ones, and
    # by hand for the two per-row values that need it.
    prepared_defaults = {
        field.attname: field.get_db_prep_save(defaults[field.attname], connection)
        for field in columns
    }
    native_uuid = connection.features.has_native_uuid_field
    tip = AuditEvent.objects.newest_first().values_list("hash", flat=True).first() or ""
    rows = []
    for number in range(count):
        varying = {
            "created": first_created + number * spacing,
            "actor_name": "bulk",
            "action": action.value,
            "eni_id": f"eni-bulk{number:06d}",
            "comment": f"bulk event {number}",
            "correlation_id": uuid.uuid4(),
            "previous_hash": tip,
        }
        varying["hash"] = tip = hash_of(SimpleNamespace(**(defaults | varying)))
        prepared = prepared_defaults | varying
        prepared["created"] = connection.ops.adapt_datetimefield_value(varying["created"])
        if not native_uuid:
            prepared["correlation_id"] = varying["correlation_id"].hex
        rows.append([prepared[field.attname] for field in columns])

    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django binds parameters on the client, too slowly for this many rows: use COPY.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            insert = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(insert, rows)
