"""The security tests' world: a fleet mirrored from the emulator and one real detach request.

Fixtures from other folders are reused by importing them (pytest registers what a conftest
module holds); nothing here builds data another way than the application does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from eniadmin.accounts.roles import Role
from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.models import NetworkInterface
from tests.conftest import make_user
from tests.detach.conftest import open_request
from tests.inventory.conftest import synced  # noqa: F401 (a fixture, reused here)


@pytest.fixture
def security_settings(cloud_settings):
    """Views build their ENS client from settings: point them at this test's emulator."""
    cloud_settings.ENS_READ_TIMEOUT = 5
    cloud_settings.ENS_REFRESH_SECONDS = 0
    cloud_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return cloud_settings


@dataclass(frozen=True)
class World:
    notes: dict
    # The first detach candidate, with a pending request the operator made through the workflow.
    eni: NetworkInterface
    detach_request: DetachRequest


@pytest.fixture
def world(security_settings, synced, operator, ens_client) -> World:  # noqa: F811
    eni = NetworkInterface.objects.get(eni_id=synced["detach_candidates"][0])
    return World(notes=synced, eni=eni, detach_request=open_request(eni, operator, ens_client))


@pytest.fixture
def everyone(db) -> User:
    """Holds every role at once: the strongest ordinary user."""
    return make_user("polly", *Role)


def logged_in(user: User | None, **options: object) -> Client:
    client = Client(**options)
    if user is not None:
        client.force_login(user)
    return client
