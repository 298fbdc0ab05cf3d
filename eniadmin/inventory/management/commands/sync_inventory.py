from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eniadmin.audit.context import job_context
from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import EnsConfigurationError
from eniadmin.inventory.models import SyncRun
from eniadmin.inventory.sync import SyncAlreadyRunning, run_sync, start_foreground_sync


class Command(BaseCommand):
    help = "Sync instances and ENIs from ENS into the database now, in the foreground."

    def handle(self, *args: object, **options: object) -> None:
        try:
            client = EnsClient.from_settings(settings)
        except EnsConfigurationError as error:
            raise CommandError(str(error)) from None
        # Ctrl-C stops the sync after the page in hand, so its run is recorded as stopped
        # rather than left running until declared lost; a second Ctrl-C stops it at once.
        stopping = threading.Event()
        with job_context("sync_inventory"), _on_ctrl_c(functools.partial(self.stop, stopping)):
            try:
                run = start_foreground_sync()
            except SyncAlreadyRunning as running:
                raise CommandError(str(running)) from None
            run = run_sync(
                run,
                client,
                on_progress=self.show_progress,
                should_stop=stopping.is_set,
            )
        self.stdout.write("")
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(
                f"Sync #{run.pk} failed after {run.pages_done} pages: {run.error_message} "
                f"({run.error_code}, RequestId {run.error_request_id or 'none'})"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Sync #{run.pk} done: {run.pages_done} pages; instances "
                f"+{run.instances_created} ~{run.instances_updated} -{run.instances_gone}; ENIs "
                f"+{run.enis_created} ~{run.enis_updated} -{run.enis_gone}."
            )
        )

    def stop(self, stopping: threading.Event, *signal_args: object) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()
        self.stderr.write("\nStopping after this page (Ctrl-C again to stop at once)…")

    def show_progress(self, run: SyncRun) -> None:
        self.stdout.write(
            f"\rpages {run.pages_done}/{run.pages_expected or '?'} ({run.percent_done}%)",
            ending="",
        )
        self.stdout.flush()


@contextmanager
def _on_ctrl_c(handler: Callable[..., None]) -> Iterator[None]:
    """SIGINT goes to `handler` in the block (only the main thread may set it, as when run
    from a shell), and back to what it was after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
