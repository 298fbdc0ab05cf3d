from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eniadmin.ens.emulator.server import add_arguments, options_from_arguments, serve


class Command(BaseCommand):
    help = "Run the ENS OpenAPI emulator until Ctrl-C or SIGTERM (see docs/emulator.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        try:
            emulator_options = options_from_arguments(options)
        except ValueError as error:
            raise CommandError(str(error)) from None
        try:
            serve(emulator_options, announce=self.announce)
        except OSError as error:
            address = f"{emulator_options.host}:{emulator_options.port}"
            raise CommandError(f"Cannot serve on {address}: {error}") from None

    def announce(self, line: str) -> None:
        # Flushed at once: whoever started us (a script, a test) waits for the URL.
        self.stdout.write(line)
        self.stdout.flush()
