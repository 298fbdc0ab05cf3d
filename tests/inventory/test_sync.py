"""The sync against the emulator over HTTP."""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eniadmin.audit.models import AuditEvent
from eniadmin.ens.client import EnsClient, RetryPolicy
from eniadmin.inventory.models import EdgeRegion, Instance, NetworkInterface, SyncRun
from tests.inventory.conftest import sync


def mirror() -> dict[str, tuple]:
    return {
        **{i.instance_id: (i.status, i.name, i.private_ips) for i in Instance.objects.present()},
        **{
            e.eni_id: (
                e.status,
                e.type,
                e.attached_instance_id,
                e.primary_ip,
                e.instance.instance_id if e.instance else None,
            )
            for e in NetworkInterface.objects.present().select_related("instance")
        },
    }


def test_first_sync_mirrors_the_whole_fleet(db, ens_client, emulator):
    state = emulator.control.state()
    run = sync(ens_client)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.instances_created == Instance.objects.count() == state["instances"]["total"]
    assert (
        run.enis_created == NetworkInterface.objects.count() == state["network_interfaces"]["total"]
    )
    assert run.pages_done == run.pages_expected == 2
    assert set(EdgeRegion.objects.values_list("region_id", flat=True)) == set(state["regions"])
    candidate = NetworkInterface.objects.get(eni_id=state["demo_notes"]["detach_candidates"][0])
    assert (candidate.status, candidate.type) == ("InUse", "Secondary")
    assert candidate.instance.instance_id == candidate.attached_instance_id
    assert candidate.instance.status == "Stopped"
    assert candidate.mac_address and candidate.primary_ip and candidate.vswitch_id
    page_sizes = {
        entry["params"]["PageSize"]
        for entry in emulator.control.requests()
        if entry["action"].startswith("DescribeN") or entry["action"] == "DescribeInstances"
    }
    assert page_sizes == {"100"}


def test_every_mirrored_value_is_the_clouds(db, ens_client):
    sync(ens_client)

    spaced = " ".join
    for eni in ens_client.iter_network_interfaces():
        row = NetworkInterface.objects.get(eni_id=eni.eni_id)
        assert (
            row.name, row.description, row.region_id, row.attached_instance_id, row.status,
            row.type, row.primary_ip, row.primary_ip_type, row.mac_address, row.network_id,
            row.vswitch_id, row.security_group_ids, row.private_ips, row.ipv6_addresses,
            row.cloud_created_at, row.gone_at, row.service_managed,
        ) == (
            eni.name, eni.description, eni.region_id, eni.instance_id, eni.status, eni.type,
            eni.primary_ip, eni.primary_ip_type, eni.mac_address, eni.network_id,
            eni.vswitch_id, spaced(eni.security_group_ids), spaced(eni.private_ips),
            spaced(eni.ipv6_addresses), eni.creation_time, None, False,
        )  # fmt: skip
        assert (row.instance.instance_id if row.instance else "") == eni.instance_id
    for instance in ens_client.iter_instances():
        row = Instance.objects.get(instance_id=instance.instance_id)
        assert (
            row.name, row.host_name, row.region_id, row.status, row.spec_name, row.image_id,
            row.network_id, row.vswitch_id, row.private_ips, row.public_ips,
            row.security_group_ids, row.cloud_created_at, row.expires_at, row.gone_at,
        ) == (
            instance.name, instance.host_name, instance.region_id, instance.status,
            instance.spec_name, instance.image_id, instance.network_id, instance.vswitch_id,
            spaced(instance.private_ips), spaced(instance.public_ips),
            spaced(instance.security_group_ids), instance.creation_time,
            instance.expired_time, None,
        )  # fmt: skip


