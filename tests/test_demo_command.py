"""The demo command's parts that need no running servers: --reset, the guide, the clean stop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eniadmin.detach import workflow
from eniadmin.inventory.eligibility import detach_blockers, mirror_state
from eniadmin.inventory.models import InstanceStatus, NetworkInterface
from eniadmin.management.commands import demo
from tests.conftest import make_user
from tests.inventory.conftest import sync

SQLITE = "django.db.backends.sqlite3"


def demo_files(var_dir: Path) -> list[Path]:
    files = [var_dir / name for name in ("eniadmin.sqlite3", "eniadmin.sqlite3-wal")]
    files.append(var_dir / "emulator.json")
    for path in files:
        path.write_text("data")
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "database",
    [
        {"ENGINE": "django.db.backends.postgresql", "NAME": "eniadmin"},
        {"ENGINE": SQLITE, "NAME": "/srv/eniadmin/production.sqlite3"},
        {"ENGINE": SQLITE, "NAME": ":memory:"},
    ],
)
def test_reset_refuses_any_database_but_the_demos_own(tmp_path, database):
    files = demo_files(tmp_path)
    with pytest.raises(CommandError, match="nothing was deleted"):
        demo.reset_demo_state(database, tmp_path)
    assert all(path.exists() for path in files)


def test_reset_deletes_the_demo_database_and_the_emulator_fleet(tmp_path):
    files = demo_files(tmp_path)
    kept = tmp_path / "static"
    kept.mkdir()
    database = {"ENGINE": SQLITE, "NAME": str(tmp_path / "eniadmin.sqlite3")}

    deleted = demo.reset_demo_state(database, tmp_path)

    assert sorted(deleted) == sorted(files)
    assert not any(path.exists() for path in files)
    assert kept.exists()
    assert demo.reset_demo_state(database, tmp_path) == [], "nothing left is no error"


def test_the_command_refuses_to_reset_the_test_database(settings, tmp_path):
    """The test database is not var/eniadmin.sqlite3: --reset stops before starting anything."""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    files = demo_files(tmp_path)
    with pytest.raises(CommandError, match="nothing was deleted"):
        call_command("demo", "--reset", port=free_port(), emulator_port=free_port())
    assert all(path.exists() for path in files)


def test_the_command_refuses_a_port_already_taken(settings):
    settings.DEBUG = True
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Port {port} is already in use"):
            call_command("demo", "--reset", port=port, emulator_port=free_port())


@pytest.fixture
def synced(db, ens_client, emulator) -> dict:
    """The demo fleet mirrored, as the demo's worker does first; returns the demo notes."""
    assert sync(ens_client).status == "succeeded"
    return emulator.control.state()["demo_notes"]


def test_the_guide_names_an_eligible_eni_of_the_demo_fleet(synced, emulator):
    eni = demo.first_detachable_eni(emulator.control)
    assert eni is not None
    eni_id, instance_id = eni
    row = NetworkInterface.objects.select_related("instance").get(eni_id=eni_id)
    assert detach_blockers(mirror_state(row)) == []
    assert row.instance.instance_id == instance_id
    assert row.instance.status == InstanceStatus.STOPPED

    passwords = {"operator": "op-secret", "approver": "ap-secret"}
    text = demo.guide(
        url="http://127.0.0.1:8000/",
        passwords=passwords,
        eni=eni,
        emulator_url="http://127.0.0.1:8765",
    )
    assert f"Type {eni_id} in" in text
    assert instance_id in text
    assert f"http://127.0.0.1:8000/enis/{eni_id}/" in text
    assert all(f"{user:<10} {password}" in text for user, password in passwords.items())


def test_an_eni_with_an_open_request_is_not_offered(synced, emulator, ens_client, cloud_settings):
    first, second = synced["detach_candidates"][:2]
    workflow.request_detach(
        eni=NetworkInterface.objects.get(eni_id=first),
        requester=make_user("olga"),
        reason="Already asked for in an earlier demo.",
        client=ens_client,
    )
    assert demo.first_detachable_eni(emulator.control)[0] == second


def test_the_guide_uses_the_labels_the_pages_show(
    client, synced, ens_client, cloud_settings, operator, approver
):
    eni_id = synced["detach_candidates"][0]
    text = demo.guide(url="u/", passwords={}, eni=(eni_id, "i-1"), emulator_url="e")
    guide = " ".join(text.split())  # a label may be wrapped across two lines
    client.force_login(operator)
    pages = {
        "Search id, name or IP": client.get("/"),
        "Detach…": client.get("/"),
        "Request the detach": client.get(f"/detach/new/?eni={eni_id}"),
    }
    eni = NetworkInterface.objects.get(eni_id=eni_id)
    workflow.request_detach(eni=eni, requester=operator, reason="For the guide.", client=ens_client)
    client.force_login(approver)
    pages["Review"] = client.get("/")
    pages["Approve"] = client.get("/detach/review/")
    for label, response in pages.items():
        assert f'"{label}"' in guide
        # The whole text of a label, link or button on the page, not a part of one.
        assert re.search(rf">\s*{re.escape(label)}\s*<", response.content.decode()), label


def test_stop_ends_every_process_even_one_ignoring_sigterm(monkeypatch):
    monkeypatch.setattr(demo, "STOP_SECONDS", 0.5)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    processes = {
        "polite": subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]),
        "stubborn": subprocess.Popen([sys.executable, "-c", stubborn]),  # noqa: S603
    }
    handler = signal.getsignal(signal.SIGINT)

    demo.Command().stop(processes)

    assert all(process.poll() is not None for process in processes.values())
    assert signal.getsignal(signal.SIGINT) is handler, "the handlers are put back"


def test_demo_users_are_kept_and_get_new_passwords(db):
    first = demo.Command().create_demo_users()
    ids = dict(
        demo.get_user_model().objects.filter(username__in=first).values_list("username", "pk")
    )
    second = demo.Command().create_demo_users()
    again = dict(
        demo.get_user_model().objects.filter(username__in=second).values_list("username", "pk")
    )
    assert ids == again and len(ids) == 4
    assert all(first[name] != second[name] for name in first)
