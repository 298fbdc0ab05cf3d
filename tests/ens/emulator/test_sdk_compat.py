"""Both official SDKs, unchanged, against the emulator (ens-signing.md section 5)."""

from __future__ import annotations

import json

import pytest
from alibabacloud_ens20171110 import models as ens_models
from alibabacloud_ens20171110.client import Client as EnsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest
from aliyunsdkens.request.v20171110.AttachNetworkInterfaceRequest import (
    AttachNetworkInterfaceRequest,
)
from aliyunsdkens.request.v20171110.DescribeEnsRegionsRequest import DescribeEnsRegionsRequest
from aliyunsdkens.request.v20171110.DescribeInstancesRequest import DescribeInstancesRequest
from aliyunsdkens.request.v20171110.DescribeNetworkInterfacesRequest import (
    DescribeNetworkInterfacesRequest,
)
from aliyunsdkens.request.v20171110.DetachNetworkInterfaceRequest import (
    DetachNetworkInterfaceRequest,
)
from aliyunsdkens.request.v20171110.StartInstanceRequest import StartInstanceRequest
from aliyunsdkens.request.v20171110.StopInstanceRequest import StopInstanceRequest

from eniadmin.ens.emulator.server import EmulatorServer

DETACH_ERRORS = [
    "InvalidEniId.NotFound",
    "InvalidParameter.EniServiceManaged",
    "InvalidOperation.InvalidEniType",
    "InvalidOperation.InvalidEniStatus",
    "InvalidOperation.InvalidEnsStatus",
]


def detach_target(server: EmulatorServer, code: str) -> str:
    """An ENI of the demo fleet whose detach fails with `code`."""
    notes = server.control.state()["demo_notes"]
    return {
        "InvalidEniId.NotFound": "eni-doesnotexist00000",
        "InvalidParameter.EniServiceManaged": notes["service_managed"][0],
        "InvalidOperation.InvalidEniType": notes["primary_on_stopped_instance"][0],
        "InvalidOperation.InvalidEniStatus": notes["attach_candidates"][0]["network_interface_id"],
        "InvalidOperation.InvalidEnsStatus": notes["secondary_on_running_instance"][0],
    }[code]


# The legacy SDK: aliyun-python-sdk-core + aliyunsdkens, always v1 ------------------------------


def legacy_call(
    server: EmulatorServer,
    request: RpcRequest,
    *,
    key_id: str | None = None,
    secret: str | None = None,
) -> dict:
    client = AcsClient(
        key_id or server.access_key_id,
        secret or server.access_key_secret,
        "cn-hangzhou",
        auto_retry=False,
    )
    request.set_endpoint(server.url.removeprefix("http://"))
    request.set_protocol_type("http")
    return json.loads(client.do_action_with_exception(request))


def test_legacy_sdk_runs_every_action(emulator):
    notes = emulator.control.state()["demo_notes"]

    regions = legacy_call(emulator, DescribeEnsRegionsRequest())
    assert regions["Code"] == 0
    assert len(regions["EnsRegions"]["EnsRegions"]) == 8

    describe = DescribeInstancesRequest()
    describe.set_InstanceIds(json.dumps(notes["running_with_secondaries"][:2]))
    instances = legacy_call(emulator, describe)
    assert instances["TotalCount"] == 2

    enis = DescribeNetworkInterfacesRequest()
    enis.set_NetworkInterfaceIds(notes["detach_candidates"][:3])
    enis.set_PageSize("2")
    listed = legacy_call(emulator, enis)
    assert listed["TotalCount"] == 3
    assert len(listed["NetworkInterfaceSets"]["NetworkInterfaceSet"]) == 2

    detach = DetachNetworkInterfaceRequest()
    detach.set_NetworkInterfaceId(notes["detach_candidates"][0])
    assert set(legacy_call(emulator, detach)) == {"RequestId"}

    pair = notes["attach_candidates"][0]
    attach = AttachNetworkInterfaceRequest()
    attach.set_InstanceId(pair["instance_id"])
    attach.set_NetworkInterfaceId(pair["network_interface_id"])
    assert set(legacy_call(emulator, attach)) == {"RequestId"}

    stop = StopInstanceRequest()
    stop.set_InstanceId(notes["running_with_secondaries"][0])
    assert legacy_call(emulator, stop)["Code"] == 0
    start = StartInstanceRequest()
    start.set_InstanceId(pair["instance_id"])
    assert legacy_call(emulator, start)["Code"] == 0

    log = emulator.control.requests()
    assert {entry["signature_version"] for entry in log} == {"v1"}
    assert {entry["outcome"] for entry in log} == {"ok"}


@pytest.mark.parametrize("code", DETACH_ERRORS)
def test_legacy_sdk_raises_each_detach_precondition_error(emulator, code):
    request = DetachNetworkInterfaceRequest()
    request.set_NetworkInterfaceId(detach_target(emulator, code))
    with pytest.raises(ServerException) as raised:
        legacy_call(emulator, request)
    assert raised.value.error_code == code
    assert raised.value.http_status == 400


def test_legacy_sdk_raises_missing_parameter_and_no_permission(emulator):
    with pytest.raises(ServerException) as missing:
        legacy_call(emulator, DetachNetworkInterfaceRequest())
    assert missing.value.error_code == "MissingParameter"

    emulator.control.add_key("readonly", "readonly-secret", deny=["DetachNetworkInterface"])
    request = DetachNetworkInterfaceRequest()
    request.set_NetworkInterfaceId(detach_target(emulator, "InvalidEniId.NotFound"))
    with pytest.raises(ServerException) as denied:
        legacy_call(emulator, request, key_id="readonly", secret="readonly-secret")
    assert denied.value.error_code == "NoPermission"


