"""Hostile input: property tests over every form and query parameter, then explicit examples.

The properties, for every page that takes input: never a 500; what the form refuses gets a
clear error (a 4xx, or the form again with its error message) and changes nothing; what it
accepts does what it says. The oracles below restate each field's contract (lengths, allowed
characters, choices) on their own, so a form that drifts from its contract fails here.

The examples then follow known-hostile strings (markup, quotes, right-to-left overrides, emoji,
NUL bytes, 10,000 characters) through reasons, comments, search and filters to every page that
shows them: rendered escaped, never raw; and through the CSV export, where a value that a
spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, event, example, given, is_hypothesis_test, settings
from hypothesis import strategies as st

from eniadmin.audit.exports import EXPORT_FIELDS
from eniadmin.audit.models import Action, AuditEvent
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest, Status
from eniadmin.inventory.models import (
    EdgeRegion,
    EniStatus,
    EniType,
    Instance,
    InstanceStatus,
    NetworkInterface,
    SyncRun,
)
from tests.detach.conftest import REASON, open_request
from tests.security.conftest import logged_in

# Settings ----------------------------------------------------------------------------------------

# CI runs at least 1,000 generated cases in all (test_ci_runs_at_least_a_thousand_cases checks
# the sum); a local run stays at a few hundred.
CI = os.environ.get("CI", "").lower() == "true"
_common = {
    "deadline": None,
    # The examples share one test's database and clients on purpose: each example measures
    # what it changed itself.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile("security-ci", max_examples=120, **_common)
settings.register_profile("security-local", max_examples=25, **_common)
PROFILE = settings.get_profile("security-ci" if CI else "security-local")

# Hostile strings ---------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "\"'><img src=x onerror=alert(1)>"
RTL = "invoice\u202egnp.exe\u202c"  # a right-to-left override turns the name around
EMOJI = "🧨💥 👩🏽‍💻"
NUL = "before\x00after"
LONG = "A" * 10_000
# The parts of SCRIPT and IMG that would run if a page printed them raw.
LIVE_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")

HOSTILE = (
    SCRIPT,
    IMG,
    RTL,
    EMOJI,
    NUL,
    LONG,
    "' OR '1'='1' --",
    "%_%\\",
    "{{ request.user }}{% debug %}",
    "../../../etc/passwd",
    "\r\nSet-Cookie: stolen=1",
    " \t\n ",
    "",
    "\x00",
    '=HYPERLINK("http://evil.example")',
)


def hostile_text(max_size: int = 200) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=max_size),
        # Long runs, up to 10,000 characters, of plain, accented, astral and markup characters.
        st.builds(
            lambda piece, count: piece * count,
            st.sampled_from(["x", "é", "🧨", "<", " ", "\x00"]),
            st.integers(0, 10_000),
        ),
        st.builds(lambda first, second: first + second, st.sampled_from(HOSTILE), st.text()),
    )


def without_digits() -> st.SearchStrategy[str]:
    """Text that no number or date parser accepts (and that is not blank)."""
    return st.text(min_size=1, max_size=40).filter(
        lambda text: text.strip() and not any(char.isdigit() for char in text)
    )


# Oracles: each field's contract, restated --------------------------------------------------------

ID_CHARACTERS = re.compile(r"[A-Za-z0-9._:-]+")


def text_ok(value: str, *, max_length: int, min_length: int = 0, required: bool = False) -> bool:
    """A text field: surrounding whitespace ignored, no NUL byte, length within bounds."""
    stripped = value.strip()
    if not stripped:
        return not required
    return "\x00" not in stripped and min_length <= len(stripped) <= max_length


def id_ok(value: str, max_length: int = 64) -> bool:
    stripped = value.strip()
    return not stripped or (
        len(stripped) <= max_length and ID_CHARACTERS.fullmatch(stripped) is not None
    )


def choice_ok(value: str, choices: list[str]) -> bool:
    return value == "" or value in choices


def numbers(*, low: int = 1, high: int | None = None) -> st.SearchStrategy[tuple[str, bool]]:
    """A number field's input, paired with whether it is acceptable."""
    return st.one_of(
        st.integers(-(10**6), 10**30).map(
            lambda number: (str(number), number >= low and (high is None or number <= high))
        ),
        without_digits().map(lambda text: (text, False)),
    )


