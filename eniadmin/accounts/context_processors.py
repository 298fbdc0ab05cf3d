from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from eniadmin.accounts import access


def roles(request: HttpRequest) -> dict[str, object]:
    """The current user's roles for the header, queried only if a template shows them (and not
    at all when the view loaded them with its permissions)."""
    return {"user_roles": SimpleLazyObject(lambda: access.roles(request.user))}
