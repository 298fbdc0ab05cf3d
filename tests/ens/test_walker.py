"""The page walker: child processes fetch ENS pages, and the walk hands them over shaped."""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import EnsError, OutcomeUnknown
from eniadmin.ens.resources import Page
from eniadmin.ens.walker import FetcherLost, PageWalker, Walk


def instance_ids(items: list) -> list[str]:
    return [item.instance_id for item in items]


def eni_ids(items: list) -> list[str]:
    return [item.eni_id for item in items]


def exits_in_a_fetcher(items: list) -> list:
    if os.getpid() != int(os.environ["WALKER_TEST_CALLER"]):
        os._exit(3)
    return items


class GrowingFleet:
    """In place of the client: the fleet grows from 500 to 800 instances while it is walked,
    after the fetcher of even pages got pages 2 and 4 and before the other got any."""

    def describe_instances(self, *, page_number: int) -> Page[str]:
        total = 500 if page_number in (2, 4) else 800
        ids = (
            [f"i-{page_number}-{n}" for n in range(100)] if (page_number - 1) * 100 < total else []
        )
        return Page(ids, total, page_number, 100, f"request-{page_number}")


class ShrinkingFleet:
    """In place of the client: the fleet shrinks from 800 to 600 instances while it is walked,
    and the fetcher of odd pages, last told 800, asks for page 7, which fails."""

    def describe_instances(self, *, page_number: int) -> Page[str]:
        if page_number == 7:
            raise ValueError("page 7 is past the end")
        total = 600 if page_number in (4, 6) else 800
        return Page([f"i-{page_number}-{n}" for n in range(100)], total, page_number, 100, "r")


def first_ids(items: list[str]) -> list[str]:
    return items[:1]


class InstantFleet:
    """In place of the client: 800 instances, each page answered at once, naming the process
    that fetched it."""

    def describe_instances(self, *, page_number: int) -> Page[str]:
        return Page([f"pid-{os.getpid()}"], 800, page_number, 100, f"request-{page_number}")


@contextmanager
def walking(client: Any, *walks: Walk) -> Iterator[PageWalker]:
    """A PageWalker whose fetchers have started: until they have, the caller fetches the pages
    itself, and a small fleet would never reach them."""
    with PageWalker(client, *walks) as walker:
        deadline = time.monotonic() + 30
        while not all(fetcher.ready() for fetcher in walker.fetchers):
            assert time.monotonic() < deadline, "the page fetchers did not start"
            time.sleep(0.01)
        yield walker


BOTH_WALKS = (("describe_instances", instance_ids), ("describe_network_interfaces", eni_ids))


def test_pages_arrive_shaped_in_order_walk_after_walk(ens_client, emulator):
    emulator.control.reset(instances=1000)  # ten pages of instances, some forty of ENIs
    with walking(ens_client, *BOTH_WALKS) as walker:
        instance_pages = list(walker.pages())
        eni_pages = list(walker.pages())

    assert [page.page_number for page in eni_pages] == list(range(1, len(eni_pages) + 1))
    assert [i for page in instance_pages for i in page.items] == [
        instance.instance_id for instance in ens_client.iter_instances()
    ]
    assert [e for page in eni_pages for e in page.items] == [
        eni.eni_id for eni in ens_client.iter_network_interfaces()
    ]
    state = emulator.control.state()
    assert instance_pages[0].total_count == state["instances"]["total"]
    assert eni_pages[0].total_count == state["network_interfaces"]["total"]


def test_an_ens_error_in_a_fetcher_reaches_the_caller_whole(ens_client, emulator):
    emulator.control.reset(instances=1000)
    with walking(ens_client, *BOTH_WALKS) as walker:
        pages = walker.pages()
        next(pages)  # the first page comes from this process; the fetchers take the others
        emulator.control.set_faults([{"kind": "no_permission", "action": "DescribeInstances"}])
        with pytest.raises(EnsError) as raised:
            list(pages)
    error = raised.value
    assert error.code == "NoPermission" and error.action == "DescribeInstances"
    refused = [
        r for r in emulator.control.requests("DescribeInstances") if r["outcome"] == "NoPermission"
    ]
    assert error.request_id in {r["request_id"] for r in refused}
    assert "permission" in error.operator_message.lower()
    assert any("process fetching ENS pages" in note for note in error.__notes__)


def test_the_latest_total_count_decides_where_the_walk_ends():
    with walking(GrowingFleet(), ("describe_instances", first_ids)) as walker:
        pages = list(walker.pages())
    # The even pages' fetcher stops after page 4, as 500 instances end at page 5; pages 6 to 8
    # come all the same.
    assert [page.page_number for page in pages] == list(range(1, 9))
    assert [page.items for page in pages] == [[f"i-{n}-0"] for n in range(1, 9)]


def test_leaving_early_stops_the_walk(ens_client, emulator):
    emulator.control.reset(instances=5000)  # 50 pages of instances
    emulator.control.set_faults([{"kind": "latency", "ms": 20}])
    with walking(ens_client, ("describe_instances", instance_ids)) as walker:
        assert len(list(itertools.islice(walker.pages(), 3))) == 3
    time.sleep(0.1)  # requests already on their way are answered, and logged
    asked = len(emulator.control.requests())
    time.sleep(0.5)  # fetchers left running would ask for twenty more pages in this time
    assert len(emulator.control.requests()) == asked <= 3 + 2 * 4


