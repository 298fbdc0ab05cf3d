from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, transaction

from eniadmin.accounts.roles import Role, set_roles
from eniadmin.detach.models import DetachRequest
from eniadmin.ens.emulator.control import EmulatorControl
from eniadmin.inventory.models import SyncRun

EMULATOR_PORT = 8765
DEMO_DATABASE = "eniadmin.sqlite3"
EMULATOR_STATE = "emulator.json"
DEMO_USERS = {
    "operator": [Role.OPERATOR],
    "approver": [Role.APPROVER],
    "auditor": [Role.AUDITOR],
    "viewer": [Role.VIEWER],
}
STARTUP_SECONDS = 30
FIRST_SYNC_SECONDS = 60
STOP_SECONDS = 10  # then a process that ignored SIGTERM is killed

Processes = dict[str, subprocess.Popen[bytes]]


def demo_database_file(database: Mapping[str, Any], var_dir: Path) -> Path:
    """The demo's own SQLite file; CommandError for any other database, which --reset must not
    touch: a DATABASE_URL may well point at someone's real data."""
    own = (var_dir / DEMO_DATABASE).resolve()
    engine = str(database.get("ENGINE", ""))
    name = str(database.get("NAME", ""))
    if engine.endswith("sqlite3") and name and Path(name).resolve() == own:
        return own
    raise CommandError(
        f"--reset deletes only the demo's own database, {own}; DATABASE_URL points at "
        f"{engine.rsplit('.', 1)[-1]} database {name!r} instead, so nothing was deleted. "
        "Unset DATABASE_URL to reset the demo."
    )


def reset_demo_state(database: Mapping[str, Any], var_dir: Path) -> list[Path]:
    """Delete the demo's database (with SQLite's side files) and the emulator's fleet.

    Refuses, deleting nothing, unless the database is the demo's own file. Returns what it
    deleted.
    """
    database_file = demo_database_file(database, var_dir)
    files = [database_file]
    files += [database_file.with_name(database_file.name + end) for end in ("-wal", "-shm")]
    files.append(var_dir / EMULATOR_STATE)
    deleted = []
    for path in files:
        if path.exists():
            path.unlink()
            deleted.append(path)
    return deleted


def ports_in_use(ports: Iterable[int], host: str = "127.0.0.1") -> list[int]:
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # Lets a port in TIME_WAIT count as free, as the servers themselves will see it.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def first_detachable_eni(control: EmulatorControl) -> tuple[str, str] | None:
    """A Secondary InUse ENI of a Stopped instance, neither service-managed nor one that gets
    stuck, as the emulator has it now, with no open request in the dashboard: (ENI id,
    instance id), or None once earlier demo runs used them all."""
    candidates = control.state()["demo_notes"]["detach_candidates"]
    taken = set(
        DetachRequest.objects.open().filter(eni_id__in=candidates).values_list("eni_id", flat=True)
    )
    for eni_id in candidates:
        if eni_id not in taken:
            return eni_id, control.eni(eni_id)["instance_id"]
    return None


