from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from eniadmin.accounts.roles import ROLE_PERMISSIONS, Role, roles_of
from tests.conftest import make_user

ALL_PERMISSIONS = {"browse", "request_detach", "decide_detach", "export_audit", "request_sync"}


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (Role.VIEWER, {"browse"}),
        (Role.OPERATOR, {"browse", "request_detach", "request_sync"}),
        (Role.APPROVER, {"browse", "decide_detach", "request_sync"}),
        (Role.AUDITOR, {"browse", "export_audit"}),
    ],
)
def test_each_role_grants_exactly_its_permissions(db, role, granted):
    user = make_user("someone", role)
    held = {codename for codename in ALL_PERMISSIONS if user.has_perm(f"accounts.{codename}")}
    assert held == granted


def test_the_migration_created_the_groups_the_code_expects(db):
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.label)
        assert set(group.permissions.values_list("codename", flat=True)) == set(codenames)


def test_a_user_may_hold_several_roles(db):
    user = make_user("both", Role.OPERATOR, Role.AUDITOR)
    assert roles_of(user) == [Role.OPERATOR, Role.AUDITOR]
    assert user.has_perm("accounts.request_detach")
    assert user.has_perm("accounts.export_audit")
    assert not user.has_perm("accounts.decide_detach")


def test_user_without_role_has_no_permission(outsider):
    assert not any(outsider.has_perm(f"accounts.{codename}") for codename in ALL_PERMISSIONS)


def test_create_user_command_creates_a_user_with_roles(db, monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", "correct-horse-battery-91")
    call_command(
        "create_user",
        "nadia",
        "--role",
        "operator",
        "--role",
        "auditor",
        "--password-from-env",
        "NEW_PASSWORD",
    )
    user = User.objects.get(username="nadia")
    assert user.check_password("correct-horse-battery-91")
    assert roles_of(user) == [Role.OPERATOR, Role.AUDITOR]
    assert "Created nadia with roles: Operator, Auditor" in capsys.readouterr().out


def test_create_user_command_replaces_roles_of_an_existing_user(db, monkeypatch):
    make_user("nadia", Role.OPERATOR)
    monkeypatch.setenv("NEW_PASSWORD", "correct-horse-battery-91")
    call_command(
        "create_user", "nadia", "--role", "approver", "--password-from-env", "NEW_PASSWORD"
    )
    assert roles_of(User.objects.get(username="nadia")) == [Role.APPROVER]


def test_create_user_command_refuses_a_missing_password_variable(db, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(CommandError, match="NOT_SET_ANYWHERE is not set"):
        call_command(
            "create_user", "nadia", "--role", "viewer", "--password-from-env", "NOT_SET_ANYWHERE"
        )
    assert not User.objects.filter(username="nadia").exists()


def test_create_user_command_refuses_a_weak_password(db, monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "password")
    with pytest.raises(CommandError, match="Password refused"):
        call_command(
            "create_user", "nadia", "--role", "viewer", "--password-from-env", "NEW_PASSWORD"
        )
    assert not User.objects.filter(username="nadia").exists()


def test_create_user_command_refuses_an_unknown_role(db, monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "correct-horse-battery-91")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command(
            "create_user", "nadia", "--role", "root", "--password-from-env", "NEW_PASSWORD"
        )
