"""Several writers appending at once still build one chain, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from eniadmin.audit.models import AuditEvent
from tests.audit.conftest import record_now

WRITERS = 6
EVENTS_PER_WRITER = 15
TOTAL = WRITERS * EVENTS_PER_WRITER


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain(capsys):
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def append_events(writer: int) -> None:
        try:
            start.wait()
            for number in range(EVENTS_PER_WRITER):
                record_now(comment=f"writer {writer} event {number}")
        except BaseException as error:  # reported by the main thread below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append_events, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    links = list(AuditEvent.objects.order_by("id").values_list("previous_hash", "hash"))
    assert len(links) == TOTAL
    assert [previous for previous, _ in links[1:]] == [current for _, current in links[:-1]]
    call_command("verify_audit")
    assert f"Audit chain intact: {TOTAL} events" in capsys.readouterr().out