def test_legacy_sdk_reports_a_wrong_secret(emulator):
    # The SDK recognises its own string to sign in our message and renames the error.
    with pytest.raises(ServerException) as raised:
        legacy_call(emulator, DescribeEnsRegionsRequest(), secret="not-the-secret")
    assert raised.value.error_code == "InvalidAccessKeySecret"
    assert emulator.control.requests()[-1]["outcome"] == "SignatureDoesNotMatch"


def test_legacy_sdk_reports_an_unknown_key(emulator):
    with pytest.raises(ServerException) as raised:
        legacy_call(emulator, DescribeEnsRegionsRequest(), key_id="nobody")
    assert raised.value.error_code == "InvalidAccessKeyId.NotFound"
    assert raised.value.http_status == 404


# The current SDK: alibabacloud_ens20171110, V3 by default, v1 with signature_algorithm="v2" ------

ALGORITHMS = [pytest.param(None, id="v3-default"), pytest.param("v2", id="v1-legacy-signing")]


def ens_client(
    server: EmulatorServer,
    algorithm: str | None,
    *,
    key_id: str | None = None,
    secret: str | None = None,
    security_token: str | None = None,
) -> EnsClient:
    config = open_api_models.Config(
        access_key_id=key_id or server.access_key_id,
        access_key_secret=secret or server.access_key_secret,
        security_token=security_token,
        endpoint=server.url.removeprefix("http://"),
        protocol="http",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return EnsClient(config)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_current_sdk_runs_every_action(emulator, algorithm):
    notes = emulator.control.state()["demo_notes"]
    client = ens_client(emulator, algorithm)

    regions = client.describe_ens_regions(ens_models.DescribeEnsRegionsRequest())
    assert regions.body.code == 0
    assert regions.body.ens_regions.ens_regions[0].ens_region_id == "cn-beijing-cmcc"

    instances = client.describe_instances(
        ens_models.DescribeInstancesRequest(
            instance_ids=json.dumps(notes["running_with_secondaries"][:3]), page_size=2
        )
    )
    assert (instances.body.total_count, instances.body.page_size) == (3, 2)
    first = instances.body.instances.instance[0]
    assert first.status == "Running"
    assert len(first.network_interfaces.network_interfaces) >= 2

    enis = client.describe_network_interfaces(
        ens_models.DescribeNetworkInterfacesRequest(
            network_interface_ids=notes["detach_candidates"][:2], status="InUse"
        )
    )
    listed = enis.body.network_interface_sets.network_interface_set
    assert [e.network_interface_id for e in listed] == notes["detach_candidates"][:2]

    eni_id = notes["detach_candidates"][0]
    detached = client.detach_network_interface(
        ens_models.DetachNetworkInterfaceRequest(network_interface_id=eni_id)
    )
    assert detached.status_code == 200
    assert detached.body.request_id
    assert emulator.control.eni(eni_id)["status"] == "Detaching"

    pair = notes["attach_candidates"][0]
    client.attach_network_interface(
        ens_models.AttachNetworkInterfaceRequest(
            instance_id=pair["instance_id"], network_interface_id=pair["network_interface_id"]
        )
    )
    assert emulator.control.eni(pair["network_interface_id"])["status"] == "Attaching"

    stopped = client.stop_instance(
        ens_models.StopInstanceRequest(instance_id=notes["running_with_secondaries"][0])
    )
    assert stopped.body.code == 0
    client.start_instance(ens_models.StartInstanceRequest(instance_id=pair["instance_id"]))

    expected_version = "v1" if algorithm else "v3"
    log = emulator.control.requests()
    assert {entry["signature_version"] for entry in log} == {expected_version}
    assert {entry["outcome"] for entry in log} == {"ok"}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("code", DETACH_ERRORS)
def test_current_sdk_raises_each_detach_precondition_error(emulator, algorithm, code):
    client = ens_client(emulator, algorithm)
    request = ens_models.DetachNetworkInterfaceRequest(
        network_interface_id=detach_target(emulator, code)
    )
    with pytest.raises(ClientException) as raised:
        client.detach_network_interface(request)
    assert raised.value.code == code
    assert raised.value.status_code == 400


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_current_sdk_raises_missing_parameter_and_no_permission(emulator, algorithm):
    with pytest.raises(ClientException) as missing:
        ens_client(emulator, algorithm).detach_network_interface(
            ens_models.DetachNetworkInterfaceRequest()
        )
    assert missing.value.code == "MissingParameter"

    emulator.control.add_key("readonly", "readonly-secret", deny=["DetachNetworkInterface"])
    client = ens_client(emulator, algorithm, key_id="readonly", secret="readonly-secret")
    with pytest.raises(ClientException) as denied:
        client.detach_network_interface(
            ens_models.DetachNetworkInterfaceRequest(network_interface_id="eni-any")
        )
    assert denied.value.code == "NoPermission"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_current_sdk_reports_a_wrong_secret_and_an_unknown_key(emulator, algorithm):
    request = ens_models.DescribeEnsRegionsRequest()
    with pytest.raises(ClientException) as wrong_secret:
        ens_client(emulator, algorithm, secret="not-the-secret").describe_ens_regions(request)
    assert wrong_secret.value.code == "SignatureDoesNotMatch"

    with pytest.raises(ClientException) as unknown_key:
        ens_client(emulator, algorithm, key_id="nobody").describe_ens_regions(request)
    assert unknown_key.value.code == "InvalidAccessKeyId.NotFound"
    assert unknown_key.value.status_code == 404


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_current_sdk_works_with_sts_credentials(emulator, algorithm):
    client = ens_client(emulator, algorithm, security_token="sts-token-from-ram")
    response = client.describe_ens_regions(ens_models.DescribeEnsRegionsRequest())
    assert response.status_code == 200
