"""Personas and helpers shared by every test module."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User

from eniadmin.accounts.roles import Role, set_roles
from eniadmin.ens.client import EnsClient, RetryPolicy
from eniadmin.ens.emulator.server import EmulatorServer


def ensure_role_groups() -> None:
    """Recreate the role groups if a transactional test's flush removed them.

    They come from data migrations, and flushing the tables between transactional tests drops
    such rows; the migrations' own functions put them back exactly as they were.
    """
    if Group.objects.filter(name__in=Role.labels).count() == len(Role):
        return
    roles = importlib.import_module("eniadmin.accounts.migrations.0002_roles")
    request_sync = importlib.import_module("eniadmin.accounts.migrations.0003_request_sync")
    roles.create_roles(django_apps, None)
    request_sync.grant(django_apps, None)


def make_user(username: str, *roles: Role) -> User:
    ensure_role_groups()
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


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """The ENS emulator on a free loopback port, with the demo fleet and quick transitions."""
    with EmulatorServer(detach_seconds=0.2, instance_transition_seconds=0.2) as server:
        yield server


def emulator_client(emulator: EmulatorServer) -> EnsClient:
    """Our client pointed at the emulator, retrying quickly."""
    return EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        read_timeout=5,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )


@pytest.fixture
def ens_client(emulator: EmulatorServer) -> Iterator[EnsClient]:
    client = emulator_client(emulator)
    yield client
    client.close()


@pytest.fixture
def cloud_settings(settings, emulator: EmulatorServer):
    """Point the settings (and so every client built from them) at this test's emulator."""
    settings.ENS_ENDPOINT = emulator.url
    settings.ENS_ACCESS_KEY_ID = emulator.access_key_id
    settings.ENS_ACCESS_KEY_SECRET = emulator.access_key_secret
    return settings
