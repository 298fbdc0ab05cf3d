"""The describe actions: list encodings, paging, filters and response shapes."""

from __future__ import annotations

import json

import pytest

from eniadmin.ens.emulator.cloud import Cloud
from eniadmin.ens.emulator.server import EmulatorServer
from tests.ens.emulator.wire import v3_call

ENI_KEYS = {
    "CreationTime",
    "Description",
    "EnsRegionId",
    "InstanceId",
    "NetworkInterfaceId",
    "NetworkInterfaceName",
    "MacAddress",
    "NetworkId",
    "VSwitchId",
    "PrimaryIp",
    "PrimaryIpType",
    "Status",
    "Type",
    "VmncLearn",
    "SecurityGroupIds",
    "PrivateIpSets",
    "Ipv6Sets",
}


def call(server: EmulatorServer, action: str, params: dict[str, str] | None = None) -> dict:
    response = v3_call(server, action, params)
    assert response.status_code == 200, response.text
    return response.json()


def error_code(server: EmulatorServer, action: str, params: dict[str, str]) -> str:
    response = v3_call(server, action, params)
    assert response.status_code == 400, response.text
    return response.json()["Code"]


def instances(server: EmulatorServer, **params: str) -> list[dict]:
    body = call(server, "DescribeInstances", {"PageSize": "100", **params})
    return body["Instances"]["Instance"]


def enis(server: EmulatorServer, **params: str) -> list[dict]:
    body = call(server, "DescribeNetworkInterfaces", {"PageSize": "100", **params})
    return body["NetworkInterfaceSets"]["NetworkInterfaceSet"]


def test_describe_ens_regions_lists_the_edge_nodes(emulator):
    body = call(emulator, "DescribeEnsRegions")
    regions = body["EnsRegions"]["EnsRegions"]
    assert body["Code"] == 0
    assert {"cn-beijing-cmcc", "cn-tianjin-cmcc", "cn-suzhou-telecom", "cn-chengdu-telecom"} <= {
        r["EnsRegionId"] for r in regions
    }
    assert set(regions[0]) == {"EnsRegionId", "Name", "EnName", "Area", "Province"}
    only = call(emulator, "DescribeEnsRegions", {"EnsRegionId": "cn-suzhou-telecom"})
    assert [r["EnName"] for r in only["EnsRegions"]["EnsRegions"]] == ["Suzhou Telecom"]


def test_describe_instances_has_the_documented_shape(emulator):
    body = call(emulator, "DescribeInstances")
    assert body["Code"] == 0
    instance = body["Instances"]["Instance"][0]
    assert isinstance(instance["Cpu"], str)
    assert isinstance(instance["Memory"], int)
    nested = instance["NetworkInterfaces"]["NetworkInterfaces"]
    assert nested[0]["Type"] == "Primary"
    assert "Status" not in nested[0]
    assert set(instance["SystemDisk"]) >= {"DiskId", "device_type", "disk_type", "storage", "uuid"}
    assert instance["NetworkAttributes"]["PrivateIpAddress"]["IpAddress"]


def test_describe_network_interfaces_has_every_documented_field(emulator):
    listed = enis(emulator)
    assert all(set(eni) == ENI_KEYS for eni in listed)
    available = [eni for eni in listed if eni["Status"] == "Available"]
    assert available
    assert {eni["InstanceId"] for eni in available} == {""}
    assert "Code" not in call(emulator, "DescribeNetworkInterfaces")


def test_the_hidden_flags_never_reach_a_response(emulator):
    text = json.dumps(
        [call(emulator, "DescribeNetworkInterfaces", {"PageSize": "100"}), instances(emulator)]
    ).lower()
    assert "service" not in text.replace("servicestatus", "")
    assert "stuck" not in text


def test_instance_ids_is_a_json_array_and_an_empty_array_matches_nothing(emulator):
    everything = instances(emulator)
    wanted = [everything[5]["InstanceId"], everything[2]["InstanceId"]]
    chosen = instances(emulator, InstanceIds=json.dumps(wanted))
    assert [i["InstanceId"] for i in chosen] == [wanted[1], wanted[0]]  # creation order
    assert instances(emulator, InstanceIds="[]") == []
    assert call(emulator, "DescribeInstances", {"InstanceIds": "[]"})["TotalCount"] == 0


