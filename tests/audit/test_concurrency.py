"""Several writers appending at once still build one chain, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from eniadmin.audit.models import AuditEvent
from tests.audit.conftest import record_now

WRITERS = 6
EVENTS_PER_WRITER = 15
TOTAL = WRITERS * EVENTS_PER_WRITER

# Threads sharing the in-memory test database hit SQLite's shared-cache table locks, which fail
# at once instead of waiting; the file-database test below covers SQLite instead.
in_memory_sqlite = connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.mark.skipif(in_memory_sqlite, reason="threads cannot share in-memory SQLite")
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


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_concurrent_appends_to_a_sqlite_file_keep_one_chain(tmp_path):
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    finished = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "tests.audit.concurrent_writers",
            str(WRITERS),
            str(EVENTS_PER_WRITER),
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert f"Audit chain intact: {TOTAL} events" in finished.stdout