def dates() -> st.SearchStrategy[tuple[str, date | bool | None]]:
    """A date field's input, paired with the date it means, or False when it means none."""
    return st.one_of(
        st.dates().map(lambda day: (day.isoformat(), day)),
        without_digits().map(lambda text: (text, False)),
        st.just(("", None)),
    )


def texts(**contract: object) -> st.SearchStrategy[tuple[str, bool]]:
    plain = st.text(max_size=min(contract["max_length"], 80))
    return st.one_of(plain, hostile_text()).map(lambda value: (value, text_ok(value, **contract)))


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Often absent, as most parameters are in a real URL."""
    return st.one_of(st.none(), st.none(), strategy)


def ids() -> st.SearchStrategy[tuple[str, bool]]:
    return st.one_of(st.from_regex(r"[A-Za-z0-9._:-]{1,70}", fullmatch=True), hostile_text(80)).map(
        lambda value: (value, id_ok(value))
    )


def choices(values: list[str]) -> st.SearchStrategy[tuple[str, bool]]:
    return st.one_of(st.sampled_from(values), hostile_text(40)).map(
        lambda value: (value, choice_ok(value, values))
    )


# Helpers -----------------------------------------------------------------------------------------

ERRORS = 'class="errors" role="alert"'


def state() -> dict[str, object]:
    """Everything a refused input must leave as it was."""
    return {
        "requests": sorted(
            DetachRequest.objects.values_list("pk", "status", "reason", "decision_comment")
        ),
        "events": AuditEvent.objects.count(),
        "syncs": sorted(SyncRun.objects.values_list("pk", "status")),
        "instances": Instance.objects.count(),
        "enis": sorted(NetworkInterface.objects.values_list("eni_id", "status")),
    }


def new_events(since: int) -> list[str]:
    return list(AuditEvent.objects.filter(pk__gt=since).values_list("action", flat=True))


def last_event_pk() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def assert_inert(html: str, values: object) -> None:
    """No value that carries live markup comes back raw."""
    for value in values if isinstance(values, list | tuple) else [values]:
        for markup in LIVE_MARKUP:
            if markup in str(value):
                assert markup not in html, f"{markup!r} was rendered raw"


def url_with_id(name: str, value: str) -> str:
    """The URL `name` with `value` as its one id, percent-encoded as a browser sends it."""
    return reverse(name, args=["-"]).replace("/-/", f"/{quote(value, safe='')}/")


def _given(fields: dict[str, tuple[str, object] | None]) -> dict[str, tuple[str, object]]:
    """The parameters drawn present, each with its verdict."""
    return {name: pair for name, pair in fields.items() if pair is not None}


def htmx_headers(htmx: bool, target: str = "") -> dict[str, str]:
    if not htmx:
        return {}
    return {"HX-Request": "true", **({"HX-Target": target} if target else {})}


# Property tests: the list page -------------------------------------------------------------------

INSTANCE_STATUSES = [value for value, _ in InstanceStatus.choices]
ENI_STATUSES = [value for value, _ in EniStatus.choices]
ENI_TYPES = [value for value, _ in EniType.choices]


@PROFILE
@given(
    status=maybe(choices(INSTANCE_STATUSES)),
    eni_status=maybe(choices(ENI_STATUSES)),
    eni_type=maybe(choices(ENI_TYPES)),
    q=maybe(texts(max_length=100)),
    page=maybe(numbers(high=100_000)),
    htmx=st.booleans(),
    data=st.data(),
)
def test_list_filters_never_fail_and_say_which_they_ignored(
    viewer, synced, status, eni_status, eni_type, q, page, htmx, data
):
    region_ids = list(EdgeRegion.objects.values_list("region_id", flat=True))
    region = data.draw(maybe(choices(region_ids)), label="region")
    fields = {
        "region": region,
        "status": status,
        "eni_status": eni_status,
        "eni_type": eni_type,
        "q": q,
        "page": page,
    }
    params = {name: value for name, (value, _) in _given(fields).items()}
    valid = all(ok for _, ok in _given(fields).values())
    event("valid" if valid else "refused")
    client = logged_in(viewer)
    before = state()

    response = client.get(
        reverse("inventory:instance-list"), params, headers=htmx_headers(htmx, "instance-table")
    )

    assert response.status_code == 200
    html = body(response)
    assert (ERRORS in html) is not valid, params
    assert ("<html" in html) is not htmx
    assert_inert(html, list(params.values()))
    assert state() == before


# Property tests: the audit history and its exports -----------------------------------------------

ACTIONS = [value for value, _ in Action.choices]
AUDIT_FILTERS = {
    "q": maybe(texts(max_length=200)),
    "actor": maybe(texts(max_length=150)),
    "action": maybe(choices(ACTIONS)),
    "eni": maybe(ids()),
    "instance": maybe(ids()),
    "region": maybe(ids()),
    "outcome": maybe(ids()),
    "since": maybe(dates()),
    "until": maybe(dates()),
    "page": maybe(numbers()),
}


def audit_query(fields: dict[str, tuple[str, object] | None]) -> tuple[dict[str, str], bool]:
    chosen = _given(fields)
    params = {name: value for name, (value, _) in chosen.items()}
    # Dates pair with the day they mean (None for none); every other field with True or False.
    valid = all(ok is not False for _, ok in chosen.values())
    since, until = (chosen.get(name, ("", None))[1] for name in ("since", "until"))
    if isinstance(since, date) and isinstance(until, date) and since > until:
        valid = False
    return params, valid


@pytest.fixture
def some_events(operator, world) -> None:
    """A few real events to filter: the world's sync and detach request, and a login."""
    logged_in(operator)


