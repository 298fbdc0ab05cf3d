"""Our client against the emulator over HTTP: every action, transition, fault and error."""

from __future__ import annotations

import time

import pytest

from eniadmin.ens import errors
from eniadmin.ens.client import EnsClient, RetryPolicy
from eniadmin.ens.errors import Category, EnsError, OutcomeUnknown


def notes(emulator) -> dict:
    return emulator.control.state()["demo_notes"]


def wait_for_status(client: EnsClient, eni_id: str, wanted: str, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        eni = client.get_network_interface(eni_id)
        if eni.status == wanted:
            return eni
        time.sleep(0.05)
    raise AssertionError(f"{eni_id} never became {wanted}")


def test_regions(ens_client):
    regions = ens_client.describe_regions().items
    assert "cn-beijing-cmcc" in {region.region_id for region in regions}
    assert all(region.name for region in regions)


def test_walks_every_instance_and_interface_once(ens_client, emulator):
    state = emulator.control.state()
    instances = list(ens_client.iter_instances(page_size=5))
    enis = list(ens_client.iter_network_interfaces(page_size=10))
    assert len(instances) == len({i.instance_id for i in instances}) == state["instances"]["total"]
    assert len(enis) == len({e.eni_id for e in enis}) == state["network_interfaces"]["total"]
    walked = [
        entry["params"]["PageNumber"]
        for entry in emulator.control.requests("DescribeNetworkInterfaces")
    ]
    assert walked == [str(number) for number in range(1, len(walked) + 1)]
    assert len(walked) == -(-len(enis) // 10)


def test_filters_reach_the_emulator_in_each_actions_list_encoding(ens_client, emulator):
    candidates = notes(emulator)["detach_candidates"][:2]
    page = ens_client.describe_network_interfaces(eni_ids=candidates)
    assert sorted(eni.eni_id for eni in page.items) == sorted(candidates)

    instance_ids = [ens_client.get_network_interface(candidates[0]).instance_id]
    instances = ens_client.describe_instances(instance_ids=instance_ids).items
    assert [instance.instance_id for instance in instances] == instance_ids
    assert instances[0].status == "Stopped"
    assert ens_client.describe_instances(instance_ids=[]).items == []

    stopped = ens_client.describe_instances(status="Stopped")
    assert stopped.total_count == emulator.control.state()["instances"]["by_status"]["Stopped"]
    primaries = list(ens_client.iter_network_interfaces(type="Primary"))
    assert {eni.type for eni in primaries} == {"Primary"}


def test_detach_goes_detaching_then_available_with_the_instance_cleared(ens_client, emulator):
    eni_id = notes(emulator)["detach_candidates"][0]
    before = ens_client.get_network_interface(eni_id)
    assert (before.status, before.type) == ("InUse", "Secondary")

    result = ens_client.detach_network_interface(eni_id)

    assert result.request_id
    assert ens_client.get_network_interface(eni_id).status == "Detaching"
    after = wait_for_status(ens_client, eni_id, "Available")
    assert after.instance_id == ""
    (call,) = emulator.control.requests("DetachNetworkInterface")
    assert call["params"] == {"NetworkInterfaceId": eni_id}
    assert call["outcome"] == "ok"
    assert call["request_id"] == result.request_id


def test_attach_is_the_reverse(ens_client, emulator):
    pair = notes(emulator)["attach_candidates"][0]
    ens_client.attach_network_interface(pair["network_interface_id"], pair["instance_id"])
    eni = wait_for_status(ens_client, pair["network_interface_id"], "InUse")
    assert eni.instance_id == pair["instance_id"]


def test_v1_signing_works_against_the_emulator(emulator):
    client = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        signature_version="v1",
    )
    assert client.describe_instances(page_size=1).total_count == 24
    (call,) = emulator.control.requests("DescribeInstances")
    assert call["signature_version"] == "v1"


@pytest.mark.parametrize(
    ("note", "code", "category"),
    [
        ("primary_on_stopped_instance", "InvalidOperation.InvalidEniType", Category.INVALID_STATE),
        (
            "secondary_on_running_instance",
            "InvalidOperation.InvalidEnsStatus",
            Category.INVALID_STATE,
        ),
        ("service_managed", "InvalidParameter.EniServiceManaged", Category.SERVICE_MANAGED),
    ],
)
def test_detach_preconditions_surface_as_typed_errors(ens_client, emulator, note, code, category):
    eni_id = notes(emulator)[note][0]
    with pytest.raises(EnsError) as raised:
        ens_client.detach_network_interface(eni_id)
    assert (raised.value.code, raised.value.category) == (code, category)
    assert raised.value.request_id
    assert raised.value.http_status == 400


def test_detach_of_an_available_eni_is_invalid_status(ens_client, emulator):
    eni_id = notes(emulator)["attach_candidates"][0]["network_interface_id"]
    with pytest.raises(EnsError) as raised:
        ens_client.detach_network_interface(eni_id)
    assert raised.value.code == "InvalidOperation.InvalidEniStatus"


def test_detach_of_an_unknown_eni_is_not_found(ens_client):
    with pytest.raises(EnsError) as raised:
        ens_client.detach_network_interface("eni-doesnotexist000")
    assert raised.value.category is Category.NOT_FOUND
    assert "Sync the inventory" in raised.value.operator_message


def test_a_key_without_permission_gets_no_permission_with_its_sentence(emulator):
    emulator.control.add_key("readonly", "readonly-secret", deny=["DetachNetworkInterface"])
    client = EnsClient(
        endpoint=emulator.url, access_key_id="readonly", access_key_secret="readonly-secret"
    )
    eni_id = notes(emulator)["detach_candidates"][0]
    with pytest.raises(EnsError) as raised:
        client.detach_network_interface(eni_id)
    assert raised.value.code == "NoPermission"
    assert "ens:DetachNetworkInterface" in raised.value.operator_message
    assert client.get_network_interface(eni_id).status == "InUse"


def test_a_wrong_secret_is_an_authentication_error(emulator):
    client = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret="not-the-secret",
    )
    with pytest.raises(EnsError) as raised:
        client.describe_regions()
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.category is Category.AUTHENTICATION


