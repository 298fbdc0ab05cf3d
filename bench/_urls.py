"""The project's URLs plus /_bench/trivial/, served only under bench._settings."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_required
def trivial(request: HttpRequest) -> HttpResponse:
    """A login-required view that does nothing else: the cost every signed-in request pays
    (middleware, session, user), the floor a poll fragment is compared with."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("_bench/trivial/", trivial),
    path("", include("eniadmin.urls")),
]
