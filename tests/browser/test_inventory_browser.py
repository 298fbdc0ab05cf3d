"""Scenarios 1 and 2 in a real browser: each role sees the fleet; filters and search update the
URL; ineligible ENIs show a disabled Detach with the reason in words."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from eniadmin.accounts.roles import Role
from eniadmin.inventory.models import Instance
from tests.browser.conftest import screenshot
from tests.conftest import make_user

# The live server reads the database from another thread: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_query(page, text: str) -> None:
    """htmx pushes the URL with history.pushState, which fires no load event to wait for.

    Checked in Python: page.wait_for_function would evaluate a string, which the CSP forbids.
    """
    page.wait_for_url(lambda url: text in urlsplit(url).query)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_and_sees_instances_with_nested_enis(new_page, synced, role):
    user = make_user(f"browser-{role.value}", role)
    page = new_page(user)
    assert page.locator(".whoami .badge-role").inner_text() == role.label
    assert page.locator("tr.instance-row").count() == 24
    candidate = synced["detach_candidates"][0]
    row = page.locator(f"#eni-{candidate}")
    assert row.is_visible()
    group = page.locator("tbody.instance-group", has=row)
    assert group.locator("tr.instance-row").count() == 1
    if role is Role.OPERATOR:
        screenshot(page, "list")


def test_filters_and_search_update_the_url_and_the_table(new_page, operator, synced):
    page = new_page(operator)
    page.select_option("select[name=status]", "Stopped")
    wait_for_query(page, "status=Stopped")
    stopped = Instance.objects.filter(status="Stopped").count()
    expect(page.locator("tr.instance-row")).to_have_count(stopped)

    candidate = synced["detach_candidates"][0]
    page.fill("input[name=q]", candidate)
    wait_for_query(page, f"q={candidate}")
    expect(page.locator("tr.instance-row")).to_have_count(1)
    assert page.locator(f"#eni-{candidate}").is_visible()

    page.go_back()
    page.wait_for_url(lambda url: "q=eni" not in urlsplit(url).query)
    assert "status=Stopped" in page.url


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("primary_on_stopped_instance", "primary network interface, which cannot be detached"),
        ("secondary_on_running_instance", "Its instance is Running; it must be Stopped."),
    ],
)
def test_an_ineligible_eni_shows_a_disabled_detach_with_the_reason(
    new_page, operator, synced, note, reason
):
    page = new_page(operator)
    row = page.locator(f"#eni-{synced[note][0]}")
    control = row.locator("[aria-disabled=true]")
    assert control.count() == 1
    described_by = control.get_attribute("aria-describedby")
    assert reason in page.locator(f"#{described_by}").inner_text()
    assert reason in row.inner_text(), "the reason is visible, not only in a tooltip"


def test_an_available_eni_shows_its_status_as_the_reason(new_page, operator, synced):
    page = new_page(operator)
    available = synced["attach_candidates"][0]["network_interface_id"]
    assert (
        "Its status is Available; it must be InUse."
        in page.locator(f"#eni-{available}").inner_text()
    )