def test_a_sync_with_nothing_changed_writes_no_row(db, ens_client):
    sync(ens_client)
    # COPY (PostgreSQL's inserts) is not a query Django captures: rows are counted too.
    rows = (Instance.objects.count(), NetworkInterface.objects.count())
    with CaptureQueriesContext(connection) as queries:
        run = sync(ens_client)
    assert (Instance.objects.count(), NetworkInterface.objects.count()) == rows
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and (
            "inventory_instance" in q["sql"]
            or "inventory_networkinterface" in q["sql"]
            or "inventory_edgeregion" in q["sql"]
        )
    ]
    assert writes == []
    assert (run.instances_created, run.instances_updated, run.instances_gone) == (0, 0, 0)
    assert (run.enis_created, run.enis_updated, run.enis_gone) == (0, 0, 0)


def test_a_changed_fleet_creates_updates_and_marks_gone(db, ens_client, emulator):
    sync(ens_client)
    notes = emulator.control.state()["demo_notes"]
    changed_eni = notes["detach_candidates"][0]
    stopped_instance = notes["running_with_secondaries"][0]
    emulator.control.change_eni(changed_eni, status="Available")
    emulator.control.set_instance_status(stopped_instance, "Stopped")
    before = NetworkInterface.objects.get(eni_id=changed_eni)

    run = sync(ens_client)

    eni = NetworkInterface.objects.get(eni_id=changed_eni)
    assert (eni.status, eni.attached_instance_id, eni.instance) == ("Available", "", None)
    assert eni.status_changed_at > before.status_changed_at
    assert Instance.objects.get(instance_id=stopped_instance).status == "Stopped"
    assert (run.enis_updated, run.instances_updated) == (1, 1)

    emulator.control.reset(seed=2, instances=5)
    run = sync(ens_client)
    assert run.instances_gone == 24 and run.instances_created == 5
    assert Instance.objects.present().count() == 5
    assert Instance.objects.filter(gone_at__isnull=False).count() == 24, "gone rows are kept"
    assert NetworkInterface.objects.get(eni_id=changed_eni).gone_at is not None
    # Each was asked for by id before it was marked gone, a hundred ids a call.
    asked = emulator.control.requests("DescribeInstances")
    assert [
        len(json.loads(r["params"]["InstanceIds"])) for r in asked if "InstanceIds" in r["params"]
    ] == [24]


def test_marking_gone_that_fails_half_way_counts_nothing_gone(
    db, ens_client, emulator, monkeypatch
):
    from eniadmin.inventory import sync as inventory_sync

    sync(ens_client)
    emulator.control.reset(instances=0)
    mark_gone = inventory_sync._mark_gone

    def failing_at_the_enis(model, *args):
        if model is NetworkInterface:
            raise inventory_sync.IntegrityError("the database refused")
        return mark_gone(model, *args)

    monkeypatch.setattr(inventory_sync, "_mark_gone", failing_at_the_enis)
    with pytest.raises(inventory_sync.IntegrityError):
        sync(ens_client)
    run = SyncRun.objects.latest("created_at")
    assert run.status == SyncRun.Status.FAILED
    assert (run.instances_gone, run.enis_gone) == (0, 0)
    assert Instance.objects.present().count() == 24, "rolled back with the ENIs"