# The same parameters as a page would send them, mostly valid, so that the accepted side of the
# property is exercised as often as the refused one.
PLAUSIBLE_AUDIT_FILTERS = {
    "q": maybe(st.text(max_size=40).map(lambda value: (value, text_ok(value, max_length=200)))),
    "actor": maybe(
        st.sampled_from(["olivia", "arthur", "system", "anonymous", "nobody"]).map(
            lambda value: (value, True)
        )
    ),
    "action": maybe(st.sampled_from(ACTIONS).map(lambda value: (value, True))),
    "eni": maybe(ids()),
    "outcome": maybe(st.sampled_from(["ok", "error", "NoPermission"]).map(lambda v: (v, True))),
    "since": maybe(dates()),
    "until": maybe(dates()),
    "page": maybe(st.integers(1, 10**6).map(lambda number: (str(number), True))),
}
ANY_AUDIT_FILTERS = st.one_of(
    st.fixed_dictionaries(AUDIT_FILTERS), st.fixed_dictionaries(PLAUSIBLE_AUDIT_FILTERS)
)


@PROFILE
@given(fields=ANY_AUDIT_FILTERS, htmx=st.booleans())
@example(fields={**dict.fromkeys(AUDIT_FILTERS), "until": ("9999-12-31", date.max)}, htmx=False)
@example(fields={**dict.fromkeys(AUDIT_FILTERS), "q": ("a\x00b", False)}, htmx=False)
def test_history_filters_never_fail_and_a_broken_one_shows_why(viewer, some_events, fields, htmx):
    params, valid = audit_query(fields)
    event("valid" if valid else "refused")
    client = logged_in(viewer)
    before = state()

    response = client.get(reverse("audit:history"), params, headers=htmx_headers(htmx))

    assert response.status_code == 200
    html = body(response)
    assert (ERRORS in html) is not valid, params
    if not valid:
        assert 'id="audit-event-' not in html, "a broken filter must show no rows"
    assert_inert(html, list(params.values()))
    assert state() == before


