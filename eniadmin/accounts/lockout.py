from __future__ import annotations

from typing import Any

from django.http import HttpRequest

USERNAME_MAX_LENGTH = 150


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username django-axes counts failures for, cut to the longest a username can be.

    The login form does not limit what is typed, and axes stores it in a 255-character column:
    a longer value would otherwise fail the login with a database error.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username)[:USERNAME_MAX_LENGTH]