def test_a_row_the_walk_missed_while_the_fleet_changed_is_not_marked_gone(
    db, ens_client, emulator, monkeypatch
):
    from eniadmin.inventory import sync as inventory_sync

    sync(ens_client)
    missed = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    mark_gone = inventory_sync._Walk.mark_gone

    def as_if_the_walk_missed_it(walk, client):
        # What a walk sees when the ENI moves to a page already fetched while it walks.
        walk.seen_enis.discard(missed)
        mark_gone(walk, client)

    monkeypatch.setattr(inventory_sync._Walk, "mark_gone", as_if_the_walk_missed_it)
    emulator.control.clear_requests()
    run = sync(ens_client)

    assert run.status == SyncRun.Status.SUCCEEDED and run.enis_gone == 0
    assert NetworkInterface.objects.get(eni_id=missed).gone_at is None
    asked = [r["params"] for r in emulator.control.requests("DescribeNetworkInterfaces")]
    assert {"NetworkInterfaceIds.1": missed}.items() <= asked[-1].items()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_a_big_change_refreshes_the_planner_statistics(db, ens_client, monkeypatch):
    from eniadmin.inventory import sync as inventory_sync

    def estimated_rows() -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = %s",
                [NetworkInterface._meta.db_table],
            )
            return cursor.fetchone()[0]

    def analysed_columns() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname FROM pg_stats WHERE tablename = %s",
                [NetworkInterface._meta.db_table],
            )
            return {column for (column,) in cursor}

    before = estimated_rows()
    monkeypatch.setattr(inventory_sync, "ANALYZE_AFTER_CHANGED_ROWS", 10)
    sync(ens_client)
    assert estimated_rows() == NetworkInterface.objects.count() != before
    analysed = analysed_columns()
    assert {"instance_id", "status", "type"} <= analysed and "mac_address" not in analysed
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cardinality(most_common_freqs) FROM pg_stats "
            "WHERE tablename = %s AND attname = 'instance_id'",
            [NetworkInterface._meta.db_table],
        )
        (common_values,) = cursor.fetchone()
    # Its 24 instances, some four ENIs each, would all be listed from a full sample.
    assert common_values <= inventory_sync.QUICK_STATISTICS_TARGET, "a quick, rough sample"


def test_an_empty_fleet_syncs_and_marks_everything_gone(db, ens_client, emulator):
    sync(ens_client)
    emulator.control.reset(instances=0)

    run = sync(ens_client)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert (run.instances_gone, run.instances_created) == (24, 0)
    assert not Instance.objects.present().exists()
    assert not NetworkInterface.objects.present().exists()


def test_a_change_other_than_status_keeps_the_time_of_the_status(db, ens_client, emulator):
    sync(ens_client)
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    before = NetworkInterface.objects.get(eni_id=eni_id)
    emulator.control.change_eni(eni_id, name="renamed outside the dashboard")

    run = sync(ens_client)

    eni = NetworkInterface.objects.get(eni_id=eni_id)
    assert run.enis_updated == 1
    assert eni.name == "renamed outside the dashboard"
    assert eni.changed_at > before.changed_at
    assert eni.status_changed_at == before.status_changed_at


def test_a_row_that_comes_back_is_no_longer_gone(db, ens_client, emulator):
    sync(ens_client)
    emulator.control.reset(seed=2, instances=3)
    sync(ens_client)
    emulator.control.reset(seed=1, instances=24)
    run = sync(ens_client)
    assert run.instances_updated == 24
    assert Instance.objects.present().count() == 24
    # Each one's return is recorded, as its going was.
    back = AuditEvent.objects.filter(action="external_change", after__listed=True)
    assert back.filter(eni_id="").count() == 24
    assert back.exclude(eni_id="").count() == NetworkInterface.objects.present().count()
    assert {event.before["listed"] for event in back} == {False}


def test_faults_do_not_change_the_result(db, ens_client, emulator):
    emulator.control.reset(instances=150)
    emulator.control.set_faults(
        [
            {"kind": "throttle", "rate": 0.3, "retry_after_ms": 1},
            {"kind": "interface_error", "rate": 0.15},
            {"kind": "service_unavailable", "rate": 0.15},
            {"kind": "drop", "rate": 0.1},
        ]
    )
    patient = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        retry=RetryPolicy(max_attempts=15, base_delay=0.001, max_delay=0.01),
    )
    run = sync(patient)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    outcomes = {entry["outcome"] for entry in emulator.control.requests()}
    assert "Throttling.User" in outcomes and "ok" in outcomes
    faulty = mirror()

    emulator.control.clear_faults()
    Instance.objects.all().delete()
    NetworkInterface.objects.all().delete()
    sync(ens_client)
    assert faulty == mirror()


