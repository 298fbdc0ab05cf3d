from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from eniadmin.accounts.roles import roles_of


def roles(request: HttpRequest) -> dict[str, object]:
    """The current user's roles for the header, queried only if a template shows them."""
    return {"user_roles": SimpleLazyObject(lambda: roles_of(request.user))}
