"""Scenario 6 in a real browser: the Auditor reads an ENI's timeline and downloads the CSV
export, and the chain still verifies afterwards."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.conftest import screenshot
from tests.inventory.conftest import sync

# The live server reads the database from another thread: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_auditor_reads_the_timeline_and_downloads_the_export(
    new_page, auditor, synced, ens_client, emulator, capsys
):
    eni_id = synced["detach_candidates"][0]
    emulator.control.change_eni(eni_id, status="Available")
    sync(ens_client)

    page = new_page(auditor, f"/enis/{eni_id}/")
    timeline = page.locator("section.timeline")
    assert "Changed outside eniadmin" in timeline.inner_text()
    assert "The inventory sync saw this eni change in ENS." in timeline.inner_text()
    screenshot(page, "timeline")

    page.goto(f"/audit/?eni={eni_id}")
    with page.expect_download() as download:
        page.click("a[href^='/audit/export.csv']")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert any(row.get("eni_id") == eni_id for row in rows), rows[:1]

    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out.lower()
