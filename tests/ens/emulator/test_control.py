"""The control API under /_emulator/, the loopback rule and the state file."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from eniadmin.ens.emulator.control import EmulatorControl, EmulatorControlError
from eniadmin.ens.emulator.server import EmulatorServer, is_loopback
from tests.ens.emulator.wire import TIMEOUT, v3_call


def test_the_request_log_can_be_filtered_and_cleared(emulator):
    v3_call(emulator, "DescribeEnsRegions")
    v3_call(emulator, "DescribeInstances")
    control = emulator.control
    assert [e["action"] for e in control.requests()] == ["DescribeEnsRegions", "DescribeInstances"]
    assert [e["action"] for e in control.requests("DescribeInstances")] == ["DescribeInstances"]
    control.clear_requests()
    assert control.requests() == []


def test_the_state_summarises_the_fleet_and_names_demo_ids(emulator):
    state = emulator.control.state()
    assert state["seed"] == 1
    assert state["instances"]["total"] == 24
    assert sum(state["instances"]["by_status"].values()) == 24
    assert state["network_interfaces"]["by_type"]["Primary"] == 24
    notes = state["demo_notes"]
    assert notes["detach_candidates"]
    assert len(notes["stuck_on_detach"]) == 1
    assert notes["service_managed"]
    assert notes["attach_candidates"]
    assert emulator.cloud.demo_notes() == notes


def test_reset_regenerates_and_clears_faults_and_log(emulator):
    control = emulator.control
    before = control.state()["demo_notes"]["detach_candidates"]
    control.set_faults([{"kind": "throttle", "action": "StopInstance"}])
    v3_call(emulator, "DescribeEnsRegions")

    state = control.reset(seed=7, instances=40)
    assert (state["seed"], state["instances"]["total"]) == (7, 40)
    assert state["demo_notes"]["detach_candidates"] != before
    assert control.faults() == []
    assert control.requests() == []
    assert control.reset()["instances"]["total"] == 40  # keeps the last size


def test_an_instance_status_can_be_set_directly(emulator):
    control = emulator.control
    instance_id = control.state()["demo_notes"]["running_with_secondaries"][0]
    record = control.set_instance_status(instance_id, "Stopped")
    assert record["status"] == "Stopped"
    assert control.instance(instance_id)["status"] == "Stopped"
    listed = v3_call(emulator, "DescribeInstances", {"InstanceId": instance_id}).json()
    assert listed["Instances"]["Instance"][0]["Status"] == "Stopped"

    with pytest.raises(EmulatorControlError) as unknown:
        control.set_instance_status("i-nope", "Stopped")
    assert unknown.value.status == 404
    with pytest.raises(EmulatorControlError) as invalid:
        control.set_instance_status(instance_id, "Sleeping")
    assert invalid.value.status == 400


def test_an_eni_can_be_read_and_changed_from_outside(emulator):
    control = emulator.control
    eni_id = control.state()["demo_notes"]["detach_candidates"][0]
    record = control.eni(eni_id)
    assert record["status"] == "InUse"
    assert record["service_managed"] is False
    assert record["stuck"] is False

    changed = control.change_eni(eni_id, name="renamed", service_managed=True)
    assert (changed["name"], changed["service_managed"]) == ("renamed", True)
    listed = v3_call(emulator, "DescribeNetworkInterfaces", {"NetworkInterfaceId": eni_id}).json()
    assert listed["NetworkInterfaceSets"]["NetworkInterfaceSet"][0]["NetworkInterfaceName"] == (
        "renamed"
    )
    detach = v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert detach.json()["Code"] == "InvalidParameter.EniServiceManaged"

    detached = control.change_eni(eni_id, status="Available")
    assert (detached["status"], detached["instance_id"]) == ("Available", "")


@pytest.mark.parametrize(
    "changes",
    [
        {"colour": "red"},
        {"status": "Gone"},
        {"status": "InUse", "instance_id": ""},
        {"status": "Available", "instance_id": "i-nope"},
        {"stuck": "yes"},
    ],
)
def test_inconsistent_eni_changes_are_refused(emulator, changes):
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    with pytest.raises(EmulatorControlError) as raised:
        emulator.control.change_eni(eni_id, **changes)
    assert raised.value.status == 400


def test_a_primary_eni_stays_with_its_instance(emulator):
    primary = emulator.control.state()["demo_notes"]["primary_on_stopped_instance"][0]
    with pytest.raises(EmulatorControlError):
        emulator.control.change_eni(primary, status="Available")


def test_faults_can_be_read_replaced_and_cleared(emulator):
    control = emulator.control
    assert control.faults() == []
    (rule,) = control.set_faults([{"kind": "latency", "ms": 5}])
    assert rule["kind"] == "latency"
    assert rule["rate"] == 1.0
    control.clear_faults()
    assert control.faults() == []


def test_a_key_can_be_added_with_denied_actions(emulator):
    control = emulator.control
    control.add_key("auditor", "auditor-secret", deny=["DetachNetworkInterface", "StopInstance"])
    keys = {"key_id": "auditor", "secret": "auditor-secret"}
    assert v3_call(emulator, "DescribeInstances", **keys).ok
    denied = v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": "eni-x"}, **keys)
    assert (denied.status_code, denied.json()["Code"]) == (400, "NoPermission")
    with pytest.raises(EmulatorControlError):
        control.add_key("bad", "bad-secret", deny=["Reboot"])


def test_extra_keys_can_be_given_at_start():
    with EmulatorServer(access_keys={"ops": "ops-secret"}) as server:
        assert v3_call(server, "DescribeEnsRegions", key_id="ops", secret="ops-secret").ok
        assert v3_call(server, "DescribeEnsRegions").ok  # demo stays


def test_unknown_endpoints_methods_and_bodies_are_refused(emulator):
    base = f"{emulator.url}/_emulator"
    assert requests.get(f"{base}/nothing", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{base}/enis", timeout=TIMEOUT).status_code == 404
    assert requests.put(f"{base}/state", timeout=TIMEOUT).status_code == 405
    assert requests.post(f"{base}/reset", data=b"{not json", timeout=TIMEOUT).status_code == 400
    assert requests.post(f"{base}/reset", json=[1], timeout=TIMEOUT).status_code == 400


def test_loopback_addresses_are_recognised():
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.9.10")
    assert is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.5")
    assert not is_loopback("::ffff:192.168.1.2")
    assert not is_loopback("not-an-address")


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routes without sending anything
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if is_loopback(address) or address == "0.0.0.0" else address  # noqa: S104


@pytest.mark.parametrize("allow_remote", [False, True])
def test_the_control_api_answers_remote_clients_only_when_allowed(allow_remote):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    with EmulatorServer(host="0.0.0.0", allow_remote_control=allow_remote) as server:  # noqa: S104
        port = server.url.rsplit(":", 1)[1]
        remote = requests.get(f"http://{address}:{port}/_emulator/state", timeout=TIMEOUT)
        assert remote.status_code == (200 if allow_remote else 403)
        local = EmulatorControl(f"http://127.0.0.1:{port}")
        assert local.state()["instances"]["total"] == 24


def test_the_state_file_keeps_the_fleet_across_restarts(tmp_path, clock):
    state_file = tmp_path / "var" / "emulator.json"
    with EmulatorServer(state_file=state_file, clock=clock) as first:
        notes = first.control.state()["demo_notes"]
        detached, renamed = notes["detach_candidates"][:2]
        stopping = notes["running_with_secondaries"][0]
        assert v3_call(first, "DetachNetworkInterface", {"NetworkInterfaceId": detached}).ok
        assert v3_call(first, "StopInstance", {"InstanceId": stopping}).ok
        first.control.change_eni(renamed, name="kept-across-restarts")
    saved = json.loads(state_file.read_text())
    assert saved["format"] == 1
    assert list(tmp_path.joinpath("var").iterdir()) == [state_file]  # no temporary leftovers

    with EmulatorServer(state_file=state_file, clock=clock, seed=99, instances=3) as second:
        control = second.control
        assert control.state()["instances"]["total"] == 24  # the file wins over the flags
        assert control.eni(renamed)["name"] == "kept-across-restarts"
        assert control.eni(detached)["status"] == "Detaching"
        assert control.instance(stopping)["status"] == "Stopping"
        clock.advance(3.4)
        assert control.eni(detached)["status"] == "Available"
        assert control.instance(stopping)["status"] == "Stopped"


def test_a_reset_is_saved_too(tmp_path):
    state_file = tmp_path / "emulator.json"
    with EmulatorServer(state_file=state_file) as server:
        server.control.reset(seed=5, instances=8)
    with EmulatorServer(state_file=state_file) as restarted:
        assert restarted.control.state()["seed"] == 5
        assert restarted.control.state()["instances"]["total"] == 8


def test_a_refused_change_changes_nothing(emulator):
    eni_id = emulator.control.state()["demo_notes"]["detach_candidates"][0]
    with pytest.raises(EmulatorControlError):
        emulator.control.change_eni(eni_id, name="half-applied", stuck="yes")
    assert emulator.control.eni(eni_id)["name"] != "half-applied"