def test_ens_region_ids_is_a_json_array_for_instances(emulator):
    chosen = instances(emulator, EnsRegionIds='["cn-beijing-cmcc", "cn-chengdu-telecom"]')
    expected = [
        i
        for i in instances(emulator)
        if i["EnsRegionId"] in ("cn-beijing-cmcc", "cn-chengdu-telecom")
    ]
    assert chosen == expected


@pytest.mark.parametrize("name", ["InstanceIds", "EnsRegionIds"])
@pytest.mark.parametrize("value", ["i-1,i-2", '{"a": 1}', "[1, 2]", '["unterminated'])
def test_malformed_json_lists_are_invalid_parameters(emulator, name, value):
    assert error_code(emulator, "DescribeInstances", {name: value}) == f"InvalidParameter.{name}"


def test_network_interfaces_take_numbered_lists(emulator):
    everything = enis(emulator)
    wanted = [everything[7]["NetworkInterfaceId"], everything[3]["NetworkInterfaceId"]]
    chosen = enis(
        emulator, **{"NetworkInterfaceIds.1": wanted[0], "NetworkInterfaceIds.2": wanted[1]}
    )
    assert [e["NetworkInterfaceId"] for e in chosen] == [wanted[1], wanted[0]]

    in_two_regions = enis(
        emulator, **{"EnsRegionIds.1": "cn-beijing-cmcc", "EnsRegionIds.2": "cn-tianjin-cmcc"}
    )
    assert in_two_regions == [
        e for e in everything if e["EnsRegionId"] in ("cn-beijing-cmcc", "cn-tianjin-cmcc")
    ]

    with_ipv6 = next(e for e in everything if e["Ipv6Sets"]["Ipv6Set"])
    address = with_ipv6["Ipv6Sets"]["Ipv6Set"][0]["Ipv6Address"]
    assert enis(emulator, **{"Ipv6Address.1": address}) == [with_ipv6]


def test_paging_defaults_to_ten_per_page(emulator):
    for action, listing in (
        ("DescribeInstances", ("Instances", "Instance")),
        ("DescribeNetworkInterfaces", ("NetworkInterfaceSets", "NetworkInterfaceSet")),
    ):
        body = call(emulator, action)
        assert (body["PageNumber"], body["PageSize"]) == (1, 10)
        assert len(body[listing[0]][listing[1]]) == 10
        assert body["TotalCount"] > 10


@pytest.mark.parametrize("action", ["DescribeInstances", "DescribeNetworkInterfaces"])
def test_page_size_and_number_are_checked(emulator, action):
    assert call(emulator, action, {"PageSize": "100"})["PageSize"] == 100
    for size in ("101", "0", "-1", "ten"):
        assert error_code(emulator, action, {"PageSize": size}) == "InvalidParameter.PageSize"
    for number in ("0", "x"):
        assert error_code(emulator, action, {"PageNumber": number}) == "InvalidParameter.PageNumber"


