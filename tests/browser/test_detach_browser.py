"""Scenario 3 in real browsers: the Operator requests a detach, the Approver (a second browser
context) sees the badge and approves, and both pages follow the ENI to Available without a
reload; polling stops at the final state."""

from __future__ import annotations

import pytest

from eniadmin.ens.emulator.server import EmulatorServer
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulator():
    """Slow enough a detach (3 s) for a person, and a poll, to see it in Detaching."""
    with EmulatorServer(detach_seconds=3, instance_transition_seconds=0.2) as server:
        yield server


def test_request_approve_and_watch_the_eni_detach_live(
    new_page, operator, approver, synced, emulator, worker
):
    eni_id = synced["detach_candidates"][0]
    requester = new_page(operator, f"/detach/new/?eni={eni_id}")
    requester.fill("textarea[name=reason]", "Moving this interface to the new gateway")
    requester.click("button:has-text('Request the detach')")
    requester.wait_for_url("**/detach/requests/*/")  # one ENI: straight to its request
    card = requester.locator("article.detach-card")
    assert "Pending approval" in card.inner_text()

    reviewer = new_page(approver)
    assert reviewer.locator("nav.mainnav .badge").inner_text().strip() == "1"
    reviewer.goto("/detach/review/")
    screenshot(reviewer, "review")
    reviewer.click("button[value=approve]")

    polls: list[str] = []
    requester.on("request", lambda request: polls.append(request.url))
    reviewer.goto(f"/?q={eni_id}")
    requester.wait_for_selector("article.detach-card.status-detaching", timeout=15_000)
    row = reviewer.locator(f"#eni-{eni_id}")
    row.locator("text=Detaching").first.wait_for(timeout=15_000)
    screenshot(reviewer, "detaching")

    requester.wait_for_selector("article.detach-card.status-succeeded", timeout=20_000)
    row.locator("text=Available").first.wait_for(timeout=20_000)
    settled = len(polls)
    requester.wait_for_timeout(4_500)
    assert len(polls) == settled, "no polling after the final state"
    assert len(emulator.control.requests("DetachNetworkInterface")) == 1
