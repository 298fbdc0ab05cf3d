"""The signed-in user's roles and permissions in one query, for pages that check and show both.

Django's ModelBackend fetches a user's own permissions and their groups' permissions in two
queries, and the header's role badges need the group names in a third. `load_access()` reads
all three at once and leaves them where ModelBackend and the header look first, so every later
permission check of the request is free. The data is the same, read fresh on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db.models import CharField, Value
from django.http import HttpRequest, HttpResponse

from eniadmin.accounts.roles import Role, roles_of


def load_access(user: AbstractBaseUser | AnonymousUser) -> None:
    if not user.is_authenticated or hasattr(user, "_role_names"):
        return
    groups = Group.objects.filter(user=user).order_by()
    if user.is_superuser:
        # has_perm() grants a superuser everything without asking: only the roles are shown.
        user._role_names = set(groups.values_list("name", flat=True))
        return
    own = (
        Permission.objects.filter(user=user)
        .order_by()
        .values_list(Value("", output_field=CharField()), "content_type__app_label", "codename")
    )
    through_groups = groups.values_list(
        "name", "permissions__content_type__app_label", "permissions__codename"
    )
    own_perms, group_perms, group_names = set(), set(), set()
    for group, app_label, codename in own.union(through_groups, all=True):
        if group:
            group_names.add(group)
        if codename is None:  # a group without permissions
            continue
        (group_perms if group else own_perms).add(f"{app_label}.{codename}")
    user._role_names = group_names
    # ModelBackend's per-user caches (django/contrib/auth/backends.py); an inactive user never
    # reaches them, has_perm() refuses without asking.
    if user.is_active:
        user._user_perm_cache = own_perms
        user._group_perm_cache = group_perms
        user._perm_cache = own_perms | group_perms


def roles(user: AbstractBaseUser | AnonymousUser) -> list[Role]:
    """The user's roles: from load_access() when it ran for this request, else queried."""
    names = getattr(user, "_role_names", None)
    if names is None:
        return roles_of(user)
    return [role for role in Role if role.label in names]


def loads_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Load roles and permissions in one query before the view's permission checks run."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        load_access(request.user)
        return view(request, *args, **kwargs)

    return wrapper
