"""load_access() reads in one query what ModelBackend and the header would read in three."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eniadmin.accounts import access
from eniadmin.accounts.roles import Role
from tests.conftest import make_user


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _loaded(user: User) -> User:
    loaded = _fresh(user)
    with CaptureQueriesContext(connection) as queries:
        access.load_access(loaded)
    assert len(queries) == 1
    return loaded


@pytest.fixture
def everything_at_once(db) -> User:
    """Two roles, a permission of their own, and a group that grants nothing."""
    user = make_user("petra", Role.OPERATOR, Role.AUDITOR)
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    user.groups.add(Group.objects.create(name="on-call"))
    return user


@pytest.fixture
def superuser_auditor(db) -> User:
    user = User.objects.create_superuser("root-admin", password="root-admin-pass-4829")
    user.groups.add(Group.objects.get(name=Role.AUDITOR.label))
    return user


@pytest.fixture
def inactive_operator(operator) -> User:
    operator.is_active = False
    operator.save()
    return operator


@pytest.mark.parametrize(
    "persona",
    [
        "operator", "approver", "auditor", "viewer", "outsider", "everything_at_once",
        "superuser_auditor", "inactive_operator",
    ],
)  # fmt: skip
def test_the_permissions_are_modelbackends_own(persona, request, db):
    user = request.getfixturevalue(persona)
    loaded = _loaded(user)
    backend, fresh = ModelBackend(), _fresh(user)
    assert backend.get_user_permissions(loaded) == backend.get_user_permissions(fresh)
    assert backend.get_group_permissions(loaded) == backend.get_group_permissions(fresh)
    assert backend.get_all_permissions(loaded) == backend.get_all_permissions(fresh)
    assert access.roles(loaded) == access.roles(fresh)


def test_a_role_and_a_permission_of_ones_own_are_told_apart(everything_at_once):
    loaded = _loaded(everything_at_once)
    backend = ModelBackend()
    assert backend.get_user_permissions(loaded) == {"auth.view_user"}
    assert backend.get_group_permissions(loaded) == {
        "accounts.browse", "accounts.request_detach", "accounts.request_sync",
        "accounts.export_audit",
    }  # fmt: skip
    assert access.roles(loaded) == [Role.OPERATOR, Role.AUDITOR]
    with CaptureQueriesContext(connection) as queries:
        assert loaded.has_perm("accounts.export_audit")
        assert not loaded.has_perm("accounts.decide_detach")
    assert len(queries) == 0


def test_a_superuser_and_an_inactive_user_keep_their_roles(superuser_auditor, inactive_operator):
    assert access.roles(_loaded(superuser_auditor)) == [Role.AUDITOR]
    assert access.roles(_loaded(inactive_operator)) == [Role.OPERATOR]