def test_a_sync_failing_half_way_keeps_finished_pages_and_marks_nothing_gone(
    db, ens_client, emulator
):
    sync(ens_client)
    emulator.control.reset(seed=3, instances=30)
    emulator.control.set_faults([{"kind": "internal_error", "action": "DescribeNetworkInterfaces"}])
    impatient = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        retry=RetryPolicy(max_attempts=2, base_delay=0.001),
    )

    run = sync(impatient)

    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == "InternalError"
    assert run.error_request_id
    assert "temporary failure" in run.error_message
    assert run.pages_done == 1 and run.instances_created == 30
    assert Instance.objects.present().count() == 24 + 30, "nothing marked gone after a failure"
    assert run.enis_gone == run.instances_gone == 0


def test_pages_fetched_are_the_minimum(db, ens_client, emulator):
    emulator.control.reset(instances=260)
    state = emulator.control.state()
    sync(ens_client)
    log = emulator.control.requests()
    assert len([e for e in log if e["action"] == "DescribeInstances"]) == math.ceil(260 / 100)
    assert len([e for e in log if e["action"] == "DescribeNetworkInterfaces"]) == math.ceil(
        state["network_interfaces"]["total"] / 100
    )


def test_the_worker_stopping_between_pages_fails_the_run_cleanly(db, ens_client, emulator):
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    emulator.control.reset(instances=250)
    run = run_sync(start_foreground_sync(), ens_client, should_stop=lambda: True)
    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == "WorkerStopped"
    assert run.pages_done == 1
    assert run.instances_created == Instance.objects.count() == 100, "the page walked is kept"


