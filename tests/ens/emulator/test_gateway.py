"""The gateway's checks, over raw HTTP: signatures, nonces, timestamps, envelopes, the log."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import requests

from eniadmin.ens import signing
from tests.ens.emulator.wire import (
    TIMEOUT,
    emulator_now,
    resend_v1,
    v1_call,
    v1_params,
    v3_call,
)

REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == code
    assert REQUEST_ID.match(body["RequestId"])
    assert body["Recommend"].endswith(f"q={code}&product=Ens&requestId={body['RequestId']}")
    return body


def test_a_success_carries_an_upper_case_uuid_request_id(emulator):
    response = v3_call(emulator, "DescribeEnsRegions")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert REQUEST_ID.match(response.json()["RequestId"])
    assert response.json()["Code"] == 0


def test_v1_verifies_over_get_post_and_form_body(emulator):
    for method, as_form in (("GET", False), ("POST", False), ("POST", True)):
        response = v1_call(
            emulator, "DescribeNetworkInterfaces", {"PageSize": "3"}, method=method, as_form=as_form
        )
        assert response.status_code == 200, (method, as_form, response.text)
        assert response.json()["PageSize"] == 3


def test_v1_signs_the_empty_and_extra_parameters_the_legacy_sdk_sends(emulator):
    extras = {"RegionId": "cn-hangzhou", "SignatureType": "", "Format": "xml"}
    response = v1_call(emulator, "DescribeEnsRegions", extras)
    assert response.status_code == 200, response.text
    assert response.json()["Code"] == 0  # JSON whatever Format says


def test_v1_values_with_spaces_and_reserved_characters_verify(emulator):
    response = v1_call(emulator, "DescribeInstances", {"InstanceName": "a b+c/d*e~f:g"})
    assert response.status_code == 200, response.text
    assert response.json()["TotalCount"] == 0


def test_v3_reads_business_parameters_from_a_form_body(emulator):
    response = v3_call(
        emulator,
        "DescribeNetworkInterfaces",
        body=b"PageSize=4&Type=Primary",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.text
    listed = response.json()["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    assert len(listed) == 4
    assert {eni["Type"] for eni in listed} == {"Primary"}


def test_v3_get_is_accepted(emulator):
    response = v3_call(emulator, "DescribeInstances", {"PageSize": "1"}, method="GET")
    assert response.status_code == 200, response.text


def test_a_reused_v1_nonce_is_refused(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    assert resend_v1(emulator, signed).status_code == 200
    assert_error(resend_v1(emulator, signed), 400, "SignatureNonceUsed")


def test_a_reused_v3_nonce_is_refused(emulator):
    assert v3_call(emulator, "DescribeEnsRegions", nonce="same-nonce").status_code == 200
    body = assert_error(
        v3_call(emulator, "DescribeEnsRegions", nonce="same-nonce"), 400, "SignatureNonceUsed"
    )
    assert body["Message"] == "Specified signature nonce was used already."


def test_a_nonce_may_be_reused_after_fifteen_minutes(clocked_emulator, clock):
    assert v3_call(clocked_emulator, "DescribeEnsRegions", nonce="n-1").status_code == 200
    clock.advance(15 * 60 + 1)
    assert v3_call(clocked_emulator, "DescribeEnsRegions", nonce="n-1").status_code == 200


def test_a_request_stamped_ahead_cannot_be_replayed_once_its_nonce_would_have_expired(
    clocked_emulator, clock
):
    ahead = emulator_now(clocked_emulator) + timedelta(minutes=14)
    signed = v1_params(clocked_emulator, "DescribeEnsRegions", now=ahead)
    assert resend_v1(clocked_emulator, signed).status_code == 200
    clock.advance(16 * 60)  # its time stamp is still accepted, so its nonce is still known
    assert_error(resend_v1(clocked_emulator, signed), 400, "SignatureNonceUsed")


def test_a_signature_that_is_not_ascii_is_a_mismatch_not_a_crash(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    signed["Signature"] = "é" * 28
    assert_error(resend_v1(emulator, signed), 400, "SignatureDoesNotMatch")
    headers_signature = v3_call(
        emulator,
        "DescribeEnsRegions",
        extra_headers={
            "Authorization": "ACS3-HMAC-SHA256 Credential=demo,"
            "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
            "x-acs-signature-nonce;x-acs-version,Signature=é"
        },
    )
    assert_error(headers_signature, 400, "SignatureDoesNotMatch")


def signed_otherwise(server, action: str, **changes: str | None) -> dict[str, str]:
    """v1 parameters with `changes` (None removes one), signed with HMAC-SHA1 all the same."""
    params = {k: v for k, v in v1_params(server, action).items() if k != "Signature"}
    params = {k: v for k, v in {**params, **changes}.items() if v is not None}
    string_to_sign = signing.v1_string_to_sign("GET", params)
    return {**params, "Signature": signing.v1_signature(string_to_sign, server.access_key_secret)}


def test_v1_must_name_its_signature_method_and_version(emulator):
    for name in ("SignatureMethod", "SignatureVersion"):
        missing = signed_otherwise(emulator, "DescribeEnsRegions", **{name: None})
        assert_error(resend_v1(emulator, missing), 400, "MissingParameter")
    for name, other in (("SignatureMethod", "HMAC-SHA256"), ("SignatureVersion", "9")):
        another = signed_otherwise(emulator, "DescribeEnsRegions", **{name: other})
        assert_error(resend_v1(emulator, another), 400, "SignatureDoesNotMatch")


def test_v3_must_carry_and_sign_the_body_hash(emulator):
    unsigned_hash = v3_call(
        emulator, "DescribeEnsRegions", extra_headers={"x-acs-content-sha256": ""}
    )
    assert_error(unsigned_hash, 400, "MissingParameter")


def test_a_signature_with_a_bad_secret_does_not_use_up_the_nonce(emulator):
    refused = v3_call(emulator, "DescribeEnsRegions", nonce="kept", secret="wrong")
    assert_error(refused, 400, "SignatureDoesNotMatch")
    assert v3_call(emulator, "DescribeEnsRegions", nonce="kept").status_code == 200


def test_timestamps_more_than_fifteen_minutes_away_are_refused(emulator):
    now = emulator_now(emulator)
    for skew in (timedelta(minutes=-16), timedelta(minutes=16)):
        response = v3_call(emulator, "DescribeEnsRegions", now=now + skew)
        body = assert_error(response, 400, "InvalidTimeStamp.Expired")
        assert body["Message"] == "Specified time stamp or date value is expired."
        stale = v1_params(emulator, "DescribeEnsRegions", now=now + skew)
        assert_error(resend_v1(emulator, stale), 400, "InvalidTimeStamp.Expired")
    assert v3_call(emulator, "DescribeEnsRegions", now=now - timedelta(minutes=14)).ok


def test_a_malformed_timestamp_is_refused(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    signed["Timestamp"] = "2024-01-01 12:00:00"
    assert_error(resend_v1(emulator, signed), 400, "InvalidTimeStamp.Format")


def test_a_content_hash_that_is_not_the_bodys_is_refused(emulator):
    host = urlsplit(emulator.url).netloc
    headers = signing.v3_signed_headers(
        method="POST",
        host=host,
        action="DescribeEnsRegions",
        query={},
        body=b"EnsRegionId=cn-beijing-cmcc",
        content_type="application/x-www-form-urlencoded",
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        now=emulator_now(emulator),
    )
    response = requests.post(
        f"{emulator.url}/", data=b"EnsRegionId=cn-tianjin-cmcc", headers=headers, timeout=TIMEOUT
    )
    body = assert_error(response, 400, "SignatureDoesNotMatch")
    assert "x-acs-content-sha256" in body["Message"]


def test_a_missing_action_is_a_missing_parameter(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    del signed["Action"]
    body = assert_error(resend_v1(emulator, signed), 400, "MissingParameter")
    assert body["Message"] == (
        'The input parameter "Action" that is mandatory for processing this request is not '
        "supplied."
    )
    unsigned_v3 = v3_call(emulator, "")
    assert "x-acs-action" in assert_error(unsigned_v3, 400, "MissingParameter")["Message"]


def test_missing_signature_parameters_are_named(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    del signed["SignatureNonce"]
    body = assert_error(resend_v1(emulator, signed), 400, "MissingParameter")
    assert '"SignatureNonce"' in body["Message"]


def test_an_unknown_action_is_not_found(emulator):
    body = assert_error(v3_call(emulator, "DescribeEverything"), 404, "InvalidAction.NotFound")
    assert body["Message"] == "Specified api is not found, please check your url and method."
    assert_error(v1_call(emulator, "DeleteInstance"), 404, "InvalidAction.NotFound")


def test_another_path_or_method_is_not_found(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    response = requests.get(f"{emulator.url}/v2/", params=signed, timeout=TIMEOUT)
    assert_error(response, 404, "InvalidAction.NotFound")
    response = requests.delete(f"{emulator.url}/", params=signed, timeout=TIMEOUT)
    assert_error(response, 404, "InvalidAction.NotFound")


def test_another_version_is_refused(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions")
    signed["Version"] = "2014-05-26"
    assert_error(resend_v1(emulator, signed), 400, "InvalidVersion")
    response = v3_call(
        emulator, "DescribeEnsRegions", extra_headers={"x-acs-version": "2020-01-01"}
    )
    assert_error(response, 400, "InvalidVersion")


def test_an_unknown_access_key_is_not_found(emulator):
    body = assert_error(
        v3_call(emulator, "DescribeEnsRegions", key_id="nobody"), 404, "InvalidAccessKeyId.NotFound"
    )
    assert body["Message"] == "Specified access key is not found."


def test_a_v1_signature_mismatch_shows_the_server_string_to_sign(emulator):
    signed = v1_params(emulator, "DescribeEnsRegions", method="GET", secret="wrong")
    body = assert_error(resend_v1(emulator, signed), 400, "SignatureDoesNotMatch")
    prefix = "Specified signature is not matched with our calculation. server string to sign is:"
    assert body["Message"] == prefix + signing.v1_string_to_sign("GET", signed)


def test_a_v3_signature_mismatch_shows_the_server_string_to_sign(emulator):
    body = assert_error(
        v3_call(emulator, "DescribeEnsRegions", secret="wrong"), 400, "SignatureDoesNotMatch"
    )
    assert body["Message"].split("server string to sign is:")[1].startswith("ACS3-HMAC-SHA256\n")


def test_v3_must_sign_the_x_acs_headers(emulator):
    host = urlsplit(emulator.url).netloc
    headers = signing.v3_signed_headers(
        method="POST",
        host=host,
        action="DescribeEnsRegions",
        query={},
        access_key_id=emulator.access_key_id,
        access_key_secret=emulator.access_key_secret,
        now=emulator_now(emulator),
    )
    signed_names = ["host", "x-acs-action", "x-acs-version", "x-acs-date"]  # no nonce
    canonical = signing.v3_canonical_request(
        method="POST",
        query={},
        headers=headers,
        signed_headers=signed_names,
        payload_sha256=hashlib.sha256(b"").hexdigest(),
    )
    signature = signing.v3_signature(
        signing.v3_string_to_sign(canonical), emulator.access_key_secret
    )
    headers["authorization"] = signing.v3_authorization(
        emulator.access_key_id, signed_names, signature
    )
    response = requests.post(f"{emulator.url}/", headers=headers, timeout=TIMEOUT)
    assert_error(response, 400, "IncompleteSignature")


def test_a_malformed_authorization_header_is_an_incomplete_signature(emulator):
    response = v3_call(emulator, "DescribeEnsRegions", extra_headers={"authorization": "Bearer x"})
    assert_error(response, 400, "IncompleteSignature")


def test_security_tokens_are_accepted_when_signed(emulator):
    assert v1_call(emulator, "DescribeEnsRegions", security_token="sts-token").ok
    assert v3_call(emulator, "DescribeEnsRegions", security_token="sts-token").ok
    unsigned = v3_call(
        emulator, "DescribeEnsRegions", extra_headers={"x-acs-security-token": "slipped-in"}
    )
    assert_error(unsigned, 400, "IncompleteSignature")


def test_the_request_log_records_accepted_and_rejected_requests(emulator):
    v1_call(emulator, "DescribeInstances", {"PageSize": "2"})
    v3_call(emulator, "DetachNetworkInterface", {"NetworkInterfaceId": "eni-x"}, secret="wrong")

    accepted, rejected = emulator.control.requests()
    assert accepted["action"] == "DescribeInstances"
    assert accepted["method"] == "GET"
    assert accepted["signature_version"] == "v1"
    assert accepted["access_key_id"] == "demo"
    assert accepted["http_status"] == 200
    assert accepted["outcome"] == "ok"
    assert accepted["params"]["PageSize"] == "2"
    assert "Signature" not in accepted["params"]
    assert REQUEST_ID.match(accepted["request_id"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", accepted["time"])
    assert rejected["action"] == "DetachNetworkInterface"
    assert rejected["signature_version"] == "v3"
    assert rejected["params"] == {"NetworkInterfaceId": "eni-x"}
    assert (rejected["http_status"], rejected["outcome"]) == (400, "SignatureDoesNotMatch")