@PROFILE
@given(fields=ANY_AUDIT_FILTERS, export_format=st.sampled_from(["csv", "json"]))
@example(
    fields={**dict.fromkeys(AUDIT_FILTERS), "until": ("9999-12-31", date.max)},
    export_format="csv",
)
def test_exports_refuse_broken_filters_with_400_and_record_only_what_they_export(
    auditor, some_events, fields, export_format
):
    params, valid = audit_query(fields)
    event("valid" if valid else "refused")
    client = logged_in(auditor)
    before, tip = state(), last_event_pk()

    response = client.get(reverse(f"audit:export-{export_format}"), params)

    if not valid:
        assert response.status_code == 400, params
        assert response["Content-Type"].startswith("text/plain")
        assert response.content.decode().startswith("Invalid filters, nothing exported: ")
        assert state() == before
        return
    assert response.status_code == 200, params
    text = body(response)
    if export_format == "csv":
        assert next(csv.reader(io.StringIO(text))) == list(EXPORT_FIELDS)
    else:
        assert isinstance(json.loads(text), list)
    assert new_events(tip) == [Action.AUDIT_EXPORTED]


# Property tests: requesting a detach -------------------------------------------------------------


def eni_choices(notes: dict) -> st.SearchStrategy[str]:
    """Ids a form may receive: eligible ones, known but ineligible ones, and hostile strings."""
    return st.one_of(
        st.sampled_from(notes["detach_candidates"][:3]),
        st.sampled_from(
            notes["primary_on_stopped_instance"][:1]
            + notes["secondary_on_running_instance"][:1]
            + notes["service_managed"]
        ),
        hostile_text(80),
    )


def eni_lists(notes: dict) -> st.SearchStrategy[list[str]]:
    known = (
        notes["detach_candidates"][:3]
        + notes["primary_on_stopped_instance"][:1]
        + notes["secondary_on_running_instance"][:1]
    )
    return st.one_of(
        st.lists(st.sampled_from(known), min_size=1, max_size=4),
        st.lists(eni_choices(notes), max_size=4),
        # More than one confirmation page may hold.
        st.builds(lambda eni_id: [eni_id] * 51, st.sampled_from(notes["detach_candidates"])),
    )


@PROFILE
@given(data=st.data(), remedy_for=st.none() | numbers(low=-(10**30)), htmx=st.booleans())
def test_the_confirmation_step_reads_any_selection_and_changes_nothing(
    operator, world, data, remedy_for, htmx
):
    eni_ids = data.draw(eni_lists(world.notes), label="eni")
    params = {"eni": eni_ids} | ({"remedy_for": remedy_for[0]} if remedy_for else {})
    client = logged_in(operator)
    before = state()

    response = client.get(reverse("detach:request-create"), params, headers=htmx_headers(htmx))

    assert response.status_code == 200
    html = body(response)
    known = set(NetworkInterface.objects.values_list("eni_id", flat=True))
    if any(eni_id not in known for eni_id in eni_ids[:50]):
        assert ERRORS in html and "does not know" in html
    assert_inert(html, eni_ids)
    assert state() == before


