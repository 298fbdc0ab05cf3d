from __future__ import annotations

import pytest

from eniadmin.inventory.models import SyncRun
from eniadmin.inventory.sync import run_sync, start_foreground_sync


def sync(client) -> SyncRun:
    return run_sync(start_foreground_sync(), client)


@pytest.fixture
def synced(db, ens_client, emulator):
    """The demo fleet mirrored into the database."""
    run = sync(ens_client)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return emulator.control.state()["demo_notes"]
