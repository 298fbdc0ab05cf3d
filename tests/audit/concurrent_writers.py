"""Append audit events from several threads at once, then verify the chain.

Run as `python -m tests.audit.concurrent_writers WRITERS EVENTS_PER_WRITER` with DATABASE_URL
naming an empty SQLite file: test_concurrency.py starts it in a subprocess, because the
in-memory test database cannot be shared by threads that wait for each other's locks.
"""

from __future__ import annotations

import os
import sys
import threading


def main(writers: int, events_per_writer: int) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tests.audit.conftest import record_now

    call_command("migrate", verbosity=0)
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def append_events(writer: int) -> None:
        try:
            start.wait()
            for number in range(events_per_writer):
                record_now(comment=f"writer {writer} event {number}")
        except BaseException as error:  # reported below, after every thread ended
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append_events, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"{len(failures)} writers failed, the first with: {failures[0]!r}", file=sys.stderr)
        return 1
    call_command("verify_audit")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