def guide(
    *,
    url: str,
    passwords: Mapping[str, str],
    eni: tuple[str, str] | None,
    emulator_url: str,
) -> str:
    """What the demo prints once everything is up: where, who, and what to click first."""
    lines = [f"eniadmin demo: {url}", "", "Log in as any of these (new passwords on every start):"]
    for username, password in passwords.items():
        roles = ", ".join(role.label for role in DEMO_USERS[username])
        lines.append(f"  {username:<10} {password:<16} {roles}")
    if eni:
        eni_id, instance_id = eni
        pick = (
            f'Type {eni_id} in "Search id, name or IP": a Secondary ENI, InUse, on the Stopped '
            f'instance {instance_id}. Press "Detach…" on its row'
        )
        audit = f"open {url}enis/{eni_id}/: its timeline shows"
    else:
        eni_id = "the ENI"
        pick = (
            'On a Stopped instance, find a Secondary ENI whose "Detach…" is not greyed out (make '
            "demo-reset brings the whole fleet back) and press it"
        )
        audit = "click the ENI's id in the list: its timeline shows"
    steps = [
        f'Log in as operator. {pick}, write a reason and press "Request the detach".',
        'In another browser or a private window, log in as approver, open "Review" and '
        'press "Approve".',
        f"Watch {eni_id} go Detaching → Available: the request and its row in the list update "
        "by themselves.",
        f"Log in as auditor and {audit} who did what, and when.",
    ]
    lines += ["", "What to click first:"]
    for number, step in enumerate(steps, start=1):
        lines += textwrap.wrap(
            step, width=96, initial_indent=f"  {number}. ", subsequent_indent="     "
        )
    lines += [
        "",
        f"The ENS emulator answers at {emulator_url} (key demo / demo-secret).",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Start the whole dashboard with demo data on http://127.0.0.1:8000 (make demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-port", type=int, default=EMULATOR_PORT)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="start from scratch: delete the demo's SQLite database and the emulator's fleet",
        )

    def handle(self, *args: object, **options: object) -> None:
        # Demo users get printed passwords: they must never land in a production database.
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DEBUG=True (make demo sets it).")
        port = int(options["port"])
        emulator_port = int(options["emulator_port"])
        url = f"http://127.0.0.1:{port}/"
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        # Checked before anything is deleted: a busy port is most likely a demo still running.
        if busy := ports_in_use([port, emulator_port]):
            taken = "Ports {} and {} are".format(*busy) if len(busy) == 2 else f"Port {busy[0]} is"
            raise CommandError(
                f"{taken} already in use: is a demo still running? Stop it first, or choose "
                "other ports with --port and --emulator-port."
            )
        if options["reset"]:
            database = settings.DATABASES["default"]
            demo_database_file(database, settings.VAR_DIR)  # refuses before anything is closed
            connections.close_all()
            deleted = reset_demo_state(database, settings.VAR_DIR)
            names = ", ".join(str(path) for path in deleted) or "nothing was there yet"
            self.stdout.write(f"Starting from scratch; deleted {names}.")

        # Explicit handlers: a shell that starts us in the background leaves SIGINT ignored.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.interrupt)
        processes: Processes = {}
        try:
            call_command("migrate", interactive=False, verbosity=0)
            passwords = self.create_demo_users()
            self.start_all(processes, port=port, emulator_port=emulator_port)
            self.wait_for_first_sync(processes)
            eni = first_detachable_eni(EmulatorControl(emulator_url))
            self.stdout.write("")
            self.stdout.write(
                guide(url=url, passwords=passwords, eni=eni, emulator_url=emulator_url)
            )
            self.stdout.flush()
            self.supervise(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self.stop(processes)

    def interrupt(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def start_all(self, processes: Processes, *, port: int, emulator_port: int) -> None:
        """The emulator, then the worker and the web server pointed at it; each process goes
        into `processes` as soon as it is started, so whatever happens it gets stopped."""
        manage = str(settings.BASE_DIR / "manage.py")
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        # The web server and the worker must share one cloud: one emulator, its fleet kept in
        # var/ so a restart of the demo finds the ENIs where it left them.
        processes["emulator"] = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                manage,
                "ens_emulator",
                "--port",
                str(emulator_port),
                "--state-file",
                str(settings.VAR_DIR / EMULATOR_STATE),
            ],
            stdout=subprocess.DEVNULL,
        )
        self.wait_for(emulator_url + "/_emulator/state", "The ENS emulator", processes)
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
        self.wait_for(f"http://127.0.0.1:{port}/healthz", "The web server", processes)

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

    def supervise(self, processes: Processes) -> None:
        """Run until Ctrl-C, SIGTERM or one process dies."""
        while True:
            self.check_alive(processes)
            time.sleep(0.5)

    def check_alive(self, processes: Processes) -> None:
        for name, process in processes.items():
            if process.poll() is not None:
                raise CommandError(f"The {name} process exited ({process.returncode}).")

    def stop(self, processes: Processes) -> None:
        # A second Ctrl-C must not cut the clean-up short and leave a process behind.
        previous = {
            signum: signal.signal(signum, signal.SIG_IGN)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def wait_for(self, url: str, name: str, processes: Processes) -> None:
        def answers() -> bool:
            try:
                return requests.get(url, timeout=1).ok
            except requests.RequestException:
                return False

        if not self.wait_until(answers, processes, STARTUP_SECONDS):
            raise CommandError(f"{name} did not answer at {url} within {STARTUP_SECONDS} s.")

    def wait_for_first_sync(self, processes: Processes) -> None:
        """Until the list has something to show: the worker's first sync of a new database
        takes a few seconds; a kept database has one already."""

        def synced() -> bool:
            return SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exists()

        if not self.wait_until(synced, processes, FIRST_SYNC_SECONDS):
            self.stdout.write(
                self.style.WARNING(
                    f"The first inventory sync has not finished within {FIRST_SYNC_SECONDS} s; "
                    "the list fills once it does (the worker's log above says why not)."
                )
            )

    def wait_until(
        self, condition: Callable[[], bool], processes: Processes, seconds: float
    ) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_alive(processes)
            if condition():
                return True
            time.sleep(0.2)
        return False
