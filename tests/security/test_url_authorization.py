"""Authorization proven for every URL the project serves.

The walker below finds every URL pattern, through every include. Each one needs an entry in
EXPECTATIONS saying who may use it with which method, or must fall under the admin's prefix
rule: a new URL nobody decided about fails these tests, and so does an entry for a URL that no
longer exists. For each URL: anonymous → the login page (except what must stay open); each
persona → exactly what its roles allow (403 otherwise, never 200 nor 500); every unsafe method
without a CSRF token → 403, even for a user holding every role.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, resolve, reverse

from eniadmin.audit.models import AuditEvent
from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.models import SyncRun
from tests.security.conftest import World, logged_in

VIEWER, OPERATOR, APPROVER, AUDITOR = "viewer", "operator", "approver", "auditor"
OUTSIDER = "outsider"  # logged in, holding no role
PERSONAS = (VIEWER, OPERATOR, APPROVER, AUDITOR, OUTSIDER)
BROWSERS = frozenset({VIEWER, OPERATOR, APPROVER, AUDITOR})
EVERYONE = frozenset(PERSONAS)

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Methods each persona tries; a method a URL does not list must answer 405 to everyone.
TRIED_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class Allow:
    """Who may use a method, and what they get (with no form data at all)."""

    personas: frozenset[str]
    status: int = 200


@dataclass(frozen=True)
class Expect:
    methods: dict[str, Allow]
    kwargs: Callable[[World], dict[str, object]] = field(default=lambda world: {})
    # None: anonymous users are sent to the login page; else what they get from a listed method.
    anonymous: int | None = None


def request_pk(world: World) -> dict[str, object]:
    return {"pk": world.detach_request.pk}


def eni_id(world: World) -> dict[str, object]:
    return {"eni_id": world.eni.eni_id}


# The operator persona made the world's pending request: only they may cancel it, and the
# approver persona may decide on it.
EXPECTATIONS: dict[str, Expect] = {
    "healthz": Expect({"GET": Allow(EVERYONE)}, anonymous=200),
    # A logged-in user is sent on from the login page, whatever the method.
    "login": Expect({"GET": Allow(EVERYONE, 302), "POST": Allow(EVERYONE, 302)}, anonymous=200),
    "logout": Expect({"POST": Allow(EVERYONE, 302)}),
    "audit:history": Expect({"GET": Allow(BROWSERS)}),
    "audit:export-csv": Expect({"GET": Allow(frozenset({AUDITOR}))}),
    "audit:export-json": Expect({"GET": Allow(frozenset({AUDITOR}))}),
    "detach:request-list": Expect({"GET": Allow(BROWSERS)}),
    # An empty POST re-renders the form with its errors.
    "detach:request-create": Expect(
        {"GET": Allow(frozenset({OPERATOR})), "POST": Allow(frozenset({OPERATOR}))}
    ),
    "detach:review": Expect({"GET": Allow(frozenset({APPROVER}))}),
    "detach:request-detail": Expect({"GET": Allow(BROWSERS)}, request_pk),
    "detach:request-status": Expect({"GET": Allow(BROWSERS)}, request_pk),
    "detach:request-decide": Expect({"POST": Allow(frozenset({APPROVER}))}, request_pk),
    "detach:request-cancel": Expect({"POST": Allow(frozenset({OPERATOR}), 302)}, request_pk),
    "detach:eni-row": Expect({"GET": Allow(BROWSERS)}, eni_id),
    "inventory:instance-list": Expect({"GET": Allow(BROWSERS)}),
    "inventory:sync-now": Expect({"POST": Allow(frozenset({OPERATOR, APPROVER}), 302)}),
    "inventory:sync-status": Expect({"GET": Allow(BROWSERS)}),
    "inventory:eni-detail": Expect({"GET": Allow(BROWSERS)}, eni_id),
}

# The Django admin, by prefix: its own gate is is_staff, which no role grants. Anonymous and
# non-staff users are redirected to a login page (the admin does not answer 403); only its own
# login page answers them.
ADMIN_PREFIX = "admin/"
ADMIN_OPEN = "admin:login"


# The walker ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    key: str  # "namespace:name", or the whole route of an unnamed pattern
    route: str  # from the root URLconf, as ResolverMatch.route spells it

    @property
    def is_admin(self) -> bool:
        return self.route.startswith(ADMIN_PREFIX)


def walk(resolver: URLResolver | None = None, prefix: str = "", namespaces=()) -> Iterator[Found]:
    for entry in (resolver or get_resolver()).url_patterns:
        # Django joins routes the same way: a nested regex loses its leading "^".
        own = str(entry.pattern)
        route = prefix + (own.removeprefix("^") if prefix else own)
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry, route, inner)
        else:
            key = ":".join((*namespaces, entry.name)) if entry.name else route
            yield Found(key, route)


FOUND = list(walk())
APP_URLS = [found.key for found in FOUND if not found.is_admin]
ADMIN_URLS = [found for found in FOUND if found.is_admin]


def expectation(key: str) -> Expect:
    if key not in EXPECTATIONS:
        pytest.fail(f"URL pattern {key!r} has no entry in EXPECTATIONS: decide who may use it")
    return EXPECTATIONS[key]


def test_every_url_pattern_has_exactly_one_expectation():
    missing = [key for key in APP_URLS if key not in EXPECTATIONS]
    assert not missing, f"URL patterns without an entry in EXPECTATIONS: {missing}"
    stale = sorted(set(EXPECTATIONS) - {found.key for found in FOUND})
    assert not stale, f"EXPECTATIONS entries that match no URL pattern: {stale}"
    repeated = sorted({key for key in APP_URLS if APP_URLS.count(key) > 1})
    assert not repeated, f"URL names used by several patterns: {repeated}"
    assert ADMIN_URLS, "the admin's prefix rule matched no pattern"


def test_the_walker_sees_patterns_inside_includes():
    keys = {found.key for found in FOUND}
    assert {"healthz", "detach:request-decide", "audit:export-csv", "admin:index"} <= keys
    assert any(found.is_admin and found.key == found.route for found in FOUND), (
        "the admin's unnamed patterns (its catch-all) must be walked too"
    )


# The application's URLs --------------------------------------------------------------------------


@pytest.fixture
def personas(operator, approver, auditor, viewer, outsider) -> dict[str, User]:
    return {
        VIEWER: viewer,
        OPERATOR: operator,
        APPROVER: approver,
        AUDITOR: auditor,
        OUTSIDER: outsider,
    }


def url_of(key: str, world: World) -> str:
    return reverse(key, kwargs=expectation(key).kwargs(world))


@pytest.mark.parametrize("key", APP_URLS)
def test_anonymous_users_are_sent_to_the_login_page(key, world):
    expect = expectation(key)
    url = url_of(key, world)
    for method in TRIED_METHODS:
        response = logged_in(None).generic(method, url)
        if expect.anonymous is not None:
            wanted = expect.anonymous if method in expect.methods else 405
            assert response.status_code == wanted, (method, url)
        else:
            assert response.status_code == 302, (method, url)
            assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("key", APP_URLS)
def test_each_persona_gets_exactly_what_its_roles_allow(key, world, personas):
    expect = expectation(key)
    url = url_of(key, world)
    wrong = []
    for persona, user in personas.items():
        for method in TRIED_METHODS:
            allow = expect.methods.get(method)
            if allow is None:
                wanted = 405
            elif persona in allow.personas:
                wanted = allow.status
            else:
                wanted = 403
            # A fresh login each time: POST /logout/ must not end the next check's session.
            got = logged_in(user).generic(method, url).status_code
            if got != wanted:
                wrong.append(f"{persona} {method} {url}: {got}, expected {wanted}")
    assert not wrong, "\n".join(wrong)


def changeable_state() -> dict[str, object]:
    return {
        "requests": sorted(DetachRequest.objects.values_list("pk", "status")),
        "syncs": SyncRun.objects.count(),
        "events": AuditEvent.objects.count(),
    }


@pytest.mark.parametrize("key", APP_URLS)
def test_unsafe_methods_without_a_csrf_token_are_refused(key, world, everyone, caplog):
    url = url_of(key, world)
    client = logged_in(everyone, enforce_csrf_checks=True)
    before = changeable_state()
    for method in UNSAFE_METHODS:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
            response = client.generic(method, url)
        assert response.status_code == 403, (method, url)
        assert any(
            record.name == "django.security.csrf" and url in record.getMessage()
            for record in caplog.records
        ), f"{method} {url} was refused, but not by the CSRF check"
    assert changeable_state() == before
    # Still logged in: even POST /logout/ did nothing without its token.
    assert client.get(reverse("inventory:instance-list")).status_code == 200


def test_the_same_post_with_its_csrf_token_goes_through(world, everyone):
    """The refusals above are the CSRF check's: with the page's token the request works."""
    client = logged_in(everyone, enforce_csrf_checks=True)
    client.get(reverse("inventory:instance-list"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("inventory:sync-now"), headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert SyncRun.objects.filter(status=SyncRun.Status.QUEUED).count() == 1


# The admin, by its prefix ------------------------------------------------------------------------


def admin_url(route: str, samples: dict[str, str]) -> str:
    """A concrete URL for an admin route, every parameter replaced by a sample value."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: samples[match[1]], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: samples[match[1]], path)
    return "/" + path.replace("^", "").replace("$", "")


