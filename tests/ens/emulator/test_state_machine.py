"""Detach, attach, start and stop: preconditions, their order, and transitions over time."""

from __future__ import annotations

import time

import pytest

from eniadmin.ens.emulator.server import EmulatorServer
from tests.ens.emulator.wire import v3_call


def eni_status(server: EmulatorServer, eni_id: str) -> tuple[str, str]:
    body = v3_call(server, "DescribeNetworkInterfaces", {"NetworkInterfaceId": eni_id}).json()
    (eni,) = body["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    return eni["Status"], eni["InstanceId"]


def instance(server: EmulatorServer, instance_id: str) -> dict:
    body = v3_call(server, "DescribeInstances", {"InstanceId": instance_id}).json()
    (found,) = body["Instances"]["Instance"]
    return found


def attached_eni_ids(server: EmulatorServer, instance_id: str) -> list[str]:
    nested = instance(server, instance_id)["NetworkInterfaces"]["NetworkInterfaces"]
    return [eni["NetworkInterfaceId"] for eni in nested]


def refused(server: EmulatorServer, action: str, **params: str) -> str:
    response = v3_call(server, action, params)
    assert response.status_code == 400, response.text
    return response.json()["Code"]


def detach(server: EmulatorServer, eni_id: str) -> None:
    response = v3_call(server, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert response.status_code == 200, response.text


def test_a_detach_runs_detaching_then_available(clocked_emulator, clock):
    eni_id = clocked_emulator.control.state()["demo_notes"]["detach_candidates"][0]
    _, instance_id = eni_status(clocked_emulator, eni_id)

    detach(clocked_emulator, eni_id)
    assert eni_status(clocked_emulator, eni_id) == ("Detaching", instance_id)
    clock.advance(2.6)  # below 3 s minus the 10 % jitter
    assert eni_status(clocked_emulator, eni_id) == ("Detaching", instance_id)
    assert eni_id in attached_eni_ids(clocked_emulator, instance_id)
    clock.advance(0.8)  # past 3 s plus the 10 % jitter
    assert eni_status(clocked_emulator, eni_id) == ("Available", "")
    assert eni_id not in attached_eni_ids(clocked_emulator, instance_id)


def test_time_advances_by_itself(emulator):
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    detach(emulator, eni_id)
    deadline = time.monotonic() + 5
    while eni_status(emulator, eni_id)[0] == "Detaching":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert eni_status(emulator, eni_id) == ("Available", "")


def test_transition_times_jitter_within_ten_percent(clocked_emulator):
    control = clocked_emulator.control
    candidates = control.state()["demo_notes"]["detach_candidates"]
    for eni_id in candidates:
        detach(clocked_emulator, eni_id)
    waits = [control.eni(eni_id)["pending"]["due_in_seconds"] for eni_id in candidates]
    assert all(2.7 <= wait <= 3.3 for wait in waits)
    assert len(set(waits)) > 1


def test_a_second_detach_of_the_same_eni_is_refused(clocked_emulator):
    eni_id = clocked_emulator.control.state()["demo_notes"]["detach_candidates"][0]
    detach(clocked_emulator, eni_id)
    code = refused(clocked_emulator, "DetachNetworkInterface", NetworkInterfaceId=eni_id)
    assert code == "InvalidOperation.InvalidEniStatus"


def test_a_stuck_eni_stays_detaching_until_unstuck(clocked_emulator, clock):
    control = clocked_emulator.control
    eni_id = control.state()["demo_notes"]["stuck_on_detach"][0]
    detach(clocked_emulator, eni_id)
    clock.advance(3600)
    assert eni_status(clocked_emulator, eni_id)[0] == "Detaching"
    assert control.eni(eni_id)["pending"] is None

    control.change_eni(eni_id, stuck=False)
    clock.advance(3.4)
    assert eni_status(clocked_emulator, eni_id) == ("Available", "")


def test_detach_preconditions_are_checked_in_order(clocked_emulator):
    control = clocked_emulator.control
    notes = control.state()["demo_notes"]
    primary = notes["primary_on_stopped_instance"][0]
    on_running = notes["secondary_on_running_instance"][0]

    control.add_key("no-detach", "no-detach-secret", deny=["DetachNetworkInterface"])
    denied = v3_call(
        clocked_emulator,
        "DetachNetworkInterface",
        {},
        key_id="no-detach",
        secret="no-detach-secret",
    )
    assert denied.json()["Code"] == "NoPermission"  # before the missing parameter
    assert refused(clocked_emulator, "DetachNetworkInterface") == "MissingParameter"

    control.change_eni(primary, service_managed=True)
    code = refused(clocked_emulator, "DetachNetworkInterface", NetworkInterfaceId=primary)
    assert code == "InvalidParameter.EniServiceManaged"  # before the Primary type
    control.change_eni(primary, service_managed=False)
    code = refused(clocked_emulator, "DetachNetworkInterface", NetworkInterfaceId=primary)
    assert code == "InvalidOperation.InvalidEniType"

    control.change_eni(on_running, status="Detaching")
    code = refused(clocked_emulator, "DetachNetworkInterface", NetworkInterfaceId=on_running)
    assert code == "InvalidOperation.InvalidEniStatus"  # before the Running instance


def test_an_attach_runs_attaching_then_in_use(clocked_emulator, clock):
    pair = clocked_emulator.control.state()["demo_notes"]["attach_candidates"][0]
    eni_id, instance_id = pair["network_interface_id"], pair["instance_id"]
    params = {"InstanceId": instance_id, "NetworkInterfaceId": eni_id}
    assert v3_call(clocked_emulator, "AttachNetworkInterface", params).status_code == 200
    assert eni_status(clocked_emulator, eni_id) == ("Attaching", instance_id)
    assert eni_id in attached_eni_ids(clocked_emulator, instance_id)
    clock.advance(3.4)
    assert eni_status(clocked_emulator, eni_id) == ("InUse", instance_id)


def test_attach_preconditions(clocked_emulator):
    control = clocked_emulator.control
    notes = control.state()["demo_notes"]
    pair = notes["attach_candidates"][0]
    spare, target = pair["network_interface_id"], pair["instance_id"]
    running = notes["running_with_secondaries"][0]
    in_use = notes["detach_candidates"][0]

    def attach_code(eni_id: str, instance_id: str) -> str:
        return refused(
            clocked_emulator,
            "AttachNetworkInterface",
            InstanceId=instance_id,
            NetworkInterfaceId=eni_id,
        )

    assert refused(clocked_emulator, "AttachNetworkInterface", InstanceId=target) == (
        "MissingParameter"
    )
    assert attach_code("eni-doesnotexist00000", target) == "InvalidEniId.NotFound"
    assert attach_code(in_use, target) == "InvalidOperation.InvalidEniStatus"
    assert attach_code(spare, "i-doesnotexist0000") == "InstanceNotFound"
    assert attach_code(spare, running) == "InvalidOperation.InvalidEnsStatus"

    elsewhere = next(
        i["InstanceId"]
        for i in v3_call(
            clocked_emulator, "DescribeInstances", {"Status": "Stopped", "PageSize": "100"}
        ).json()["Instances"]["Instance"]
        if i["EnsRegionId"] != control.eni(spare)["ens_region_id"]
    )
    assert attach_code(spare, elsewhere) == "InvalidOperation.InstanceNotSupport"

    control.change_eni(spare, service_managed=True)
    assert attach_code(spare, target) == "InvalidParameter.EniServiceManaged"


def test_an_instance_takes_at_most_ten_enis(clocked_emulator):
    control = clocked_emulator.control
    pair = control.state()["demo_notes"]["attach_candidates"][0]
    spare, target = pair["network_interface_id"], pair["instance_id"]
    listed = v3_call(
        clocked_emulator,
        "DescribeNetworkInterfaces",
        {"Type": "Secondary", "Status": "InUse", "PageSize": "100"},
    ).json()["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    donors = [e["NetworkInterfaceId"] for e in listed if e["InstanceId"] != target]
    for donor in donors[: 10 - len(attached_eni_ids(clocked_emulator, target))]:
        control.change_eni(donor, instance_id=target)
    assert len(attached_eni_ids(clocked_emulator, target)) == 10
    code = refused(
        clocked_emulator, "AttachNetworkInterface", InstanceId=target, NetworkInterfaceId=spare
    )
    assert code == "InvalidOperation.EniCountExceeded"


def test_stop_and_start_run_their_transitions(clocked_emulator, clock):
    running = clocked_emulator.control.state()["demo_notes"]["running_with_secondaries"][0]
    assert v3_call(clocked_emulator, "StopInstance", {"InstanceId": running}).json()["Code"] == 0
    assert instance(clocked_emulator, running)["Status"] == "Stopping"
    code = refused(clocked_emulator, "StartInstance", InstanceId=running)
    assert code == "InvalidOperation.InvalidEnsStatus"
    clock.advance(2.3)
    assert instance(clocked_emulator, running)["Status"] == "Stopped"

    assert v3_call(clocked_emulator, "StartInstance", {"InstanceId": running}).ok
    assert instance(clocked_emulator, running)["Status"] == "Starting"
    clock.advance(2.3)
    assert instance(clocked_emulator, running)["Status"] == "Running"


@pytest.mark.parametrize("action", ["StartInstance", "StopInstance"])
def test_power_actions_refuse_unknown_and_missing_instances(clocked_emulator, action):
    assert refused(clocked_emulator, action, InstanceId="i-nope") == "InstanceNotFound"
    assert refused(clocked_emulator, action) == "MissingParameter"


def test_an_expired_instance_neither_starts_nor_stops(clocked_emulator):
    listed = v3_call(clocked_emulator, "DescribeInstances", {"Status": "Expired"}).json()
    expired = listed["Instances"]["Instance"][0]["InstanceId"]
    for action in ("StartInstance", "StopInstance"):
        code = refused(clocked_emulator, action, InstanceId=expired)
        assert code == "InvalidOperation.InvalidEnsStatus"


def test_a_stop_then_detach_flow_succeeds(clocked_emulator, clock):
    eni_id = clocked_emulator.control.state()["demo_notes"]["secondary_on_running_instance"][0]
    _, instance_id = eni_status(clocked_emulator, eni_id)
    assert v3_call(clocked_emulator, "StopInstance", {"InstanceId": instance_id}).ok
    clock.advance(2.3)
    detach(clocked_emulator, eni_id)
    clock.advance(3.4)
    assert eni_status(clocked_emulator, eni_id) == ("Available", "")


def test_an_outside_change_to_a_transitional_status_runs_its_course(clocked_emulator, clock):
    control = clocked_emulator.control
    eni_id = control.state()["demo_notes"]["detach_candidates"][0]
    control.change_eni(eni_id, status="Detaching")
    clock.advance(3.4)
    assert eni_status(clocked_emulator, eni_id) == ("Available", "")


def test_renaming_a_detaching_eni_keeps_its_schedule(clocked_emulator, clock):
    control = clocked_emulator.control
    eni_id = control.state()["demo_notes"]["detach_candidates"][0]
    detach(clocked_emulator, eni_id)
    due = control.eni(eni_id)["pending"]["due_in_seconds"]
    clock.advance(1)
    renamed = control.change_eni(eni_id, name="renamed-while-detaching")
    assert renamed["pending"]["due_in_seconds"] == pytest.approx(due - 1, abs=0.01)