def kill_the_page_fetchers() -> int:
    """SIGKILL to this process's page fetchers, as the out-of-memory killer would send."""
    killed = 0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):  # not a process, or gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"eniadmin.ens.walker" in command:
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
            deadline = time.monotonic() + 10
            while (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                assert time.monotonic() < deadline, "a killed page fetcher did not die"
                time.sleep(0.01)  # dead, and its pipes closed, once it is a zombie
    return killed


@pytest.mark.parametrize("stopping", [False, True])
def test_a_page_fetcher_killed_mid_sync_fails_the_run_not_the_worker(
    db, ens_client, emulator, stopping
):
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    emulator.control.reset(instances=1000)
    killed, asked_to_stop = [], []

    def kill_after_the_first_page(run: SyncRun) -> None:
        if run.pages_done == 1:  # the fetchers exist, not yet told to fetch
            killed.append(kill_the_page_fetchers())

    def stopping_once_they_are_gone() -> bool:
        asked_to_stop.append(bool(killed))
        return stopping and asked_to_stop.count(True) > 1  # not yet right after the kill

    run = run_sync(
        start_foreground_sync(),
        ens_client,
        on_progress=kill_after_the_first_page,
        should_stop=stopping_once_they_are_gone,
    )
    assert killed == [2]
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    if stopping:  # whatever stopped the worker reached its fetchers first
        assert run.error_code == "WorkerStopped"
    else:
        assert run.error_code == "FetcherLost"
        assert "ended unexpectedly (exit code -9)" in run.error_message
    assert Instance.objects.count() == run.instances_created == 100, "the page walked is kept"


def test_a_sync_fails_cleanly_even_when_its_last_pages_cannot_be_written(
    db, ens_client, emulator, monkeypatch
):
    from django.db import OperationalError

    from eniadmin.inventory import sync as sync_module

    emulator.control.reset(instances=250)

    insert_rows = sync_module._insert_rows

    def locked_for_instances(model, rows):
        if model is Instance:
            raise OperationalError("database is locked")
        insert_rows(model, rows)

    monkeypatch.setattr(sync_module, "_insert_rows", locked_for_instances)
    run = sync_module.run_sync(
        sync_module.start_foreground_sync(), ens_client, should_stop=lambda: True
    )
    assert run.status == SyncRun.Status.FAILED and run.error_code == "WorkerStopped"
    assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.FAILED
    assert run.instances_created == Instance.objects.count() == 0


def test_an_unexpected_error_keeps_the_pages_walked_before_it(db, ens_client, emulator):
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    emulator.control.reset(instances=250)
    pages_seen = []

    def broken_after_two_pages() -> bool:
        pages_seen.append(1)
        if len(pages_seen) == 2:
            raise RuntimeError("a bug")
        return False

    run = start_foreground_sync()
    with pytest.raises(RuntimeError):
        run_sync(run, ens_client, should_stop=broken_after_two_pages)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and run.error_code == "InternalError"
    assert run.instances_created == Instance.objects.count() == 200


def test_rows_are_written_once_when_the_fleet_shifts_mid_walk(db):
    """A row may come on two pages when the fleet changes during the walk; written in one
    batch, the later version wins and nothing is inserted twice."""
    from django.utils import timezone

    from eniadmin.inventory.mirrored import fingerprinted
    from eniadmin.inventory.sync import _Batch

    def values(status):
        return fingerprinted({"name": "a", "host_name": "", "region_id": "r", "status": status})

    now = timezone.now()
    batch = _Batch(Instance, "instance_id", now, watched=("status",))
    batch.add({"i-1": values("Running")})
    batch.add({"i-1": values("Stopped")})
    assert batch.write().created == 1
    assert Instance.objects.get(instance_id="i-1").status == "Stopped"

    batch.add({"i-1": values("Running")})  # changed on one page...
    batch.add({"i-1": values("Stopped")})  # ...and back on the next
    assert batch.write().updated == 0


@pytest.mark.parametrize("status", ["queued", "running"])
def test_the_database_holds_one_open_run_per_status(db, status):
    from django.db import IntegrityError, transaction

    SyncRun.objects.create(status=status)
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(status=status)


def test_times_reach_the_database_as_django_would_write_them(db):
    from datetime import UTC, datetime, timedelta, timezone

    from eniadmin.inventory.sync import _time_to_db

    to_db = _time_to_db()
    times = [
        None,
        datetime(2022, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 28, 10, 3, 4, 123456, tzinfo=UTC),
        datetime(2026, 11, 28, 18, 3, 4, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 11, 28, 10, 3, 4, 123456, tzinfo=UTC),  # again, as in every row
        datetime(2026, 11, 28, 10, 3, 4, 123456, tzinfo=timezone(timedelta(0))),
    ]
    assert [to_db(value) for value in times] == [
        connection.ops.adapt_datetimefield_value(value) for value in times
    ]


@pytest.mark.parametrize("noticed", ["at its next progress", "at its end"])
def test_a_run_another_worker_took_for_lost_stops_and_keeps_that_ending(
    noticed, db, ens_client, emulator, monkeypatch
):
    from eniadmin.audit.models import AuditEvent
    from eniadmin.inventory import sync as inventory_sync

    emulator.control.reset(instances=250)  # three pages of instances
    if noticed == "at its next progress":
        monkeypatch.setattr(inventory_sync, "PROGRESS_EVERY", timezone.timedelta(0))
    run = inventory_sync.start_foreground_sync()
    pages_seen = []

    def suspended_after_the_first_page(progress: SyncRun) -> None:
        pages_seen.append(progress.pages_done)
        if len(pages_seen) == 1:  # as if suspended for longer than the other worker waits
            long_ago = timezone.now() - timezone.timedelta(seconds=600)
            SyncRun.objects.filter(pk=run.pk).update(progressed_at=long_ago)
            assert inventory_sync.fail_abandoned_runs() == 1

    ended = inventory_sync.run_sync(run, ens_client, on_progress=suspended_after_the_first_page)

    assert (ended.status, ended.error_code) == (SyncRun.Status.FAILED, "WorkerLost")
    assert SyncRun.objects.get(pk=run.pk).error_code == "WorkerLost"
    if noticed == "at its next progress":
        assert pages_seen == [1], "stopped while saving the next page's progress"
    ends = AuditEvent.objects.filter(action__in=["sync_finished", "sync_failed"])
    assert [event.outcome for event in ends] == ["WorkerLost"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.django_db(transaction=True)
def test_only_batches_without_audit_events_commit_without_waiting_for_the_disk(
    ens_client, emulator, monkeypatch
):
    from eniadmin.inventory import sync as sync_module

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    as_set = synchronous_commit()
    seen_in_batches = []

    def noting_the_setting(write_rows):
        def write(model, rows, *args):
            seen_in_batches.append(synchronous_commit())
            return write_rows(model, rows, *args)

        return write

    monkeypatch.setattr(sync_module, "_insert_rows", noting_the_setting(sync_module._insert_rows))
    monkeypatch.setattr(sync_module, "_update_rows", noting_the_setting(sync_module._update_rows))
    assert sync(ens_client).status == SyncRun.Status.SUCCEEDED
    assert seen_in_batches and set(seen_in_batches) == {"off"}, "a first sync records no event"
    assert synchronous_commit() == as_set, "the run's own record, every detach step"

    seen_in_batches.clear()
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    emulator.control.change_eni(eni_id, status="Available", instance_id="")
    assert sync(ens_client).enis_updated == 1
    assert seen_in_batches == [as_set], "its external change is an audit event"


def test_a_first_sync_reads_no_id_back_to_look_for_vanished_rows(db, ens_client):
    with CaptureQueriesContext(connection) as queries:
        first = sync(ens_client)
    with CaptureQueriesContext(connection) as again:
        sync(ens_client)

    assert first.instances_created and first.enis_created
    looked_for_vanished = [
        q for q in queries.captured_queries if "WHERE gone_at IS NULL" in q["sql"]
    ]
    assert looked_for_vanished == []
    # A re-sync looks, in both tables.
    assert len([q for q in again.captured_queries if "WHERE gone_at IS NULL" in q["sql"]]) == 2


def test_a_row_written_by_another_sync_during_a_first_sync_is_still_looked_for(
    db, ens_client, emulator
):
    from eniadmin.inventory.sync import run_sync, start_foreground_sync

    def a_sync_taken_for_lost_wakes_and_writes(run: SyncRun) -> None:
        if run.pages_done == 1:
            Instance.objects.create(instance_id="i-vanished-meanwhile", region_id="cn-x")

    run = run_sync(
        start_foreground_sync(), ens_client, on_progress=a_sync_taken_for_lost_wakes_and_writes
    )

    assert run.instances_gone == 1
    assert Instance.objects.get(instance_id="i-vanished-meanwhile").gone_at is not None


def test_rows_the_walk_missed_are_confirmed_by_id_on_every_page_of_the_answer(
    db, ens_client, emulator, monkeypatch
):
    """As when the fleet changed while it was walked and ENIs moved to a page already fetched:
    ENS, asked for them by id, still lists them, ten to a page here."""
    from eniadmin.inventory import sync as sync_module

    sync(ens_client)
    missed = set(NetworkInterface.objects.order_by("eni_id").values_list("eni_id", flat=True)[:25])
    walk_enis = sync_module._Walk.network_interfaces

    def missing_some(walk, pages):
        walked = (
            replace(page, items={k: v for k, v in page.items.items() if k not in missed})
            for page in pages
        )
        return walk_enis(walk, walked)

    monkeypatch.setattr(sync_module._Walk, "network_interfaces", missing_some)
    monkeypatch.setattr(
        ens_client,
        "describe_network_interfaces",
        functools.partial(ens_client.describe_network_interfaces, page_size=10),
    )
    emulator.control.clear_requests()
    run = sync(ens_client)

    assert run.enis_gone == 0
    assert NetworkInterface.objects.present().filter(eni_id__in=missed).count() == 25
    by_id = [
        entry
        for entry in emulator.control.requests("DescribeNetworkInterfaces")
        if "NetworkInterfaceIds.1" in entry["params"]
    ]
    assert [entry["params"]["PageNumber"] for entry in by_id] == ["1", "2", "3"]
