"""Scenario 7 in a real browser: the whole detach flow with the keyboard alone (Tab, typing,
Enter), with a visible focus ring on every control that gets focus on the way."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from eniadmin.ens.emulator.server import EmulatorServer
from eniadmin.inventory.models import NetworkInterface

pytestmark = pytest.mark.django_db(transaction=True)
REASON = "Moving this interface to the new gateway"

# What has focus, whether it matches the selector, and whether its focus ring is drawn: the
# :focus-visible rule must give it a real outline (or a box-shadow), not only :focus.
FOCUS_STATE = """(selector) => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return {onBody: true, matches: false, visible: false, label: "<body>"};
  }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "none" && style.boxShadow !== "";
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
  let label = el.tagName.toLowerCase();
  for (const name of ["id", "name", "type", "href", "value", "aria-disabled"]) {
    if (el.hasAttribute(name)) label += `[${name}=${el.getAttribute(name)}]`;
  }
  return {
    onBody: false,
    matches: el.matches(selector),
    visible: el.matches(":focus-visible") && (outline || shadow),
    label: `${label} "${text.slice(0, 40)}"`,
    style: `outline ${style.outlineStyle} ${style.outlineWidth}, box-shadow ${style.boxShadow}`,
  };
}"""


def focus_state(page, selector: str = "*") -> dict:
    return page.evaluate(FOCUS_STATE, selector)


def tab_to(page, selector: str, *, limit: int = 400, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches the selector; no press when
    it already does (the login form's autofocus).

    Every control passed on the way must show its focus ring too. Fails naming what got focus.
    """
    key = "Shift+Tab" if backwards else "Tab"
    stops: list[str] = []
    for presses in range(limit + 1):
        if presses:
            page.keyboard.press(key)
        state = focus_state(page, selector)
        stops.append(state["label"])
        if not state["onBody"] and not state["visible"]:
            pytest.fail(f"focus is not visible on {state['label']} ({state['style']})")
        if state["matches"]:
            return
        if state["onBody"] and presses:
            break  # past the last control of the page
    shown = "\n  ".join(stops[-25:])
    pytest.fail(
        f"{selector!r} never got focus in {len(stops) - 1} presses of {key}; last stops:\n  {shown}"
    )


def keyboard_login(page, user) -> None:
    page.goto("/login/")
    tab_to(page, "input[name=username]")
    page.keyboard.type(user.username)
    tab_to(page, "input[name=password]")
    page.keyboard.type(f"{user.username}-pass-4829")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def precedes(page, first: str, second: str) -> bool:
    """Whether the first selector's element comes before the second in document order."""
    return page.evaluate(
        """([a, b]) => Boolean(document.querySelector(a).compareDocumentPosition(
             document.querySelector(b)) & Node.DOCUMENT_POSITION_FOLLOWING)""",
        [first, second],
    )


@pytest.fixture
def emulator():
    """A detach slow enough (1 s) to be seen moving, quick enough for a test."""
    with EmulatorServer(detach_seconds=1, instance_transition_seconds=0.2) as server:
        yield server


@pytest.fixture
def keyboard_page(new_context):
    """A page in a fresh context, not logged in: the test logs in by keyboard."""
    return lambda: new_context().new_page()


def test_the_detach_flow_works_with_the_keyboard_alone(
    keyboard_page, operator, approver, synced, emulator, worker
):
    eni_id = synced["detach_candidates"][0]
    detach = f"a.detach[href$='eni={eni_id}']"
    disabled = f"#eni-{synced['primary_on_stopped_instance'][0]} button[aria-disabled=true]"

    requester = keyboard_page()
    keyboard_login(requester, operator)

    # A disabled Detach may take focus (so its reason can be read) but does nothing.
    tab_to(requester, disabled)
    list_url = requester.url
    sent: list[str] = []
    requester.on("request", lambda request: sent.append(f"{request.method} {request.url}"))
    polls = "/detach/enis/"  # rows of moving ENIs poll on their own; those are not actions
    requester.keyboard.press("Enter")
    requester.keyboard.press("Space")
    requester.wait_for_timeout(500)
    assert requester.url == list_url
    assert [item for item in sent if polls not in item] == [], "a disabled Detach did something"
    assert focus_state(requester, disabled)["matches"], "focus stays on the disabled control"
    # Every disabled Detach on the page is as inert as this one: no form, no link, no htmx.
    active = requester.evaluate(
        """() => [...document.querySelectorAll("[aria-disabled=true]")]
             .filter((el) => el.tagName !== "BUTTON" || el.type !== "button" || el.form
               || [...el.attributes].some((attr) => attr.name.startsWith("hx-")))
             .map((el) => el.outerHTML)"""
    )
    assert requester.locator("button.detach[aria-disabled=true]").count() > 1
    assert active == [], active

    tab_to(requester, detach, backwards=precedes(requester, detach, disabled))
    requester.keyboard.press("Enter")
    requester.wait_for_url("**/detach/new/?eni=*")
    tab_to(requester, "textarea[name=reason]")
    requester.keyboard.type(REASON)
    tab_to(requester, "#create-form button[type=submit]")
    assert focus_state(requester)["label"].endswith('"Request the detach"')
    requester.keyboard.press("Enter")
    requester.wait_for_url("**/detach/requests/*/")
    card = requester.locator("article.detach-card")
    assert "Pending approval" in card.inner_text()
    # The card replaces itself on every poll; focus on its ENI link must survive each swap.
    eni_link = f"article.detach-card a[href='/enis/{eni_id}/']"
    tab_to(requester, eni_link)

    reviewer = keyboard_page()
    keyboard_login(reviewer, approver)
    tab_to(reviewer, "nav.mainnav a[href='/detach/review/']")
    reviewer.keyboard.press("Enter")
    reviewer.wait_for_url("**/detach/review/")
    tab_to(reviewer, "button[value=approve]")
    reviewer.keyboard.press("Enter")
    # The decision swaps the whole review away, Approve button included: focus moves to the
    # new review, not to the top of the page, and the next Tab continues inside it.
    reviewer.wait_for_selector("section.request-review article.detach-card:not(.status-pending)")
    state = focus_state(reviewer, "section.request-review")
    assert state["matches"] and state["visible"], state
    tab_to(reviewer, "section.request-review a", limit=1)

    requester.wait_for_selector("article.detach-card.status-succeeded", timeout=20_000)
    reviewer.wait_for_selector("article.detach-card.status-succeeded", timeout=20_000)
    state = focus_state(requester, eni_link)
    assert state["matches"] and state["visible"], f"focus lost by a poll: {state}"
    state = focus_state(reviewer, "section.request-review a")
    assert state["matches"] and state["visible"], f"focus lost by a poll: {state}"

    assert emulator.control.eni(eni_id)["status"] == "Available"
    assert NetworkInterface.objects.get(eni_id=eni_id).status == "Available"
    assert len(emulator.control.requests("DetachNetworkInterface")) == 1