@PROFILE
@given(
    data=st.data(),
    reason=st.one_of(
        hostile_text(1_100), st.text(min_size=10, max_size=1_000), st.just(REASON)
    ).map(lambda value: (value, text_ok(value, min_length=10, max_length=1000, required=True))),
    remedy_for=maybe(numbers(low=-(10**30))),
    htmx=st.booleans(),
)
@example(data=None, reason=(NUL + REASON, False), remedy_for=None, htmx=False)
@example(data=None, reason=(REASON, True), remedy_for=("not a number", False), htmx=False)
def test_requests_open_only_for_valid_input_and_eligible_interfaces(
    operator, world, data, reason, remedy_for, htmx
):
    # The explicit examples (no data) select the first candidate.
    eni_ids = (
        data.draw(eni_lists(world.notes), label="eni")
        if data
        else world.notes["detach_candidates"][:1]
    )
    reason_text, reason_ok = reason
    # Every example starts from no open request: the operator cancels what the last one opened.
    for pending in DetachRequest.objects.pending():
        workflow.cancel_detach(detach_request=pending, requester=operator)
    known = set(NetworkInterface.objects.values_list("eni_id", flat=True))
    enis_ok = 1 <= len(eni_ids) <= 50 and all(eni_id in known for eni_id in eni_ids)
    remedy_text, remedy_ok = remedy_for or ("", True)
    valid = enis_ok and reason_ok and remedy_ok
    event("valid" if valid else "refused")
    post = {"eni": eni_ids, "reason": reason_text} | (
        {"remedy_for": remedy_text} if remedy_for else {}
    )
    client = logged_in(operator)
    before, tip = state(), last_event_pk()
    opened_before = set(DetachRequest.objects.values_list("pk", flat=True))

    response = client.post(reverse("detach:request-create"), post, headers=htmx_headers(htmx))

    assert response.status_code in (200, 302)
    opened = DetachRequest.objects.exclude(pk__in=opened_before)
    if not valid:
        assert response.status_code == 200
        assert ERRORS in body(response), post
        assert state() == before
        return
    # A remedy is only for a stuck request (there is none): nothing may open.
    retrying = remedy_text.strip() not in ("", "0")
    # ENS does not say an interface is service-managed until a detach of it fails, so the
    # demo's service-managed one may be requested like the candidates.
    eligible = set(world.notes["detach_candidates"][:3] + world.notes["service_managed"])
    expected = set() if retrying else set(eni_ids) & eligible
    assert {item.eni_id for item in opened} == expected
    assert {item.reason for item in opened} <= {reason_text.strip()}
    assert {item.requester for item in opened} <= {operator}
    assert new_events(tip) == [Action.DETACH_REQUESTED] * len(expected)
    assert_inert(body(response), [reason_text, *eni_ids])


# Property tests: deciding ------------------------------------------------------------------------


@pytest.fixture
def fresh_pending(world, operator, ens_client) -> Callable[[], DetachRequest]:
    """The world's interface with a pending request, reopened when the last one was decided."""

    def pending() -> DetachRequest:
        current = DetachRequest.objects.open().filter(eni_id=world.eni.eni_id).first()
        if current is not None and current.status == Status.PENDING:
            return current
        if current is not None:
            workflow.expire_detach_requests(now=timezone.now() + timedelta(days=30))
        return open_request(world.eni, operator, ens_client)

    return pending


@PROFILE
@given(
    action=st.one_of(
        st.none(),
        choices(["approve", "reject"]),
        st.sampled_from(["approve", "reject"]).map(lambda value: (value, True)),
    ),
    comment=maybe(texts(max_length=1000)),
    htmx=st.booleans(),
)
@example(action=("reject", True), comment=(NUL, False), htmx=False)
@example(action=("reject", True), comment=(LONG, False), htmx=True)
def test_decisions_happen_only_for_valid_input(approver, fresh_pending, action, comment, htmx):
    detach_request = fresh_pending()
    action_text, action_ok = action or ("", False)
    comment_text, comment_ok = comment or ("", True)
    valid = action_ok and action_text != "" and comment_ok
    if action_text == "reject" and not comment_text.strip():
        valid = False  # a rejection says why
    event(f"{action_text} accepted" if valid else "refused")
    post = ({"action": action_text} if action else {}) | (
        {"comment": comment_text} if comment else {}
    )
    client = logged_in(approver)
    before, tip = state(), last_event_pk()

    response = client.post(
        reverse("detach:request-decide", args=[detach_request.pk]),
        post,
        headers=htmx_headers(htmx),
    )

    detach_request.refresh_from_db()
    if not valid:
        assert response.status_code == 200
        html = body(response)
        assert ERRORS in html, post
        assert_inert(html, comment_text)
        assert state() == before
        return
    assert response.status_code == (200 if htmx else 302)
    if action_text == "approve":
        assert detach_request.status == Status.APPROVED
        assert new_events(tip) == [Action.DETACH_APPROVED]
    else:
        assert detach_request.status == Status.REJECTED
        assert detach_request.decision_comment == comment_text.strip()
        assert new_events(tip) == [Action.DETACH_REJECTED]


