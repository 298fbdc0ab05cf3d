"""The signed-in user's roles and permissions in one query, for pages that check and show both.

Django's ModelBackend fetches a user's own permissions and their groups' permissions in two
queries, and the header's role badges need the group names in a third. `load_access()` reads
all three at once and leaves them where ModelBackend and the header look first, so every later
permission check of the request is free. The data is the same, read fresh on every request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import HttpRequest, HttpResponse

from eniadmin.accounts.roles import Role, roles_of


def load_access(user: AbstractBaseUser | AnonymousUser) -> None:
    if not user.is_authenticated or hasattr(user, "_role_names"):
        return
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(), [user.pk, user.pk])
        rows = cursor.fetchall()
    own_perms, group_perms, group_names = set(), set(), set()
    for group, app_label, codename in rows:
        if group:
            group_names.add(group)
        if codename is None:  # a group without permissions
            continue
        (group_perms if group else own_perms).add(f"{app_label}.{codename}")
    user._role_names = group_names
    # ModelBackend's per-user caches (django/contrib/auth/backends.py). has_perm() grants a
    # superuser everything and refuses an inactive user without asking them.
    if user.is_active and not user.is_superuser:
        user._user_perm_cache = own_perms
        user._group_perm_cache = group_perms
        user._perm_cache = own_perms | group_perms


@functools.cache
def _access_sql() -> str:
    """(group name, app label, codename) rows: the user's own permissions with "" as the group,
    then each of their groups with its permissions (NULLs for a group without any).

    Written out once rather than built by the ORM on every request: compiling this union took
    longer than running it, and every page and every poll runs it.
    """
    quote = connection.ops.quote_name
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions")
    membership = user_model._meta.get_field("groups")
    granted = Group._meta.get_field("permissions")
    permission, content_type = Permission._meta, ContentType._meta
    names = {
        "permission": quote(permission.db_table),
        "content_type": quote(content_type.db_table),
        "group": quote(Group._meta.db_table),
        "own": quote(own.m2m_db_table()),
        "own_user": quote(own.m2m_column_name()),
        "own_permission": quote(own.m2m_reverse_name()),
        "membership": quote(membership.m2m_db_table()),
        "member": quote(membership.m2m_column_name()),
        "member_group": quote(membership.m2m_reverse_name()),
        "granted": quote(granted.m2m_db_table()),
        "granted_group": quote(granted.m2m_column_name()),
        "granted_permission": quote(granted.m2m_reverse_name()),
    }
    # Only quoted names of Django's own tables go into the text; the user is a parameter.
    return (  # noqa: S608
        "SELECT '', ct.app_label, p.codename"
        " FROM {own} o"
        " JOIN {permission} p ON p.id = o.{own_permission}"
        " JOIN {content_type} ct ON ct.id = p.content_type_id"
        " WHERE o.{own_user} = %s"
        " UNION ALL"
        " SELECT g.name, ct.app_label, p.codename"
        " FROM {membership} m"
        " JOIN {group} g ON g.id = m.{member_group}"
        " LEFT JOIN {granted} gp ON gp.{granted_group} = g.id"
        " LEFT JOIN {permission} p ON p.id = gp.{granted_permission}"
        " LEFT JOIN {content_type} ct ON ct.id = p.content_type_id"
        " WHERE m.{member} = %s"
    ).format(**names)


def roles(user: AbstractBaseUser | AnonymousUser) -> list[Role]:
    """The user's roles: from load_access() when it ran for this request, else queried."""
    names = getattr(user, "_role_names", None)
    if names is None:
        return roles_of(user)
    return [role for role in Role if role.label in names]


def loads_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Load roles and permissions in one query before the view's permission checks run."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        load_access(request.user)
        return view(request, *args, **kwargs)

    return wrapper
