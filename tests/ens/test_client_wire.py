"""The client on the wire: exactly what it sends, and what it makes of every kind of answer."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from eniadmin.ens import errors, signing
from eniadmin.ens.client import EnsClient, RetryPolicy
from eniadmin.ens.errors import Category, EnsConfigurationError, EnsError, OutcomeUnknown
from tests.ens.wire import Answer, Received, ScriptedServer

SECRET = "wire-test-secret-Zq81"


@pytest.fixture
def server():
    with ScriptedServer() as scripted:
        yield scripted


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def make_client(url: str, sleeps: Sleeps, **options) -> EnsClient:
    return EnsClient(
        endpoint=url,
        access_key_id="testid",
        access_key_secret=SECRET,
        sleep=sleeps,
        rand=lambda: 0.5,
        read_timeout=options.pop("read_timeout", 2.0),
        **options,
    )


@pytest.fixture
def client(server, sleeps):
    return make_client(server.url, sleeps)


def verify_v3(request: Received, secret: str = SECRET) -> None:
    _key_id, signed_headers, signature = signing.parse_v3_authorization(
        request.headers["authorization"]
    )
    canonical = signing.v3_canonical_request(
        method=request.method,
        query=request.params,
        headers=request.headers,
        signed_headers=signed_headers,
        payload_sha256=request.headers["x-acs-content-sha256"],
    )
    assert signing.v3_signature(signing.v3_string_to_sign(canonical), secret) == signature


def eni_page(total: int, ids: list[str], number: int = 1, size: int = 100) -> Answer:
    return Answer(
        body={
            "RequestId": f"REQ-{number}",
            "TotalCount": total,
            "PageNumber": number,
            "PageSize": size,
            "NetworkInterfaceSets": {
                "NetworkInterfaceSet": [
                    {"NetworkInterfaceId": eni_id, "Status": "InUse", "Type": "Secondary"}
                    for eni_id in ids
                ]
            },
        }
    )


# What goes on the wire -------------------------------------------------------------------------


def test_v3_describe_network_interfaces_request_on_the_wire(server, client):
    server.answer(eni_page(0, []))
    client.describe_network_interfaces(
        eni_ids=["eni-1", "eni-2"], region_ids=["cn-a"], status="InUse"
    )

    (request,) = server.received
    assert request.method == "POST"
    assert request.path == "/"
    assert request.body == b""
    assert request.query == sorted(request.query)
    assert request.params == {
        "EnsRegionIds.1": "cn-a",
        "NetworkInterfaceIds.1": "eni-1",
        "NetworkInterfaceIds.2": "eni-2",
        "PageNumber": "1",
        "PageSize": "100",
        "Status": "InUse",
    }
    assert request.headers["x-acs-action"] == "DescribeNetworkInterfaces"
    assert request.headers["x-acs-version"] == "2017-11-10"
    assert request.headers["x-acs-content-sha256"] == signing.EMPTY_BODY_SHA256
    assert request.headers["host"] == server.url.removeprefix("http://")
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=testid,")
    verify_v3(request)


def test_v1_describe_instances_sends_lists_as_json_strings(server, sleeps):
    client = make_client(server.url, sleeps, signature_version="v1")
    server.answer(Answer(body={"RequestId": "R", "Code": 0, "TotalCount": 0, "Instances": {}}))
    client.describe_instances(instance_ids=["i-1", "i-2"], region_ids=["cn-a"], status="Stopped")

    (request,) = server.received
    params = request.params
    assert params["InstanceIds"] == '["i-1","i-2"]'
    assert params["EnsRegionIds"] == '["cn-a"]'
    assert params["Action"] == "DescribeInstances"
    assert params["Version"] == "2017-11-10"
    assert params["Format"] == "JSON"
    assert params["SignatureMethod"] == "HMAC-SHA1"
    assert params["SignatureVersion"] == "1.0"
    assert params["AccessKeyId"] == "testid"
    assert "authorization" not in request.headers
    expected = signing.v1_signature(signing.v1_string_to_sign("POST", params), SECRET)
    assert params["Signature"] == expected


def test_an_empty_instance_id_list_is_sent_because_it_matches_nothing(server, client):
    server.answer(Answer(body={"RequestId": "R", "Code": 0, "TotalCount": 0}))
    client.describe_instances(instance_ids=[])
    assert server.received[0].params["InstanceIds"] == "[]"


@pytest.mark.parametrize("version", ["v3", "v1"])
def test_sts_token_is_sent_and_signed(server, sleeps, version):
    client = make_client(server.url, sleeps, signature_version=version, security_token="tok+/=")
    server.answer(Answer())
    client.detach_network_interface("eni-1")
    (request,) = server.received
    if version == "v3":
        assert request.headers["x-acs-security-token"] == "tok+/="
        assert "x-acs-security-token" in request.headers["authorization"]
        verify_v3(request)
    else:
        assert request.params["SecurityToken"] == "tok+/="


def test_detach_and_attach_send_their_parameters(server, client):
    server.answer(Answer(body={"RequestId": "D-1"}), Answer(body={"RequestId": "A-1"}))
    assert client.detach_network_interface("eni-9").request_id == "D-1"
    assert client.attach_network_interface("eni-9", "i-7").request_id == "A-1"
    detach, attach = server.received
    assert detach.headers["x-acs-action"] == "DetachNetworkInterface"
    assert detach.params == {"NetworkInterfaceId": "eni-9"}
    assert attach.headers["x-acs-action"] == "AttachNetworkInterface"
    assert attach.params == {"InstanceId": "i-7", "NetworkInterfaceId": "eni-9"}


def test_values_are_rfc3986_encoded_on_the_wire(server, client):
    server.answer(eni_page(0, []))
    client.describe_network_interfaces(primary_ip="a b*c~é")
    (request,) = server.received
    assert request.params["PrimaryIpAddress"] == "a b*c~é"
    verify_v3(request)


def test_describe_regions_parses_the_doubled_key(server, client):
    server.answer(
        Answer(
            body={
                "RequestId": "R",
                "Code": 0,
                "EnsRegions": {
                    "EnsRegions": [
                        {
                            "EnsRegionId": "cn-beijing-cmcc",
                            "Name": "北京移动",
                            "EnName": "Beijing CMCC",
                            "Area": "华北",
                            "Province": "北京",
                        }
                    ]
                },
            }
        )
    )
    page = client.describe_regions()
    assert [region.region_id for region in page.items] == ["cn-beijing-cmcc"]
    assert page.items[0].en_name == "Beijing CMCC"
    assert page.request_id == "R"


def test_instances_and_interfaces_carry_every_field_the_dashboard_shows(server, client):
    server.answer(
        Answer(
            body={
                "RequestId": "R",
                "Code": 0,
                "TotalCount": 1,
                "PageNumber": 1,
                "PageSize": 100,
                "Instances": {
                    "Instance": [
                        {
                            "InstanceId": "i-1",
                            "InstanceName": "edge-1",
                            "HostName": "h1",
                            "EnsRegionId": "cn-a",
                            "Status": "Stopped",
                            "SpecName": "ens.sn1.small",
                            "ImageId": "m-1",
                            "CreationTime": "2024-03-01T08:00:00Z",
                            "NetworkAttributes": {"NetworkId": "n-1", "VSwitchId": "vsw-1"},
                            "PrivateIpAddresses": {"PrivateIpAddress": [{"Ip": "10.0.0.5"}]},
                            "PublicIpAddresses": {"PublicIpAddress": [{"Ip": "1.2.3.4"}]},
                            "SecurityGroupIds": {"SecurityGroupId": ["sg-1"]},
                            "NetworkInterfaces": {
                                "NetworkInterfaces": [
                                    {
                                        "NetworkInterfaceId": "eni-p",
                                        "Type": "Primary",
                                        "MacAddress": "aa:bb",
                                        "PrimaryIpAddress": "10.0.0.5",
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        ),
        Answer(
            body={
                "RequestId": "R2",
                "TotalCount": 1,
                "PageNumber": 1,
                "PageSize": 100,
                "NetworkInterfaceSets": {
                    "NetworkInterfaceSet": [
                        {
                            "NetworkInterfaceId": "eni-s",
                            "NetworkInterfaceName": "data",
                            "Description": "d",
                            "EnsRegionId": "cn-a",
                            "InstanceId": "i-1",
                            "Status": "InUse",
                            "Type": "Secondary",
                            "PrimaryIp": "10.0.1.9",
                            "PrimaryIpType": "Private",
                            "MacAddress": "00:16:3e:01:02:03",
                            "NetworkId": "n-1",
                            "VSwitchId": "vsw-2",
                            "CreationTime": "2024-03-01T08:00Z",
                            "SecurityGroupIds": {"SecurityGroup": ["sg-1", "sg-2"]},
                            "PrivateIpSets": {
                                "PrivateIpSet": [{"PrivateIpAddress": "10.0.1.9", "Primary": True}]
                            },
                            "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": "fe80::1"}]},
                        }
                    ]
                },
            }
        ),
    )
    (instance,) = client.describe_instances().items
    assert (instance.instance_id, instance.name, instance.region_id, instance.status) == (
        "i-1",
        "edge-1",
        "cn-a",
        "Stopped",
    )
    assert instance.private_ips == ("10.0.0.5",)
    assert instance.public_ips == ("1.2.3.4",)
    assert (instance.network_id, instance.vswitch_id) == ("n-1", "vsw-1")
    assert instance.creation_time.isoformat() == "2024-03-01T08:00:00+00:00"

    (eni,) = client.describe_network_interfaces().items
    assert eni.name == "data"
    assert eni.instance_id == "i-1"
    assert eni.mac_address == "00:16:3e:01:02:03"
    assert eni.security_group_ids == ("sg-1", "sg-2")
    assert eni.private_ips == ("10.0.1.9",)
    assert eni.ipv6_addresses == ("fe80::1",)
    assert eni.creation_time.isoformat() == "2024-03-01T08:00:00+00:00"


# Errors ----------------------------------------------------------------------------------------

DETACH_CODES = {
    "ens.interface.error": Category.TRANSIENT,
    "InvalidEniId.NotFound": Category.NOT_FOUND,
    "InvalidParameter.EniServiceManaged": Category.SERVICE_MANAGED,
    "InvalidOperation.InvalidEniStatus": Category.INVALID_STATE,
    "InvalidOperation.InvalidEniType": Category.INVALID_STATE,
    "InvalidOperation.InvalidEnsStatus": Category.INVALID_STATE,
    "NoPermission": Category.PERMISSION,
    "InvalidParameter.NetworkInterfaceId": Category.INVALID_PARAMETER,
}


@pytest.mark.parametrize(("code", "category"), DETACH_CODES.items())
def test_every_detach_error_code_keeps_its_details_and_has_an_operator_sentence(
    server, client, code, category
):
    server.answer(Answer(status=400, body={"RequestId": "E-1", "Code": code, "Message": "m"}))
    with pytest.raises(EnsError) as raised:
        client.detach_network_interface("eni-1")
    error = raised.value
    assert (error.code, error.message, error.request_id, error.http_status) == (
        code,
        "m",
        "E-1",
        400,
    )
    assert error.category is category
    assert error.action == "DetachNetworkInterface"
    assert len(server.received) == 1, "a write is never retried"
    fallback = errors.operator_sentence("Unknown.Code", Category.OTHER)
    assert error.operator_message != fallback


def test_sentences_say_what_happened_and_what_to_do():
    def sentence(code):
        return errors.operator_sentence(
            code, errors.categorize(code, 400), "DetachNetworkInterface"
        )

    assert "ens:DetachNetworkInterface" in sentence("NoPermission")
    assert "Stop the instance first" in sentence("InvalidOperation.InvalidEnsStatus")
    assert "primary network interface" in sentence("InvalidOperation.InvalidEniType")
    assert "InUse" in sentence("InvalidOperation.InvalidEniStatus")
    assert "managed by a cloud service" in sentence("InvalidParameter.EniServiceManaged")
    assert "Sync the inventory" in sentence("InvalidEniId.NotFound")
    assert "NetworkInterfaceId" in sentence("InvalidParameter.NetworkInterfaceId")


@pytest.mark.parametrize(
    ("code", "status", "category"),
    [
        ("InvalidAccessKeyId.NotFound", 404, Category.AUTHENTICATION),
        ("InvalidAccessKeyId.Inactive", 400, Category.AUTHENTICATION),
        ("SignatureDoesNotMatch", 400, Category.AUTHENTICATION),
        ("InvalidTimeStamp.Expired", 400, Category.AUTHENTICATION),
        ("SignatureNonceUsed", 400, Category.AUTHENTICATION),
        ("Forbidden.RAM", 403, Category.PERMISSION),
        ("Throttling", 400, Category.THROTTLED),
        ("Throttling.User", 429, Category.THROTTLED),
        ("Throttling.Api", 400, Category.THROTTLED),
        ("InternalError", 500, Category.TRANSIENT),
        ("ServiceUnavailable", 503, Category.TRANSIENT),
        ("SomethingNew", 502, Category.TRANSIENT),
        ("MissingParameter", 400, Category.INVALID_PARAMETER),
        ("InvalidParameter.PageSize", 400, Category.INVALID_PARAMETER),
        ("InstanceNotFound", 400, Category.NOT_FOUND),
        ("SomethingNew", 400, Category.OTHER),
    ],
)
def test_error_categories(code, status, category):
    assert errors.categorize(code, status) is category


@pytest.mark.parametrize(
    "answer",
    [
        Answer(raw=b"<html>oops</html>"),
        Answer(raw=b"[1, 2]"),
        Answer(body={"TotalCount": 0}),
        Answer(body={"RequestId": "R", "NetworkInterfaceSets": {"NetworkInterfaceSet": "x"}}),
        Answer(body={"RequestId": "R", "TotalCount": "many"}),
    ],
    ids=["html", "json-list", "no-request-id", "wrong-shape", "bad-count"],
)
def test_a_malformed_answer_is_a_clear_error_not_a_crash(server, client, answer):
    server.answer(answer)
    with pytest.raises(EnsError) as raised:
        client.describe_network_interfaces()
    assert raised.value.category is Category.MALFORMED_RESPONSE
    assert raised.value.code == errors.MALFORMED_RESPONSE
    assert len(server.received) == 1, "a malformed answer is not retried"


# Retries ---------------------------------------------------------------------------------------


def throttled(retry_after_ms: int | None = None) -> Answer:
    headers = {"x-acs-retry-after": str(retry_after_ms)} if retry_after_ms else {}
    return Answer(
        status=400,
        headers=headers,
        body={"RequestId": "T", "Code": "Throttling.User", "Message": "flow control"},
    )


def test_reads_retry_throttling_honouring_retry_after(server, client, sleeps):
    server.answer(throttled(1500), throttled(), eni_page(1, ["eni-1"]))
    page = client.describe_network_interfaces()
    assert [eni.eni_id for eni in page.items] == ["eni-1"]
    assert len(server.received) == 3
    assert sleeps[0] == pytest.approx(1.5), "x-acs-retry-after is in milliseconds"
    assert sleeps[1] == pytest.approx(0.375), "the second backoff doubles, with jitter"


def test_reads_retry_transient_failures_with_growing_backoff(server, client, sleeps):
    server.answer(
        Answer(status=500, body={"RequestId": "A", "Code": "InternalError", "Message": "x"}),
        Answer(status=503, body={"RequestId": "B", "Code": "ServiceUnavailable", "Message": "x"}),
        Answer(status=400, body={"RequestId": "C", "Code": "ens.interface.error", "Message": "x"}),
        Answer(status=502, raw=b"<html>bad gateway</html>"),
        eni_page(0, []),
    )
    client.describe_network_interfaces()
    assert len(server.received) == 5
    assert sleeps == pytest.approx([0.1875, 0.375, 0.75, 1.5])


def test_reads_give_up_after_the_attempt_limit(server, sleeps):
    client = make_client(server.url, sleeps, retry=RetryPolicy(max_attempts=3))
    server.default = throttled()
    with pytest.raises(EnsError) as raised:
        client.describe_instances()
    assert raised.value.category is Category.THROTTLED
    assert len(server.received) == 3
    assert len(sleeps) == 2


def test_reads_give_up_when_the_time_budget_would_be_exceeded(server, sleeps):
    client = make_client(server.url, sleeps, retry=RetryPolicy(total_seconds=2.0))
    server.default = throttled(5000)
    with pytest.raises(EnsError):
        client.describe_instances()
    assert len(server.received) == 1
    assert sleeps == []


def test_reads_retry_a_dropped_connection(server, client):
    server.answer(Answer(drop=True), eni_page(0, []))
    client.describe_network_interfaces()
    assert len(server.received) == 2


def test_read_timeout_is_retried_then_reported_as_transient(server, sleeps):
    client = make_client(server.url, sleeps, read_timeout=0.2, retry=RetryPolicy(max_attempts=2))
    server.default = Answer(delay=0.5)
    with pytest.raises(EnsError) as raised:
        client.describe_network_interfaces()
    assert raised.value.code == errors.TIMED_OUT
    assert raised.value.category is Category.TRANSIENT
    assert len(server.received) == 2


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=500, body={"RequestId": "X-500", "Code": "InternalError", "Message": "boom"}),
        Answer(status=503, raw=b"upstream down"),
        Answer(drop=True),
        Answer(raw=b"<html>a proxy's page</html>"),
        Answer(body={"Code": 0}),
    ],
    ids=["500", "503-not-json", "dropped", "200-not-json", "200-no-request-id"],
)
def test_a_write_with_an_unclear_outcome_raises_outcome_unknown_and_is_not_retried(
    server, client, answer
):
    server.answer(answer)
    with pytest.raises(OutcomeUnknown) as raised:
        client.detach_network_interface("eni-1")
    assert raised.value.category is Category.OUTCOME_UNKNOWN
    assert "may or may not" in raised.value.operator_message
    assert len(server.received) == 1


def test_a_write_that_times_out_is_outcome_unknown(server, sleeps):
    client = make_client(server.url, sleeps, read_timeout=0.2)
    server.answer(Answer(delay=0.5))
    with pytest.raises(OutcomeUnknown):
        client.detach_network_interface("eni-1")
    assert len(server.received) == 1


def test_a_retry_waits_no_longer_than_the_total_time_left(server, sleeps):
    client = make_client(server.url, sleeps, read_timeout=5.0, retry=RetryPolicy(total_seconds=1.0))
    server.answer(Answer(status=503, raw=b"busy"), Answer(delay=3.0, body=eni_page(0, []).body))
    started = time.monotonic()
    with pytest.raises(EnsError) as raised:
        client.describe_network_interfaces()
    assert time.monotonic() - started < 2.5, "not the backoff plus a whole read timeout"
    assert raised.value.code == errors.TIMED_OUT
    assert len(server.received) == 2


def test_a_write_throttled_is_reported_not_retried(server, client):
    server.answer(throttled(100))
    with pytest.raises(EnsError) as raised:
        client.detach_network_interface("eni-1")
    assert raised.value.category is Category.THROTTLED
    assert len(server.received) == 1


def test_a_write_that_could_not_connect_is_known_not_sent(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", sleeps)
    with pytest.raises(EnsError) as raised:
        client.detach_network_interface("eni-1")
    assert not isinstance(raised.value, OutcomeUnknown)
    assert raised.value.code == errors.CONNECTION_FAILED
    assert "not sent" in raised.value.message


# Pagination ------------------------------------------------------------------------------------


def page_numbers(server: ScriptedServer) -> list[str]:
    return [request.params["PageNumber"] for request in server.received]


def test_an_empty_fleet_takes_one_request(server, client):
    server.answer(eni_page(0, []))
    assert list(client.iter_network_interfaces()) == []
    assert page_numbers(server) == ["1"]


def test_an_exact_multiple_of_the_page_size_takes_no_extra_request(server, client):
    server.answer(eni_page(4, ["a", "b"], 1, 2), eni_page(4, ["c", "d"], 2, 2))
    ids = [eni.eni_id for eni in client.iter_network_interfaces(page_size=2)]
    assert ids == ["a", "b", "c", "d"]
    assert page_numbers(server) == ["1", "2"]
    assert {request.params["PageSize"] for request in server.received} == {"2"}


def test_a_partial_last_page(server, client):
    server.answer(eni_page(3, ["a", "b"], 1, 2), eni_page(3, ["c"], 2, 2))
    assert len(list(client.iter_network_interfaces(page_size=2))) == 3
    assert page_numbers(server) == ["1", "2"]


def test_total_count_shrinking_mid_walk_ends_the_walk(server, client):
    server.answer(eni_page(6, ["a", "b"], 1, 2), eni_page(4, ["c", "d"], 2, 2))
    assert len(list(client.iter_network_interfaces(page_size=2))) == 4
    assert page_numbers(server) == ["1", "2"]


def test_total_count_growing_mid_walk_extends_the_walk(server, client):
    server.answer(
        eni_page(4, ["a", "b"], 1, 2), eni_page(5, ["c", "d"], 2, 2), eni_page(5, ["e"], 3, 2)
    )
    assert len(list(client.iter_network_interfaces(page_size=2))) == 5
    assert page_numbers(server) == ["1", "2", "3"]


def test_an_empty_page_ends_the_walk_whatever_total_count_says(server, client):
    server.answer(eni_page(10, ["a", "b"], 1, 2), eni_page(10, [], 2, 2))
    assert len(list(client.iter_network_interfaces(page_size=2))) == 2
    assert page_numbers(server) == ["1", "2"]


def test_a_retried_page_is_not_fetched_again_afterwards(server, client):
    server.answer(eni_page(4, ["a", "b"], 1, 2), throttled(), eni_page(4, ["c", "d"], 2, 2))
    assert len(list(client.iter_network_interfaces(page_size=2))) == 4
    assert page_numbers(server) == ["1", "2", "2"]


def test_page_size_is_bounded_by_what_the_api_accepts(client):
    with pytest.raises(ValueError, match="between 1 and 100"):
        client.describe_network_interfaces(page_size=101)


# Secrets and configuration ---------------------------------------------------------------------


def test_the_secret_never_shows_in_repr_logs_or_errors(server, client, caplog):
    caplog.set_level(logging.INFO, logger="eniadmin.ens.client")
    server.answer(
        eni_page(0, []),
        Answer(status=400, body={"RequestId": "E", "Code": "NoPermission", "Message": "denied"}),
    )
    client.describe_network_interfaces()
    with pytest.raises(EnsError) as raised:
        client.detach_network_interface("eni-1")
    assert "DescribeNetworkInterfaces" in caplog.text
    assert "RequestId=REQ-1" in caplog.text
    for text in (
        repr(client),
        repr(client.credentials),
        caplog.text,
        str(raised.value),
        repr(raised.value),
        raised.value.operator_message,
    ):
        assert SECRET not in text


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_the_sts_token_and_signature_stay_out_of_transport_errors(sleeps, version):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens: the error quotes the URL
    client = make_client(
        f"http://127.0.0.1:{port}", sleeps, signature_version=version, security_token="sts-tok3n"
    )
    for call in (client.describe_network_interfaces, lambda: client.detach_network_interface("e")):
        with pytest.raises(EnsError) as raised:
            call()
        for text in (str(raised.value), repr(raised.value), raised.value.message):
            assert "sts-tok3n" not in text
            assert "Signature=" not in text or "Signature=***" in text


def test_from_settings_lists_every_missing_setting():
    class Empty:
        ENS_SIGNATURE_VERSION = "v2"

    with pytest.raises(EnsConfigurationError) as raised:
        EnsClient.from_settings(Empty())
    message = str(raised.value)
    for name in (
        "ENS_ENDPOINT",
        "ENS_ACCESS_KEY_ID",
        "ENS_ACCESS_KEY_SECRET",
        "ENS_SIGNATURE_VERSION",
    ):
        assert name in message


def test_from_settings_refuses_an_endpoint_that_is_not_a_url():
    class Settings:
        ENS_ENDPOINT = "ens.aliyuncs.com"
        ENS_ACCESS_KEY_ID = "id"
        ENS_ACCESS_KEY_SECRET = SECRET

    with pytest.raises(EnsConfigurationError, match="ENS_ENDPOINT"):
        EnsClient.from_settings(Settings())


def test_from_settings_builds_a_working_client(server):
    class Settings:
        ENS_ENDPOINT = server.url
        ENS_ACCESS_KEY_ID = "testid"
        ENS_ACCESS_KEY_SECRET = SECRET
        ENS_SIGNATURE_VERSION = "v3"

    client = EnsClient.from_settings(Settings())
    server.answer(Answer(body={"RequestId": "R", "Code": 0, "EnsRegions": {"EnsRegions": []}}))
    assert client.describe_regions().request_id == "R"
    verify_v3(server.received[0])
    assert json.loads(json.dumps(server.received[0].params)) == {}