def test_pages_never_overlap_and_cover_every_eni_in_creation_order(emulator):
    total = call(emulator, "DescribeNetworkInterfaces")["TotalCount"]
    seen = []
    for page in range(1, total // 7 + 2):
        body = call(
            emulator, "DescribeNetworkInterfaces", {"PageSize": "7", "PageNumber": str(page)}
        )
        assert body["TotalCount"] == total
        seen += body["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    ids = [e["NetworkInterfaceId"] for e in seen]
    assert len(ids) == len(set(ids)) == total
    assert [e["CreationTime"] for e in seen] == sorted(e["CreationTime"] for e in seen)
    past_the_end = call(emulator, "DescribeNetworkInterfaces", {"PageNumber": "99"})
    assert past_the_end["NetworkInterfaceSets"]["NetworkInterfaceSet"] == []


def test_instance_filters_combine_with_and(emulator):
    everything = instances(emulator)
    sample = next(i for i in everything if i["Status"] == "Stopped")
    private_ip = sample["NetworkAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    filters = {
        "EnsRegionId": (sample["EnsRegionId"], lambda i: i["EnsRegionId"]),
        "InstanceId": (sample["InstanceId"], lambda i: i["InstanceId"]),
        "InstanceName": (sample["InstanceName"], lambda i: i["InstanceName"]),
        "Status": ("Stopped", lambda i: i["Status"]),
        "NetworkId": (
            sample["NetworkAttributes"]["NetworkId"],
            lambda i: i["NetworkAttributes"]["NetworkId"],
        ),
        "VSwitchId": (
            sample["NetworkAttributes"]["VSwitchId"],
            lambda i: i["NetworkAttributes"]["VSwitchId"],
        ),
        "SecurityGroupId": (
            sample["SecurityGroupIds"]["SecurityGroupId"][0],
            lambda i: i["SecurityGroupIds"]["SecurityGroupId"][0],
        ),
        "IntranetIp": (
            private_ip,
            lambda i: i["NetworkAttributes"]["PrivateIpAddress"]["IpAddress"][0],
        ),
    }
    for name, (value, read) in filters.items():
        expected = [i for i in everything if read(i) == value]
        assert instances(emulator, **{name: value}) == expected, name
        assert sample in expected
    both = instances(emulator, Status="Stopped", EnsRegionId=sample["EnsRegionId"])
    assert both == [
        i
        for i in everything
        if i["Status"] == "Stopped" and i["EnsRegionId"] == sample["EnsRegionId"]
    ]


def test_search_key_matches_name_id_or_ip(emulator):
    sample = instances(emulator)[3]
    public_ip = sample["PublicIpAddress"]["IpAddress"][0]
    for key in (sample["InstanceName"][-5:], sample["InstanceId"], public_ip):
        assert sample in instances(emulator, SearchKey=key), key
    assert instances(emulator, SearchKey="no-such-thing") == []


def test_eni_filters_combine_with_and(emulator):
    everything = enis(emulator)
    sample = next(e for e in everything if e["Type"] == "Secondary" and e["InstanceId"])
    filters = {
        "EnsRegionId": "EnsRegionId",
        "InstanceId": "InstanceId",
        "NetworkInterfaceId": "NetworkInterfaceId",
        "NetworkInterfaceName": "NetworkInterfaceName",
        "NetworkId": "NetworkId",
        "PrimaryIpAddress": "PrimaryIp",
        "Status": "Status",
        "Type": "Type",
        "VSwitchId": "VSwitchId",
    }
    for name, field in filters.items():
        expected = [e for e in everything if e[field] == sample[field]]
        assert enis(emulator, **{name: sample[field]}) == expected, name
        assert sample in expected
    group = sample["SecurityGroupIds"]["SecurityGroup"][0]
    assert enis(emulator, SecurityGroupId=group) == [
        e for e in everything if group in e["SecurityGroupIds"]["SecurityGroup"]
    ]
    secondaries_here = enis(emulator, InstanceId=sample["InstanceId"], Type="Secondary")
    assert sample in secondaries_here
    assert {e["Type"] for e in secondaries_here} == {"Secondary"}


class CountingList(list):
    """A list that counts how often it is iterated; slicing does not iterate."""

    iterations = 0

    def __iter__(self):
        CountingList.iterations += 1
        return super().__iter__()


def test_an_unfiltered_page_does_not_scan_the_fleet():
    cloud = Cloud.generate(seed=3, instances=200)
    cloud.fleet.instances = CountingList(cloud.fleet.instances)
    cloud.fleet.network_interfaces = CountingList(cloud.fleet.network_interfaces)
    CountingList.iterations = 0
    page = cloud.describe_network_interfaces({"PageSize": "100", "PageNumber": "3"})
    assert len(page["NetworkInterfaceSets"]["NetworkInterfaceSet"]) == 100
    cloud.describe_instances({"PageSize": "100", "PageNumber": "2"})
    assert CountingList.iterations == 0
    cloud.describe_network_interfaces({"Status": "InUse"})
    assert CountingList.iterations == 1  # a filter may scan
