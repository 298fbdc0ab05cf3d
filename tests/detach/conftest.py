"""Detach tests run against the emulator over HTTP, with the fleet mirrored first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from eniadmin.accounts.roles import Role
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from eniadmin.ens.client import EnsClient
from eniadmin.inventory.models import NetworkInterface, SyncRun
from eniadmin.inventory.sync import run_sync, start_foreground_sync
from tests.conftest import emulator_client, make_user

REASON = "Freeing the interface for the new appliance."


@pytest.fixture(autouse=True)
def detach_settings(cloud_settings):
    """Views build their client from settings: point them at this test's emulator."""
    settings = cloud_settings
    settings.ENS_READ_TIMEOUT = 5
    settings.ENS_REFRESH_SECONDS = 0
    settings.DETACH_STUCK_AFTER = 300
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.fixture
def fleet(db, ens_client, emulator) -> dict:
    """The demo fleet mirrored; returns the emulator's demo notes."""
    run = run_sync(start_foreground_sync(), ens_client)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return emulator.control.state()["demo_notes"]


@pytest.fixture
def candidate(fleet) -> NetworkInterface:
    return NetworkInterface.objects.get(eni_id=fleet["detach_candidates"][0])


@pytest.fixture
def second_approver(db) -> User:
    return make_user("beatrice", Role.APPROVER)


@pytest.fixture
def other_client(emulator) -> Iterator[EnsClient]:
    """A second client, as a second worker process would have."""
    client = emulator_client(emulator)
    yield client
    client.close()


def open_request(eni: NetworkInterface, requester: User, client: EnsClient) -> DetachRequest:
    return workflow.request_detach(eni=eni, requester=requester, reason=REASON, client=client)


def approved_request(
    eni: NetworkInterface, requester: User, approver: User, client: EnsClient
) -> DetachRequest:
    detach_request = open_request(eni, requester, client)
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=client)
    assert detach_request.status == "approved", detach_request.error_message
    return detach_request


def detach_calls(emulator) -> list[dict]:
    return emulator.control.requests("DetachNetworkInterface")
