"""Scenarios 4 and 5 in a real browser: nobody approves their own request; a drifted request is
voided with the difference shown; an injected NoPermission and a stuck ENI show their operator
sentences."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from eniadmin.accounts.roles import Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)
REASON = "Moving this interface to the new gateway"


def request_detach(page, eni_id: str) -> str:
    """Ask for a detach from the browser; returns the request page's path."""
    page.goto(f"/detach/new/?eni={eni_id}")
    page.fill("textarea[name=reason]", REASON)
    page.click("button:has-text('Request the detach')")
    page.wait_for_url("**/detach/requests/*/")
    return urlsplit(page.url).path


def test_an_operator_and_approver_cannot_approve_their_own_request(
    new_page, synced, cloud_settings
):
    both = make_user("bertha", Role.OPERATOR, Role.APPROVER)
    page = new_page(both)
    request_detach(page, synced["detach_candidates"][0])
    assert page.locator("button[value=approve]").count() == 0
    assert "another Approver decides on it" in page.inner_text("main")
    page.goto("/detach/review/")
    assert page.locator("button[value=approve]").count() == 0


def test_a_drifted_request_is_voided_with_the_difference_shown(
    new_page, operator, approver, synced, emulator, cloud_settings
):
    candidate = synced["detach_candidates"][0]
    request_detach(new_page(operator), candidate)
    instance_id = emulator.control.eni(candidate)["instance_id"]
    emulator.control.set_instance_status(instance_id, "Running")

    page = new_page(approver, "/detach/review/")
    assert "approving will void it" in page.inner_text("main")
    diff = page.locator("table.diff").inner_text()
    assert "Stopped" in diff and "Running" in diff
    page.click("button[value=approve]")
    page.locator("text=Voided").first.wait_for()
    assert len(emulator.control.requests("DetachNetworkInterface")) == 0


def test_no_permission_shows_its_operator_sentence(
    new_page, operator, approver, synced, emulator, worker
):
    emulator.control.set_faults([{"kind": "no_permission", "action": "DetachNetworkInterface"}])
    page = new_page(operator)
    path = request_detach(page, synced["detach_candidates"][0])
    new_page(approver, "/detach/review/").click("button[value=approve]")
    page.goto(path)
    page.wait_for_selector("article.detach-card.status-failed", timeout=20_000)
    text = page.inner_text("main")
    assert "ens:DetachNetworkInterface" in text
    assert "NoPermission" in text


def test_a_stuck_eni_shows_the_documented_remedy(
    new_page, operator, approver, synced, emulator, worker, settings
):
    settings.DETACH_STUCK_AFTER = 1
    page = new_page(operator)
    path = request_detach(page, synced["stuck_on_detach"][0])
    new_page(approver, "/detach/review/").click("button[value=approve]")
    page.goto(path)
    page.wait_for_selector("article.detach-card.status-stuck", timeout=20_000)
    assert "issue the detach again, then restart the instance" in page.inner_text("main")
