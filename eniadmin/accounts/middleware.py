from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import middleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from eniadmin.http import AppRequest


class LoginRequiredMiddleware(middleware.LoginRequiredMiddleware):
    """Django's, except for htmx requests without a session (it ran out on a page left open):
    htmx would follow a redirect and swap the whole login page into the fragment it asked for,
    so the browser is told to load the login page itself, coming back to the page it was on."""

    def handle_no_permission(self, request: AppRequest, view_func: Callable) -> HttpResponse:
        if not request.htmx:
            return super().handle_no_permission(request, view_func)
        back_to = request.htmx.current_url_abs_path or "/"
        login = redirect_to_login(
            back_to,
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )
        return HttpResponseClientRedirect(login.url)
