from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

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


def test_sync_inventory_names_every_missing_setting(db, settings):
    settings.ENS_ENDPOINT = ""
    settings.ENS_ACCESS_KEY_SECRET = ""
    with pytest.raises(CommandError) as raised:
        call_command("sync_inventory")
    assert "ENS_ENDPOINT" in str(raised.value) and "ENS_ACCESS_KEY_SECRET" in str(raised.value)