def test_each_page_is_asked_for_once(ens_client, emulator):
    emulator.control.reset(instances=1000)
    with walking(ens_client, *BOTH_WALKS) as walker:
        instances = sum(len(page.items) for page in walker.pages())
        enis = sum(len(page.items) for page in walker.pages())
    for action, count in (("DescribeInstances", instances), ("DescribeNetworkInterfaces", enis)):
        asked = sorted(int(r["params"]["PageNumber"]) for r in emulator.control.requests(action))
        assert asked == list(range(1, -(-count // 100) + 1))


def test_a_fleet_of_one_page_takes_one_request(ens_client, emulator):
    emulator.control.reset(instances=30)
    with walking(ens_client, *BOTH_WALKS) as walker:
        assert len(list(walker.pages())) == 1
    assert len(emulator.control.requests("DescribeInstances")) == 1


def test_the_fetchers_log_lines_are_logged_by_the_caller(ens_client, emulator, caplog):
    emulator.control.reset(instances=1000)
    caplog.set_level(logging.INFO, logger="eniadmin.ens.client")
    with walking(ens_client, ("describe_instances", instance_ids)) as walker:
        pages = list(walker.pages())
    calls = [r for r in caplog.records if r.name == "eniadmin.ens.client"]
    assert len(pages) == 10 and len(calls) == len(pages)
    assert all("ENS DescribeInstances" in record.getMessage() for record in calls)
    assert len({record.process for record in calls}) == 3  # this process and two fetchers


def test_ctrl_c_and_sigterm_are_left_to_the_caller(ens_client, emulator):
    emulator.control.reset(instances=1000)  # 10 pages of instances, some 40 of ENIs
    emulator.control.set_faults([{"kind": "latency", "ms": 20}])
    with walking(ens_client, *BOTH_WALKS) as walker:
        pages = walker.pages()
        instances = list(itertools.islice(pages, 3))  # both fetchers have started
        for fetcher in walker.fetchers:
            os.kill(fetcher.process.pid, signal.SIGINT)
            os.kill(fetcher.process.pid, signal.SIGTERM)
        instances += list(pages)
        enis = list(walker.pages())  # a second walk, long after the signals
    assert [page.page_number for page in instances] == list(range(1, 11))
    assert [page.page_number for page in enis] == list(range(1, -(-enis[0].total_count // 100) + 1))


def test_until_the_fetchers_have_started_the_caller_fetches_the_pages_itself():
    with PageWalker(InstantFleet(), ("describe_instances", first_ids)) as walker:  # type: ignore[arg-type]
        fetchers = list(walker.fetchers)
        pages = list(walker.pages())
    # Eight pages answered at once: all fetched before a new interpreter could start.
    assert [page.page_number for page in pages] == list(range(1, 9))
    assert {item for page in pages for item in page.items} == {f"pid-{os.getpid()}"}
    # Never sent a walk, they are not waited for.
    assert [fetcher.process.returncode for fetcher in fetchers] == [-signal.SIGKILL] * 2


def test_once_started_the_fetchers_take_every_page_after_the_first():
    with walking(InstantFleet(), ("describe_instances", first_ids)) as walker:  # type: ignore[arg-type]
        fetchers = [f"pid-{fetcher.process.pid}" for fetcher in walker.fetchers]
        pages = list(walker.pages())
    assert [page.page_number for page in pages] == list(range(1, 9))
    fetched_by = [page.items[0] for page in pages]
    assert fetched_by == [f"pid-{os.getpid()}", *fetchers * 3, fetchers[0]]


def test_a_fetcher_gone_past_the_end_does_not_fail_the_walk():
    with walking(ShrinkingFleet(), ("describe_instances", first_ids)) as walker:
        pages = list(walker.pages())
    assert [page.page_number for page in pages] == list(range(1, 7))


def test_a_fetcher_that_dies_is_reported(ens_client, emulator, monkeypatch):
    emulator.control.reset(instances=1000)
    monkeypatch.setenv("WALKER_TEST_CALLER", str(os.getpid()))
    lost = pytest.raises(FetcherLost, match=r"ended unexpectedly \(exit code 3\)")
    with walking(ens_client, ("describe_instances", exits_in_a_fetcher)) as walker, lost:
        list(walker.pages())


def test_a_client_on_a_session_of_its_own_stays_in_its_process(emulator):
    client = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        session=requests.Session(),
    )
    with pytest.raises(TypeError, match="stays in its own process"):
        PageWalker(client, ("describe_instances", instance_ids)).__enter__()


def test_a_client_sent_elsewhere_keeps_its_settings_not_its_session(ens_client):
    copy = pickle.loads(pickle.dumps(ens_client))  # noqa: S301 - our own bytes
    assert (copy.endpoint, copy.credentials, copy.timeout, copy.retry) == (
        ens_client.endpoint,
        ens_client.credentials,
        ens_client.timeout,
        ens_client.retry,
    )
    assert copy.session is not ens_client.session
    assert copy.describe_regions().items == ens_client.describe_regions().items


def test_ens_errors_cross_processes_whole():
    error = OutcomeUnknown(message="no answer", action="DetachNetworkInterface", request_id="R1")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is OutcomeUnknown
    assert (copy.code, copy.message, copy.request_id, copy.category, copy.action) == (
        error.code,
        error.message,
        error.request_id,
        error.category,
        error.action,
    )
    assert str(copy) == str(error) and copy.operator_message == error.operator_message
