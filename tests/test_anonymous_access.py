"""Every page needs a login, except the few that must not."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

OPEN_TO_ANONYMOUS = {"login", "healthz"}


def named_pages_without_arguments():
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groups:
            yield entry.name
        elif isinstance(entry, URLResolver) and entry.namespace not in (None, "admin"):
            for sub in entry.url_patterns:
                if isinstance(sub, URLPattern) and sub.name and not sub.pattern.regex.groups:
                    yield f"{entry.namespace}:{sub.name}"


@pytest.mark.parametrize("name", sorted(set(named_pages_without_arguments()) - OPEN_TO_ANONYMOUS))
def test_anonymous_request_redirects_to_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


def test_static_files_need_no_login(client, db):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "name"), [("post", "inventory:sync-now"), ("get", "inventory:sync-status")]
)
def test_an_htmx_request_without_a_session_sends_the_browser_to_log_in(client, db, method, name):
    """A page left open until its session ran out: the login page must not be swapped into
    the fragment the page asked for."""
    page = "http://testserver/?region=cn-beijing"
    headers = {"HX-Request": "true", "HX-Current-URL": page}
    response = getattr(client, method)(reverse(name), headers=headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response["HX-Redirect"] == f"{reverse('login')}?next={quote('/?region=cn-beijing')}"
