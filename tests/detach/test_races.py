"""Concurrency on SQLite and PostgreSQL: many approvers, two workers and fifty pollers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from eniadmin.accounts.roles import Role, permissions_for
from eniadmin.audit.models import AuditEvent
from eniadmin.detach import workflow
from eniadmin.detach.models import DetachRequest
from eniadmin.ens.client import EnsClient, RetryPolicy
from tests.conftest import make_user
from tests.detach.conftest import detach_calls, open_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def role_groups(transactional_db) -> None:
    """A flush between transactional tests removes the groups the accounts migration made
    (permissions come back with post_migrate, groups do not): make them again."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set(permissions_for(role))


def _client_for(emulator) -> EnsClient:
    return EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        read_timeout=10,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )


def _run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except BaseException as error:  # reported by the caller
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_twenty_approvers_and_two_workers_make_one_api_call(
    operator, candidate, ens_client, emulator
):
    approvers = [make_user(f"approver{number}", Role.APPROVER) for number in range(20)]
    detach_request = open_request(candidate, operator, ens_client)
    outcomes: list[str] = []

    def approve(user) -> Callable[[], None]:
        def job() -> None:
            client = _client_for(emulator)
            try:
                workflow.approve_detach(
                    detach_request=DetachRequest.objects.get(pk=detach_request.pk),
                    approver=user,
                    client=client,
                )
                outcomes.append("approved")
            except workflow.AlreadyHandled:
                outcomes.append("already handled")
            finally:
                client.close()

        return job

    def work(name: str) -> Callable[[], None]:
        def job() -> None:
            client = _client_for(emulator)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                workflow.run_detach_work(client=client, worker=name)
                time.sleep(0.02)
            client.close()

        return job

    failures = _run_together(
        [approve(user) for user in approvers] + [work("worker-a"), work("worker-b")]
    )
    assert failures == []
    assert sorted(outcomes) == ["already handled"] * 19 + ["approved"]
    assert AuditEvent.objects.filter(action="detach_approved").count() == 1
    assert AuditEvent.objects.filter(action="detach_submitted").count() == 1
    assert len(detach_calls(emulator)) == 1
    assert DetachRequest.objects.get().status in ("detaching", "succeeded")


def test_two_workers_claim_one_approved_request_once(
    operator, approver, candidate, ens_client, emulator
):
    detach_request = open_request(candidate, operator, ens_client)
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    claims: list[bool] = []

    def execute(name: str) -> Callable[[], None]:
        def job() -> None:
            client = _client_for(emulator)
            claims.append(
                workflow.execute_detach(
                    detach_request=DetachRequest.objects.get(pk=detach_request.pk),
                    client=client,
                    worker=name,
                )
            )
            client.close()

        return job

    assert _run_together([execute("a"), execute("b")]) == []
    assert sorted(claims) == [False, True]
    assert len(detach_calls(emulator)) == 1


def test_fifty_concurrent_pollers_and_two_workers_ask_the_cloud_once_per_interval(
    viewer, operator, approver, candidate, ens_client, emulator, settings
):
    settings.ENS_REFRESH_SECONDS = 1
    emulator.control.change_eni(candidate.eni_id, stuck=True)
    detach_request = open_request(candidate, operator, ens_client)
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=ens_client)
    workflow.run_detach_work(client=ens_client, worker="w0")
    assert DetachRequest.objects.get().status == "detaching"
    emulator.control.clear_requests()
    status_url = reverse("detach:request-status", args=[detach_request.pk])
    row_url = reverse("detach:eni-row", args=[candidate.eni_id])
    seconds = 3.0
    polls: list[int] = []

    def poller() -> None:
        browser = Client()
        browser.force_login(viewer)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert browser.get(status_url).status_code == 200
            assert browser.get(row_url).status_code == 200
            polls.append(2)
            time.sleep(0.1)

    def worker(name: str) -> Callable[[], None]:
        def job() -> None:
            client = _client_for(emulator)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                workflow.run_detach_work(client=client, worker=name)
                time.sleep(0.05)
            client.close()

        return job

    started = time.monotonic()
    assert _run_together([poller] * 50 + [worker("a"), worker("b")]) == []
    elapsed = time.monotonic() - started
    describes = emulator.control.requests("DescribeNetworkInterfaces")
    assert sum(polls) > 100
    assert len(describes) <= int(elapsed / settings.ENS_REFRESH_SECONDS) + 1, (
        len(describes),
        elapsed,
    )