# Property tests: logging in ----------------------------------------------------------------------


@PROFILE
@given(
    username=st.one_of(st.just("victor"), hostile_text(200)),
    password=hostile_text(200),
    address=st.ip_addresses().map(str),
)
def test_login_never_fails_on_what_is_typed_and_never_lets_it_in(
    viewer, username, password, address
):
    """The viewer (victor) exists, so some attempts name a real account."""
    client = logged_in(None)
    tip = last_event_pk()

    response = client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )

    # 200: the form again; 429: django-axes' lock-out page after repeated failures.
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert set(new_events(tip)) <= {Action.LOGIN_FAILED, Action.LOGIN_LOCKED_OUT}
    assert_inert(body(response), username)


# Property tests: ids in URLs, and posts without a form -------------------------------------------


@PROFILE
@given(eni_id=st.none() | hostile_text(300).filter(bool), pk=st.integers(0, 10**25))
@example(eni_id=NUL, pk=0)
def test_unknown_ids_in_urls_are_404(viewer, approver, operator, world, eni_id, pk):
    eni_id = world.eni.eni_id if eni_id is None else eni_id  # None: a real one
    known_enis = set(NetworkInterface.objects.values_list("eni_id", flat=True))
    client, deciding, cancelling = logged_in(viewer), logged_in(approver), logged_in(operator)
    # A 500 comes back as a response here, so that one failing page does not hide the other.
    reading = logged_in(viewer, raise_request_exception=False)
    before = state()
    wanted = 200 if eni_id in known_enis else 404
    got = {
        name: reading.get(url_with_id(name, eni_id)).status_code
        for name in ("inventory:eni-detail", "detach:eni-row")
    }
    assert got == dict.fromkeys(got, wanted), f"{eni_id!r}: {got}"

    known = DetachRequest.objects.filter(pk=pk).exists()
    for name in ("detach:request-detail", "detach:request-status"):
        assert client.get(reverse(name, args=[pk])).status_code == (200 if known else 404)
    if not known:
        decide = reverse("detach:request-decide", args=[pk])
        cancel = reverse("detach:request-cancel", args=[pk])
        assert deciding.post(decide, {"action": "approve"}).status_code == 404
        assert cancelling.post(cancel).status_code == 404
    assert state() == before


@PROFILE
@given(fields=st.dictionaries(hostile_text(30), hostile_text(100), max_size=4), htmx=st.booleans())
def test_actions_without_a_form_ignore_whatever_else_is_sent(operator, world, fields, htmx):
    client = logged_in(operator)

    for name in ("inventory:sync-status", "detach:request-list", "detach:review"):
        response = client.get(reverse(name), fields, headers=htmx_headers(htmx))
        # The operator may not review; the refusal must not depend on the parameters.
        assert response.status_code == (403 if name == "detach:review" else 200)
        assert_inert(body(response), list(fields.values()))

    response = client.post(reverse("inventory:sync-now"), fields, headers=htmx_headers(htmx))
    assert response.status_code == (200 if htmx else 302)
    assert SyncRun.objects.filter(status=SyncRun.Status.QUEUED).count() == 1

    cancel = reverse("detach:request-cancel", args=[world.detach_request.pk])
    response = client.post(cancel, fields, headers=htmx_headers(htmx))
    assert response.status_code == (200 if htmx else 302)
    world.detach_request.refresh_from_db()
    assert world.detach_request.status == Status.CANCELLED


def test_ci_runs_at_least_a_thousand_cases():
    properties = [item for item in globals().values() if is_hypothesis_test(item)]
    cases = len(properties) * settings.get_profile("security-ci").max_examples
    assert cases >= 1000, f"{len(properties)} property tests give only {cases} cases in CI"
    assert PROFILE.max_examples == (120 if CI else 25)


