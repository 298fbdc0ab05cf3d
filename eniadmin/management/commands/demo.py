from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from eniadmin.accounts.roles import Role, set_roles

EMULATOR_PORT = 8765
DEMO_USERS = {
    "operator": [Role.OPERATOR],
    "approver": [Role.APPROVER],
    "auditor": [Role.AUDITOR],
    "viewer": [Role.VIEWER],
}


class Command(BaseCommand):
    help = "Start the whole dashboard with demo data on http://127.0.0.1:8000 (make demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-port", type=int, default=EMULATOR_PORT)

    def handle(self, *args: object, **options: object) -> None:
        # Demo users get printed passwords: they must never land in a production database.
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DEBUG=True (make demo sets it).")
        port = int(options["port"])
        emulator_url = f"http://127.0.0.1:{options['emulator_port']}"

        call_command("migrate", interactive=False, verbosity=0)
        passwords = self.create_demo_users()

        manage = str(settings.BASE_DIR / "manage.py")
        # The web server and the worker must share one cloud: one emulator, its fleet kept in
        # var/ so a restart of the demo finds the ENIs where it left them.
        processes = {
            "emulator": subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    manage,
                    "ens_emulator",
                    "--port",
                    str(options["emulator_port"]),
                    "--state-file",
                    str(settings.VAR_DIR / "emulator.json"),
                ],
                stdout=subprocess.DEVNULL,
            ),
        }
        try:
            self.wait_until_up(emulator_url + "/_emulator/state", processes["emulator"])
        except CommandError:
            self.stop(processes)
            raise
        cloud = {
            **os.environ,
            "ENS_ENDPOINT": emulator_url,
            "ENS_ACCESS_KEY_ID": "demo",
            "ENS_ACCESS_KEY_SECRET": "demo-secret",
        }
        # The worker's first loop finds no sync yet and queues one, so the list fills at once.
        processes["worker"] = subprocess.Popen(  # noqa: S603
            [sys.executable, manage, "run_worker"], env=cloud
        )
        processes["web"] = subprocess.Popen(  # noqa: S603
            [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=cloud
        )

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"eniadmin demo: http://127.0.0.1:{port}/"))
        self.stdout.write("Log in as any of these (new passwords on every start):")
        for username, password in passwords.items():
            roles = ", ".join(role.label for role in DEMO_USERS[username])
            self.stdout.write(f"  {username:<10} {password:<16} {roles}")
        self.stdout.write(f"The ENS emulator answers at {emulator_url} (key demo / demo-secret).")
        self.stdout.write("Ctrl-C stops everything.\n")
        self.supervise(processes)

    def create_demo_users(self) -> dict[str, str]:
        User = get_user_model()
        passwords = {}
        with transaction.atomic():
            for username, roles in DEMO_USERS.items():
                user, _ = User.objects.get_or_create(username=username)
                passwords[username] = secrets.token_urlsafe(9)
                user.set_password(passwords[username])
                user.save()
                set_roles(user, roles)
        return passwords

    def supervise(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        """Run until Ctrl-C, SIGTERM or one process dies; then stop the others."""

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # Explicit handlers: a shell that starts us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        try:
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        raise CommandError(f"The {name} process exited ({process.returncode}).")
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self.stop(processes)

    def stop(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def wait_until_up(self, url: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(
                    f"The ENS emulator exited ({process.returncode}); is its port already taken?"
                )
            try:
                requests.get(url, timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise CommandError(f"The ENS emulator did not answer at {url} within 30 s.")
