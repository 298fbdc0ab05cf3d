"""The benchmark suite's code paths on a tiny fleet, in seconds, so `make bench` cannot rot.

These count pages, queries and cloud calls with the very functions bench/*.py use; they never
assert a time (the figures themselves come from `make bench`, see README, "Performance").
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench import client_overhead, end_to_end, list_page, poll
from bench import sync as sync_bench
from bench._common import describe_times
from eniadmin.detach import workflow
from eniadmin.inventory.models import NetworkInterface
from eniadmin.worker import Worker
from tests.conftest import emulator_client
from tests.inventory.conftest import sync

FLEET = 60
LIST_PAGE_QUERY_TARGET = 6
POLLERS = 50
REFRESH_SECONDS = 0.5
REASON = "Benchmark smoke test of the detach path."


def mirrored(emulator, ens_client, instances: int = FLEET) -> dict:
    """The emulator's fleet at this size, mirrored; returns the emulator's demo notes."""
    emulator.control.reset(instances=instances)
    run = sync(ens_client)
    assert run.status == "succeeded", run.error_message
    return emulator.control.state()["demo_notes"]


def approved(eni_id: str, operator, approver, client) -> object:
    eni = NetworkInterface.objects.get(eni_id=eni_id)
    detach_request = workflow.request_detach(
        eni=eni, requester=operator, reason=REASON, client=client
    )
    workflow.approve_detach(detach_request=detach_request, approver=approver, client=client)
    assert detach_request.status == "approved", detach_request.error_message
    return detach_request


# Sync ----------------------------------------------------------------------------------------


def test_sync_fetches_the_minimum_pages_and_a_re_sync_writes_nothing(db, ens_client, emulator):
    emulator.control.reset(instances=FLEET)
    state = emulator.control.state()
    result = sync_bench.sync_round(ens_client, emulator.control)
    minimum = sync_bench.minimum_pages(
        state["instances"]["total"], state["network_interfaces"]["total"]
    )
    assert result["instances"] == FLEET
    assert result["first_sync_pages"] == minimum
    assert result["no_change_sync_pages"] == minimum
    assert result["no_change_write_statements"] == 0
    assert result["no_change_rows_changed"] == 0


# List page -----------------------------------------------------------------------------------


@pytest.fixture
def list_page_query_counts(client, operator, ens_client, emulator) -> dict[str, int]:
    """The list page's SQL queries as an Operator: two fleet sizes, two page sizes, two pages."""
    counts = {}
    for instances in (FLEET, 2 * FLEET):
        mirrored(emulator, ens_client, instances)
        client.force_login(operator)
        for case, queries in list_page.list_page_queries(client).items():
            counts[f"{instances} instances, {case}"] = queries
    return counts


def test_list_page_queries_are_the_same_for_every_fleet_and_page_size(list_page_query_counts):
    assert len(set(list_page_query_counts.values())) == 1, list_page_query_counts


def test_list_page_meets_the_query_target(list_page_query_counts):
    assert max(list_page_query_counts.values()) <= LIST_PAGE_QUERY_TARGET, list_page_query_counts


# Polling -------------------------------------------------------------------------------------


def test_many_pollers_cause_at_most_one_cloud_read_per_eni_per_refresh_interval(
    client, settings, cloud_settings, viewer, operator, approver, ens_client, emulator
):
    settings.ENS_REFRESH_SECONDS = REFRESH_SECONDS
    notes = mirrored(emulator, ens_client)
    eni_id = notes["stuck_on_detach"][0]
    detach_request = approved(eni_id, operator, approver, ens_client)
    workflow.run_detach_work(client=ens_client, worker="bench-setup")
    detach_request.refresh_from_db()
    assert detach_request.status == "detaching"
    urls = [
        reverse("detach:request-status", args=[detach_request.pk]),
        reverse("detach:eni-row", args=[eni_id]),
    ]
    client.force_login(viewer)

    def poll_round() -> None:
        for n in range(POLLERS):
            response = client.get(urls[n % 2], headers={"HX-Request": "true"})
            assert response.status_code == 200

    emulator.control.clear_requests()
    poll_round()
    assert emulator.control.requests() == [], "a poll never asks the cloud"

    # Two workers, as two run_worker processes, tick between every ten polls.
    workers = [Worker(emulator_client(emulator), name=f"bench-{n}") for n in range(2)]
    ticks = 0
    deadline = time.monotonic() + 4 * REFRESH_SECONDS
    while time.monotonic() < deadline:
        for n in range(POLLERS):
            client.get(urls[n % 2], headers={"HX-Request": "true"})
            if n % 10 == 0:
                workers[ticks % 2].work_once()
                ticks += 1
    times = describe_times(emulator.control.requests(), eni_id)
    assert len(times) >= 2, "the workers followed the detaching ENI"
    assert poll.busiest_window(times, REFRESH_SECONDS - poll.LOG_JITTER_SECONDS) == 1, [
        round(gap, 3) for gap in poll.gaps(times)
    ]


def test_the_row_polls_at_the_ui_interval_until_it_shows_the_eni_available(
    client, settings, cloud_settings, viewer, operator, approver, ens_client, emulator
):
    settings.ENS_REFRESH_SECONDS = 0.1
    notes = mirrored(emulator, ens_client)
    eni_id = notes["detach_candidates"][0]
    approved(eni_id, operator, approver, ens_client)
    client.force_login(viewer)
    row = reverse("detach:eni-row", args=[eni_id])
    worker = Worker(ens_client, name="bench-e2e")

    def get() -> str:
        worker.work_once()
        return client.get(row, headers={"HX-Request": "true"}).content.decode()

    # The emulator detaches in 0.2 s here: poll quicker than the fragment asks, same path.
    _, intervals = end_to_end.watch_fragment(get, timeout=15, sleep=lambda _: time.sleep(0.1))
    assert intervals, "the row polled while the ENI moved"
    assert set(intervals) == {2.0}, "a moving row polls every 2 s in its first minute"
    final = client.get(row, headers={"HX-Request": "true"}).content.decode()
    assert end_to_end.shows_available(final)
    assert end_to_end.poll_seconds(final) is None, "an Available row stops polling"


# Client --------------------------------------------------------------------------------------


def test_the_client_benchmark_runs_ours_the_official_sdk_and_the_bare_loop():
    result = client_overhead.measure(calls=20, rounds=1)
    assert result["ours_over_official"] > 0
    assert result["bare_requests_over_official"] > 0


# The poll benchmark's baseline ------------------------------------------------------------------


@override_settings(ROOT_URLCONF="bench._urls")
def test_the_trivial_baseline_view_needs_a_login_and_does_nothing_else(client, viewer):
    assert client.get("/_bench/trivial/").status_code == 302
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/_bench/trivial/")
    assert response.status_code == 200
    assert len(queries.captured_queries) == 2, "the session and the user, nothing else"