# Explicit examples: hostile strings shown back ---------------------------------------------------


@pytest.mark.parametrize("payload", [SCRIPT, IMG], ids=["script", "attribute-breakout"])
def test_search_and_filters_echo_markup_escaped(viewer, world, payload):
    client = logged_in(viewer)
    pages = {
        "list search": client.get(reverse("inventory:instance-list"), {"q": payload}),
        "history search and user": client.get(
            reverse("audit:history"), {"q": payload, "actor": payload}
        ),
        "history ENI filter (refused)": client.get(reverse("audit:history"), {"eni": payload}),
    }
    for where, response in pages.items():
        html = body(response)
        assert response.status_code == 200, where
        assert_inert(html, payload)
        assert escape(payload) in html, f"{where}: the search is not shown back"
    assert ERRORS in body(pages["history ENI filter (refused)"])


@pytest.mark.parametrize("payload", [RTL, EMOJI], ids=["right-to-left", "emoji"])
def test_unicode_searches_come_back_unchanged(viewer, world, payload):
    client = logged_in(viewer)
    for url in (reverse("inventory:instance-list"), reverse("audit:history")):
        response = client.get(url, {"q": payload})
        assert response.status_code == 200
        html = body(response)
        assert payload in html and ERRORS not in html


def test_ten_thousand_characters_get_a_clear_error_and_change_nothing(
    operator, approver, auditor, world
):
    client, deciding, exporting = logged_in(operator), logged_in(approver), logged_in(auditor)
    before = state()
    list_page = client.get(reverse("inventory:instance-list"), {"q": LONG, "region": LONG})
    assert "at most 100 characters" in body(list_page)
    assert "Select a valid choice" in body(list_page)
    history = client.get(reverse("audit:history"), {"q": LONG, "actor": LONG, "eni": LONG})
    assert "at most 200 characters" in body(history)
    assert "at most 150 characters" in body(history)
    assert "at most 64 characters" in body(history)
    export = exporting.get(reverse("audit:export-csv"), {"q": LONG})
    assert export.status_code == 400 and "at most 200 characters" in body(export)

    create = client.post(
        reverse("detach:request-create"), {"eni": world.eni.eni_id, "reason": LONG}
    )
    assert "at most 1000 characters" in body(create)
    decide = deciding.post(
        reverse("detach:request-decide", args=[world.detach_request.pk]),
        {"action": "reject", "comment": LONG},
    )
    assert "at most 1000 characters" in body(decide)
    assert state() == before


def test_nul_bytes_get_a_clear_error_and_change_nothing(operator, approver, world):
    client, deciding = logged_in(operator), logged_in(approver)
    # A 500 comes back as a response here, so that one failing page does not hide the other.
    reading = logged_in(operator, raise_request_exception=False)
    before = state()
    assert "Null characters are not allowed" in body(
        client.get(reverse("inventory:instance-list"), {"q": NUL})
    )
    assert "Null characters are not allowed" in body(
        client.get(reverse("audit:history"), {"q": NUL})
    )
    create = client.post(reverse("detach:request-create"), {"eni": world.eni.eni_id, "reason": NUL})
    assert "Null characters are not allowed" in body(create)
    create = client.post(reverse("detach:request-create"), {"eni": NUL, "reason": REASON})
    assert "does not know the network interface" in body(create)
    confirm = client.get(reverse("detach:request-create"), {"eni": [world.eni.eni_id, NUL]})
    assert confirm.status_code == 200 and world.eni.eni_id in body(confirm)
    decide = deciding.post(
        reverse("detach:request-decide", args=[world.detach_request.pk]),
        {"action": "reject", "comment": NUL},
    )
    assert "Null characters are not allowed" in body(decide)
    got = {
        name: reading.get(url_with_id(name, NUL)).status_code
        for name in ("inventory:eni-detail", "detach:eni-row")
    }
    assert got == dict.fromkeys(got, 404), got
    assert state() == before


