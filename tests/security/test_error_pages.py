"""Error pages say what happened in words and leak nothing: no stack, no settings, no paths."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path, reverse

from eniadmin.urls import urlpatterns as project_urlpatterns


class Boom(Exception):
    pass


def explode(request):
    raise Boom("SELECT secret FROM internals /work/eniadmin/settings.py")


urlpatterns = [path("explode/", explode), *project_urlpatterns]

LEAKS = ("Traceback", "Boom", "SELECT secret", "settings.py", "SECRET_KEY", "DATABASES", "/work/")


def assert_leaks_nothing(html: str) -> None:
    for leak in LEAKS:
        assert leak not in html, leak


def test_server_error_page(viewer, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(viewer)

    response = client.get("/explode/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "Nothing half-done is kept" in html
    assert_leaks_nothing(html)


def test_not_found_page(client, viewer):
    client.force_login(viewer)

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing at this address" in html
    assert "Using the URLconf" not in html
    assert_leaks_nothing(html)


def test_not_found_object_page(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("detach:request-detail", args=[999999]))
    assert response.status_code == 404
    assert "There is nothing at this address" in response.content.decode()


def test_forbidden_page(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("audit:history"))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


@pytest.mark.parametrize("url_name", ["logout", "inventory:sync-now"])
def test_missing_csrf_token_page(operator, url_name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    response = client.post(reverse(url_name))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Form expired" in html
    assert "Nothing was changed" in html
    assert "CSRF verification failed" not in html
