from __future__ import annotations

import os
import signal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

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


def test_sync_inventory_refuses_while_another_sync_runs_and_says_which(db, cloud_settings):
    running = SyncRun.objects.create(
        status=SyncRun.Status.RUNNING, claimed_by="worker-a", progressed_at=timezone.now()
    )
    with pytest.raises(CommandError, match=f"Sync #{running.pk} is running \\(worker-a"):
        call_command("sync_inventory")
    assert SyncRun.objects.count() == 1


def test_sync_inventory_takes_over_from_a_lost_sync(db, cloud_settings, capsys):
    lost = SyncRun.objects.create(
        status=SyncRun.Status.RUNNING,
        claimed_by="killed",
        progressed_at=timezone.now() - timezone.timedelta(minutes=10),
    )
    call_command("sync_inventory")
    assert "done: 2 pages" in capsys.readouterr().out
    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == (SyncRun.Status.FAILED, "WorkerLost")


def not_for_the_test_run(signum: int, frame: object) -> None:
    pytest.fail("SIGINT reached the handler that was there before the command")


@pytest.fixture
def guarded_sigint():
    """A handler of our own for SIGINT during the test: the command must put it back."""
    previous = signal.signal(signal.SIGINT, not_for_the_test_run)
    yield
    assert signal.getsignal(signal.SIGINT) is not_for_the_test_run
    signal.signal(signal.SIGINT, previous)


def ctrl_c_after_pages(*pages: int) -> sync_inventory.Command:
    command = sync_inventory.Command()
    show_progress = command.show_progress

    def show_progress_then_ctrl_c(run: SyncRun) -> None:
        show_progress(run)
        if run.pages_done in pages:
            os.kill(os.getpid(), signal.SIGINT)

    command.show_progress = show_progress_then_ctrl_c  # type: ignore[method-assign]
    return command


def test_ctrl_c_stops_sync_inventory_after_the_page_in_hand(
    db, cloud_settings, emulator, guarded_sigint
):
    emulator.control.reset(instances=250)
    with pytest.raises(CommandError, match=r"failed after 1 pages: The sync was stopped"):
        call_command(ctrl_c_after_pages(1))
    run = SyncRun.objects.get()
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "WorkerStopped")
    assert Instance.objects.count() == 100, "the page in hand is kept"


def test_a_second_ctrl_c_stops_sync_inventory_at_once_and_records_it(
    db, cloud_settings, emulator, guarded_sigint
):
    emulator.control.reset(instances=250)
    command = ctrl_c_after_pages(1)
    stop = command.stop

    def twice(stopping, *signal_args):  # the second press arrives before the next page
        stop(stopping, *signal_args)
        stop(stopping, *signal_args)

    command.stop = twice  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        call_command(command)
    run = SyncRun.objects.get()
    assert (run.status, run.error_code) == (SyncRun.Status.FAILED, "WorkerStopped")


def test_sync_inventory_names_every_missing_setting(db, settings):
    settings.ENS_ENDPOINT = ""
    settings.ENS_ACCESS_KEY_SECRET = ""
    with pytest.raises(CommandError) as raised:
        call_command("sync_inventory")
    assert "ENS_ENDPOINT" in str(raised.value) and "ENS_ACCESS_KEY_SECRET" in str(raised.value)
