"""Fault rules: each kind, count, rate, action filter; never on the control API."""

from __future__ import annotations

import time

import pytest
import requests
from alibabacloud_ens20171110 import models as ens_models
from alibabacloud_ens20171110.client import Client as EnsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ThrottlingException

from eniadmin.ens.emulator.control import EmulatorControlError
from eniadmin.ens.emulator.faults import FaultInjector, parse_rules
from eniadmin.ens.emulator.server import ACTIONS, EmulatorServer
from tests.ens.emulator.wire import v3_call

ERROR_KINDS = [
    ("throttle", 400, "Throttling.User", "Request was denied due to user flow control."),
    ("interface_error", 400, "ens.interface.error", "An error occurred while call the API."),
    (
        "internal_error",
        500,
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
    ),
    (
        "service_unavailable",
        503,
        "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
    ),
    ("no_permission", 400, "NoPermission", "Permission denied."),
]


@pytest.mark.parametrize(("kind", "status", "code", "message"), ERROR_KINDS)
def test_each_error_kind_answers_like_the_service(emulator, kind, status, code, message):
    emulator.control.set_faults([{"kind": kind}])
    response = v3_call(emulator, "DescribeEnsRegions")
    assert response.status_code == status
    assert (response.json()["Code"], response.json()["Message"]) == (code, message)
    assert emulator.control.requests()[-1]["outcome"] == code


def test_a_throttle_carries_retry_after_that_the_sdk_understands(emulator):
    emulator.control.set_faults([{"kind": "throttle", "retry_after_ms": 250}])
    assert v3_call(emulator, "DescribeEnsRegions").headers["x-acs-retry-after"] == "250"
    client = EnsClient(
        open_api_models.Config(
            access_key_id=emulator.access_key_id,
            access_key_secret=emulator.access_key_secret,
            endpoint=emulator.url.removeprefix("http://"),
            protocol="http",
        )
    )
    with pytest.raises(ThrottlingException) as raised:
        client.describe_ens_regions(ens_models.DescribeEnsRegionsRequest())
    assert raised.value.code == "Throttling.User"


def test_a_rule_for_one_action_leaves_the_others_alone(emulator):
    emulator.control.set_faults([{"kind": "internal_error", "action": "DetachNetworkInterface"}])
    assert v3_call(emulator, "DescribeEnsRegions").status_code == 200
    response = v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": "eni-x"})
    assert response.status_code == 500


def test_a_counted_rule_is_spent_after_count_matching_requests(emulator):
    emulator.control.set_faults([{"kind": "service_unavailable", "count": 2}])
    statuses = [v3_call(emulator, "DescribeEnsRegions").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    (rule,) = emulator.control.faults()
    assert (rule["matched"], rule["spent"]) == (2, True)


def test_rates_draw_from_a_seeded_random(emulator):
    rules = [{"kind": "interface_error", "rate": 0.5}]

    def pattern() -> list[int]:
        emulator.control.set_faults(rules)
        return [v3_call(emulator, "DescribeEnsRegions").status_code for _ in range(30)]

    first = pattern()
    assert 5 <= first.count(400) <= 25
    assert pattern() == first  # replacing the rules restarts the same sequence
    emulator.control.set_faults([{"kind": "interface_error", "rate": 0}])
    assert v3_call(emulator, "DescribeEnsRegions").status_code == 200


def test_latency_delays_and_then_answers(emulator):
    emulator.control.set_faults([{"kind": "latency", "ms": 300}])
    started = time.monotonic()
    response = v3_call(emulator, "DescribeEnsRegions")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_latency_adds_up_before_an_error(emulator):
    emulator.control.set_faults(
        [{"kind": "latency", "ms": 100}, {"kind": "latency", "ms": 100}, {"kind": "throttle"}]
    )
    started = time.monotonic()
    assert v3_call(emulator, "DescribeEnsRegions").json()["Code"] == "Throttling.User"
    assert time.monotonic() - started >= 0.2


def test_a_drop_before_closes_the_connection_and_does_nothing(emulator):
    control = emulator.control
    eni_id = control.state()["demo_notes"]["detach_candidates"][0]
    control.set_faults([{"kind": "drop", "action": "DetachNetworkInterface"}])
    with pytest.raises(requests.ConnectionError):
        v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert control.eni(eni_id)["status"] == "InUse"
    entry = control.requests()[-1]
    assert (entry["http_status"], entry["outcome"]) == (None, "dropped")


def test_a_drop_after_performs_the_action_but_never_answers(emulator):
    control = emulator.control
    eni_id = control.state()["demo_notes"]["detach_candidates"][0]
    control.set_faults([{"kind": "drop", "when": "after", "count": 1}])
    with pytest.raises(requests.ConnectionError):
        v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert control.eni(eni_id)["status"] == "Detaching"
    assert control.requests()[-1]["outcome"] == "dropped_after:ok"
    retried = v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": eni_id})
    assert retried.json()["Code"] == "InvalidOperation.InvalidEniStatus"


def test_faults_never_touch_the_control_api(emulator):
    emulator.control.set_faults([{"kind": "drop"}, {"kind": "internal_error"}])
    assert emulator.control.state()["instances"]["total"] == 24
    assert len(emulator.control.faults()) == 2


def test_faults_come_after_authentication(emulator):
    emulator.control.set_faults([{"kind": "throttle"}])
    response = v3_call(emulator, "DescribeEnsRegions", secret="wrong")
    assert response.json()["Code"] == "SignatureDoesNotMatch"


def test_faults_can_be_given_at_start():
    with EmulatorServer(faults=[{"kind": "no_permission", "action": "StopInstance"}]) as server:
        response = v3_call(server, "StopInstance", {"InstanceId": "i-any"})
        assert response.json()["Code"] == "NoPermission"
        assert v3_call(server, "DescribeEnsRegions").ok


@pytest.mark.parametrize(
    "rules",
    [
        {"kind": "throttle"},
        [{"kind": "explode"}],
        [{"kind": "throttle", "action": "DescribeEverything"}],
        [{"kind": "throttle", "rate": 1.5}],
        [{"kind": "throttle", "count": 0}],
        [{"kind": "latency"}],
        [{"kind": "drop", "when": "later"}],
        [{"kind": "throttle", "colour": "red"}],
    ],
)
def test_malformed_rules_are_refused(emulator, rules):
    with pytest.raises(ValueError):
        parse_rules(rules, ACTIONS)
    with pytest.raises(EmulatorControlError) as raised:
        emulator.control.set_faults(rules if isinstance(rules, list) else [rules, 1])
    assert raised.value.status == 400


def test_a_matching_request_counts_even_when_the_rate_spares_it():
    injector = FaultInjector(parse_rules([{"kind": "throttle", "rate": 0, "count": 3}], ACTIONS))
    for _ in range(3):
        assert injector.plan("DescribeEnsRegions").fault is None
    assert injector.describe()[0]["spent"]