@pytest.fixture
def admin_samples(viewer) -> dict[str, str]:
    """Real ids, though not of every model: the gate acts before any object is looked up."""
    return {
        "object_id": str(viewer.pk),
        "content_type_id": str(ContentType.objects.get_for_model(User).pk),
        "id": str(viewer.pk),
        "app_label": "detach",
        "url": "no-such-page/",
    }


@pytest.mark.parametrize("found", ADMIN_URLS, ids=lambda found: found.key)
def test_the_admin_is_closed_to_anonymous_users_and_to_every_role(
    found, admin_samples, personas, everyone
):
    url = admin_url(found.route, admin_samples)
    assert resolve(url).route == found.route, f"the sample URL {url} reached another pattern"
    logins = (reverse("login"), reverse("admin:login"))
    wrong = []
    for persona, user in {"anonymous": None, **personas, "every role": everyone}.items():
        response = logged_in(user).get(url)
        if found.key == ADMIN_OPEN:
            # The admin's login form, which tells a logged-in user they lack access.
            ok = response.status_code == 200
        elif user is None:
            location = response.get("Location", "")
            ok = response.status_code == 302 and location.startswith(
                tuple(f"{login}?next={quote(url)}" for login in logins)
            )
        else:
            location = response.get("Location", "")
            ok = response.status_code == 302 and location.startswith(reverse("admin:index"))
        if not ok:
            wrong.append(f"{persona} GET {url}: {response.status_code} {response.get('Location')}")
    assert not wrong, "\n".join(wrong)

    client = logged_in(everyone, enforce_csrf_checks=True)
    for method in UNSAFE_METHODS:
        assert client.generic(method, url).status_code == 403, (method, url)


def test_the_admin_rule_still_lets_staff_in(admin_client, world):
    """Without this, the rule above would pass for an admin that no one could use."""
    assert admin_client.get(reverse("admin:index")).status_code == 200
    response = admin_client.get(reverse("admin:detach_detachrequest_changelist"))
    assert response.status_code == 200
    assert world.eni.eni_id in response.content.decode()
