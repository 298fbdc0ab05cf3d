"""Audit events as CSV or JSON, produced chunk by chunk so that no export holds the table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from eniadmin.audit.models import AuditEventQuerySet

EXPORT_FIELDS = (
    "id",
    "created",
    "actor_name",
    "on_behalf_of_name",
    "action",
    "eni_id",
    "instance_id",
    "region_id",
    "request_id",
    "outcome",
    "comment",
    "client_ip",
    "user_agent",
    "correlation_id",
    "before",
    "after",
    "previous_hash",
    "hash",
)
ROWS_PER_CHUNK = 1000
# Spreadsheets run a cell starting with these as a formula; comments are typed by users.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def exported_rows(events: AuditEventQuerySet) -> Iterator[dict[str, Any]]:
    """The events as plain dicts, fetched in chunks: no model instances, no whole-table list."""
    for row in events.values(*EXPORT_FIELDS).iterator(chunk_size=ROWS_PER_CHUNK):
        row["created"] = row["created"].astimezone(UTC).isoformat(timespec="microseconds")
        row["correlation_id"] = str(row["correlation_id"])
        yield row


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(value) for value in row.values()])
        if count % ROWS_PER_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def json_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON array, one event object per line."""
    buffer = io.StringIO()
    buffer.write("[")
    for count, row in enumerate(rows, start=1):
        buffer.write("\n" if count == 1 else ",\n")
        buffer.write(json.dumps(row, ensure_ascii=False))
        if count % ROWS_PER_CHUNK == 0:
            yield _drain(buffer)
    buffer.write("\n]\n")
    yield _drain(buffer)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
