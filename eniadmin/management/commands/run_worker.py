from __future__ import annotations

import contextlib
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import EnsConfigurationError
from eniadmin.worker import Worker


class Command(BaseCommand):
    help = (
        "Run the background worker until SIGTERM, SIGHUP or Ctrl-C: approved detaches, and "
        "periodic and requested inventory syncs. Run as many as you like, on as many "
        "machines; they share the database queue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tick", type=float, default=2.0, help="Seconds to sleep when there is no work."
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            client = EnsClient.from_settings(settings)
        except EnsConfigurationError as error:
            raise CommandError(str(error)) from None
        worker = Worker(client)

        def stop(signum: int, frame: object) -> None:
            worker.stop()
            self._say("Stopping after the current step…")

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # A closing terminal stops it as cleanly, unless it was started to outlive the terminal
        # (nohup sets SIGHUP aside).
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            signal.signal(signal.SIGHUP, stop)
        self.stdout.write(f"Worker {worker.name} started; ENS at {client.endpoint}.")
        worker.run(tick=float(options["tick"]))
        self._say(f"Worker {worker.name} stopped.")

    def _say(self, message: str) -> None:
        # After SIGHUP the terminal may be gone, and writing to it fails: stopping must not.
        with contextlib.suppress(OSError):
            self.stdout.write(message)
            self.stdout.flush()
