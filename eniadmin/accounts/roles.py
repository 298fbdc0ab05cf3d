"""The four roles, and which of the dashboard's permissions each one grants.

A role is a Django group of the same name; a user may hold several.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    APPROVER = "approver", "Approver"
    AUDITOR = "auditor", "Auditor"


# Changing this needs a data migration as well: groups are created by accounts/migrations.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("browse",),
    Role.OPERATOR: ("browse", "request_detach", "request_sync"),
    Role.APPROVER: ("browse", "decide_detach", "request_sync"),
    Role.AUDITOR: ("browse", "export_audit"),
}


def group_for(role: Role) -> Group:
    return Group.objects.get(name=role.label)


def roles_of(user: AbstractBaseUser | AnonymousUser) -> list[Role]:
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in Role if role.label in names]


def set_roles(user: AbstractBaseUser, roles: list[Role]) -> None:
    """Give the user exactly these roles, keeping any group that is not a role."""
    role_groups = Group.objects.filter(name__in=Role.labels)
    user.groups.remove(*role_groups)
    user.groups.add(*role_groups.filter(name__in=[role.label for role in roles]))


def permissions_for(role: Role) -> models.QuerySet[Permission]:
    return Permission.objects.filter(
        content_type__app_label="accounts", codename__in=ROLE_PERMISSIONS[role]
    )
