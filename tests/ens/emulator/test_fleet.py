"""Fleet generation: deterministic, realistic, large enough, and holding the demo cases."""

from __future__ import annotations

import re
import time
from collections import Counter

from eniadmin.ens.emulator.fleet import Fleet, generate_fleet


def secondaries_by_instance(fleet: Fleet) -> dict[str, list]:
    attached: dict[str, list] = {}
    for eni in fleet.network_interfaces:
        if eni.type == "Secondary" and eni.instance_id:
            attached.setdefault(eni.instance_id, []).append(eni)
    return attached


def test_the_same_seed_gives_the_same_fleet():
    assert (
        generate_fleet(seed=1, instances=50).to_dict()
        == generate_fleet(seed=1, instances=50).to_dict()
    )
    first = generate_fleet(seed=1, instances=50).instances[10].instance_id
    assert first != generate_fleet(seed=2, instances=50).instances[10].instance_id


def test_a_fleet_survives_a_round_trip_through_a_dict():
    fleet = generate_fleet(seed=8, instances=30)
    assert Fleet.from_dict(fleet.to_dict()) == fleet


def test_the_default_demo_fleet_holds_every_demo_case():
    fleet = generate_fleet(seed=1, instances=24)
    status = {i.instance_id: i.status for i in fleet.instances}
    secondaries = secondaries_by_instance(fleet)

    stopped_with_in_use = [i for i, enis in secondaries.items() if status[i] == "Stopped" and enis]
    assert len(stopped_with_in_use) >= 3
    assert any(status[i] == "Running" for i in secondaries)
    managed = [e for e in fleet.network_interfaces if e.service_managed]
    assert any(e.status == "InUse" and status[e.instance_id] == "Stopped" for e in managed)
    (stuck,) = [e for e in fleet.network_interfaces if e.stuck_on_detach]
    assert (stuck.type, stuck.status, status[stuck.instance_id]) == (
        "Secondary",
        "InUse",
        "Stopped",
    )
    spares = [e for e in fleet.network_interfaces if e.status == "Available"]
    assert spares
    assert all(e.instance_id == "" and e.type == "Secondary" for e in spares)
    assert {i.status for i in fleet.instances} == {"Running", "Stopped", "Expired"}


def test_ids_addresses_and_times_look_real():
    fleet = generate_fleet(seed=1, instances=200)
    enis = fleet.network_interfaces
    assert all(re.fullmatch(r"i-[0-9a-z]{18}", i.instance_id) for i in fleet.instances)
    assert all(re.fullmatch(r"eni-[0-9a-z]{17}", e.network_interface_id) for e in enis)
    assert all(re.fullmatch(r"n-[0-9a-z]{21}", r.network_id) for r in fleet.regions)
    assert all(e.vswitch_id.startswith("vsw-") for e in enis)
    assert all(e.security_group_ids[0].startswith("sg-") for e in enis)
    assert all(re.fullmatch(r"00:16:3e(:[0-9a-f]{2}){3}", e.mac_address) for e in enis)
    assert len({e.mac_address for e in enis}) == len(enis)
    assert len({e.primary_ip for e in enis}) == len(enis)
    times = [e.creation_time for e in enis]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in times)
    assert times == sorted(times)
    primaries = Counter(e.instance_id for e in enis if e.type == "Primary")
    assert set(primaries.values()) == {1}
    assert len(primaries) == 200
    assert {len(s) for s in secondaries_by_instance(fleet).values()} <= {1, 2, 3, 4}


def test_ten_thousand_instances_generate_quickly_with_about_four_enis_each():
    started = time.perf_counter()
    fleet = generate_fleet(seed=1, instances=10_000)
    assert time.perf_counter() - started < 5
    assert 38_000 <= len(fleet.network_interfaces) <= 42_000
    assert len({e.network_interface_id for e in fleet.network_interfaces}) == len(
        fleet.network_interfaces
    )
