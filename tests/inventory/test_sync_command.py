from __future__ import annotations

import os
import signal

import pytest
from django.core.management import CommandError, call_command

from eniadmin.inventory.management.commands import sync_inventory
from eniadmin.inventory.models import Instance, SyncRun


def test_sync_inventory_runs_in_the_foreground_with_progress(db, cloud_settings, capsys):
    call_command("sync_inventory")
    out = capsys.readouterr().out
    assert "pages 1/" in out
    assert "done: 2 pages; instances +24" in out
    assert Instance.objects.count() == 24
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.COMMAND


def test_sync_inventory_reports_a_failure_with_its_code(db, cloud_settings, emulator):
    emulator.control.add_key("readonly", "readonly-secret", deny=["DescribeInstances"])
    cloud_settings.ENS_ACCESS_KEY_ID = "readonly"
    cloud_settings.ENS_ACCESS_KEY_SECRET = "readonly-secret"
    with pytest.raises(CommandError, match="NoPermission"):
        call_command("sync_inventory")
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_ctrl_c_stops_sync_inventory_after_the_page_in_hand(db, cloud_settings, emulator):
    emulator.control.reset(instances=250)
    command = sync_inventory.Command()
    interrupt_once = command.show_progress

    def show_progress_then_ctrl_c(run: SyncRun) -> None:
        interrupt_once(run)
        if run.pages_done == 1:
            os.kill(os.getpid(), signal.SIGINT)

    command.show_progress = show_progress_then_ctrl_c  # type: ignore[method-assign]
    with pytest.raises(CommandError, match=r"failed after 1 pages: The sync was stopped"):
        call_command(command)
    run = SyncRun.objects.get()
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "WorkerStopped")
    assert Instance.objects.count() == 100, "the page in hand is kept"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sync_inventory_names_every_missing_setting(db, settings):
    settings.ENS_ENDPOINT = ""
    settings.ENS_ACCESS_KEY_SECRET = ""
    with pytest.raises(CommandError) as raised:
        call_command("sync_inventory")
    assert "ENS_ENDPOINT" in str(raised.value) and "ENS_ACCESS_KEY_SECRET" in str(raised.value)