def test_a_hostile_reason_and_comment_are_inert_on_every_page_that_shows_them(
    operator, approver, viewer, auditor, world
):
    logged_in(operator).post(reverse("detach:request-cancel", args=[world.detach_request.pk]))
    reason = f"{SCRIPT} {IMG} {RTL}"
    created = logged_in(operator).post(
        reverse("detach:request-create"), {"eni": world.eni.eni_id, "reason": reason}
    )
    assert created.status_code == 302
    detach_request = DetachRequest.objects.get(status=Status.PENDING)
    assert detach_request.reason == reason

    review = body(logged_in(approver).get(reverse("detach:review")))
    comment = f"{IMG} {SCRIPT} {EMOJI}"
    logged_in(approver).post(
        reverse("detach:request-decide", args=[detach_request.pk]),
        {"action": "reject", "comment": comment},
    )
    detach_request.refresh_from_db()
    assert (detach_request.status, detach_request.decision_comment) == ("rejected", comment)

    client = logged_in(viewer)
    eni_page = reverse("inventory:eni-detail", args=[world.eni.eni_id])
    showing = {  # where each is shown
        "review": (review, [reason]),
        "request detail": (body(client.get(detach_request.get_absolute_url())), [reason, comment]),
        "request card": (
            body(client.get(reverse("detach:request-status", args=[detach_request.pk]))),
            [reason, comment],
        ),
        "history": (body(client.get(reverse("audit:history"))), [reason, comment]),
        "ENI timeline": (body(client.get(eni_page)), [reason, comment]),
        "request list": (body(client.get(reverse("detach:request-list"))), []),
        "list": (body(client.get(reverse("inventory:instance-list"))), []),
    }
    for where, (html, shown) in showing.items():
        assert_inert(html, [reason, comment])
        for text in shown:
            assert escape(text) in html, f"{where} does not show {text!r} (escaped)"

    exported = logged_in(auditor).get(reverse("audit:export-json"))
    assert exported["Content-Type"] == "application/json"
    assert exported["Content-Disposition"].startswith("attachment;")
    comments = [event["comment"] for event in json.loads(body(exported))]
    assert reason in comments and comment in comments, "JSON keeps the data exactly"


# Explicit examples: spreadsheet formulas in the CSV export ---------------------------------------

FORMULAS = {
    "=": '=HYPERLINK("http://evil.example","click me")',
    "+": "+SUM(1+1)*cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0 for the tenant",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_the_csv_export_neutralises_formulas_typed_anywhere(operator, approver, auditor, world):
    logged_in(operator).post(reverse("detach:request-cancel", args=[world.detach_request.pk]))
    for formula in FORMULAS.values():
        response = logged_in(operator).post(
            reverse("detach:request-create"), {"eni": world.eni.eni_id, "reason": formula}
        )
        assert response.status_code == 302
        pending = DetachRequest.objects.get(status=Status.PENDING)
        logged_in(approver).post(
            reverse("detach:request-decide", args=[pending.pk]),
            {"action": "reject", "comment": formula},
        )
    # The user agent is recorded as sent, and a failed login needs no account at all.
    logged_in(None).post(
        reverse("login"),
        {"username": "nobody", "password": "wrong-password"},
        headers={"User-Agent": FORMULAS["="]},
    )

    rows = list(
        csv.DictReader(io.StringIO(body(logged_in(auditor).get(reverse("audit:export-csv")))))
    )
    cells = [row[name] for row in rows for name in ("comment", "user_agent")]
    for formula in FORMULAS.values():
        assert formula not in cells, f"{formula!r} exported as a live formula"
        assert "'" + formula in cells, f"{formula!r} not exported (neutralised)"
    assert not [cell for cell in cells if cell[:1] in FORMULAS], "a cell still starts a formula"
    assert sum(row["user_agent"] == "'" + FORMULAS["="] for row in rows) == 1