def test_throttling_and_transient_faults_are_retried_for_reads(ens_client, emulator):
    emulator.control.set_faults(
        [
            {
                "kind": "throttle",
                "action": "DescribeNetworkInterfaces",
                "count": 1,
                "retry_after_ms": 20,
            },
            {"kind": "interface_error", "action": "DescribeNetworkInterfaces", "count": 2},
            {"kind": "internal_error", "action": "DescribeNetworkInterfaces", "count": 3},
        ]
    )
    page = ens_client.describe_network_interfaces(page_size=5)
    assert len(page.items) == 5
    outcomes = [
        entry["outcome"] for entry in emulator.control.requests("DescribeNetworkInterfaces")
    ]
    assert outcomes == ["Throttling.User", "ens.interface.error", "InternalError", "ok"]


def test_a_sync_walk_under_faults_equals_the_fault_free_walk(ens_client, emulator):
    clean = [eni.eni_id for eni in ens_client.iter_network_interfaces(page_size=10)]
    emulator.control.set_faults(
        [
            {"kind": "throttle", "rate": 0.3, "retry_after_ms": 1},
            {"kind": "service_unavailable", "rate": 0.2},
            {"kind": "drop", "rate": 0.1},
        ]
    )
    patient = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        retry=RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01),
    )
    faulty = [eni.eni_id for eni in patient.iter_network_interfaces(page_size=10)]
    assert faulty == clean


def test_a_detach_whose_answer_is_lost_is_outcome_unknown_and_state_tells(ens_client, emulator):
    eni_id = notes(emulator)["detach_candidates"][0]
    emulator.control.set_faults(
        [{"kind": "drop", "action": "DetachNetworkInterface", "when": "after", "count": 1}]
    )
    with pytest.raises(OutcomeUnknown):
        ens_client.detach_network_interface(eni_id)
    assert len(emulator.control.requests("DetachNetworkInterface")) == 1
    assert ens_client.get_network_interface(eni_id).status in ("Detaching", "Available")


def test_a_detach_dropped_before_acting_is_outcome_unknown_and_nothing_changed(
    ens_client, emulator
):
    eni_id = notes(emulator)["detach_candidates"][0]
    emulator.control.set_faults([{"kind": "drop", "action": "DetachNetworkInterface", "count": 1}])
    with pytest.raises(OutcomeUnknown):
        ens_client.detach_network_interface(eni_id)
    assert ens_client.get_network_interface(eni_id).status == "InUse"


def test_a_slow_answer_to_a_write_is_outcome_unknown(emulator):
    client = EnsClient(
        endpoint=emulator.url,
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        read_timeout=0.2,
    )
    emulator.control.set_faults(
        [{"kind": "latency", "action": "DetachNetworkInterface", "ms": 600}]
    )
    with pytest.raises(OutcomeUnknown) as raised:
        client.detach_network_interface(notes(emulator)["detach_candidates"][0])
    assert raised.value.code == errors.OUTCOME_UNKNOWN


def test_an_eni_stuck_in_detaching_stays_there(ens_client, emulator):
    eni_id = notes(emulator)["stuck_on_detach"][0]
    ens_client.detach_network_interface(eni_id)
    time.sleep(0.5)
    assert ens_client.get_network_interface(eni_id).status == "Detaching"


def test_start_and_stop_are_seen_through_describe_instances(ens_client, emulator):
    instance_id = notes(emulator)["running_with_secondaries"][0]
    emulator.control.set_instance_status(instance_id, "Stopped")
    assert ens_client.get_instance(instance_id).status == "Stopped"
