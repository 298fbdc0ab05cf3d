"""Personas and helpers shared by every test module."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from eniadmin.accounts.roles import Role, set_roles


def make_user(username: str, *roles: Role) -> User:
    user = User.objects.create_user(username=username, password=f"{username}-pass-4829")
    set_roles(user, list(roles))
    return user


@pytest.fixture
def operator(db) -> User:
    return make_user("olivia", Role.OPERATOR)


@pytest.fixture
def approver(db) -> User:
    return make_user("arthur", Role.APPROVER)


@pytest.fixture
def auditor(db) -> User:
    return make_user("audrey", Role.AUDITOR)


@pytest.fixture
def viewer(db) -> User:
    return make_user("victor", Role.VIEWER)


@pytest.fixture
def outsider(db) -> User:
    """Logged in, but holding no role."""
    return make_user("oscar")
