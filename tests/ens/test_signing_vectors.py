"""The official test vectors from shared/ens-signing.md, section 4, and ens-api.md 1.4."""

from __future__ import annotations

from datetime import UTC, datetime

from eniadmin.ens import signing

NONCE = "c9a8f0e2-4b1d-4e4a-9f3b-2d5e6f7a8b9c"
WHEN = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
V1_PARAMS = {
    "AccessKeyId": "testid",
    "Action": "DetachNetworkInterface",
    "Format": "JSON",
    "NetworkInterfaceId": "eni-58z57orgmt6d1abcd",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": NONCE,
    "SignatureVersion": "1.0",
    "Timestamp": "2024-01-01T12:00:00Z",
    "Version": "2017-11-10",
}
V1_CANONICAL = (
    "AccessKeyId=testid&Action=DetachNetworkInterface&Format=JSON"
    "&NetworkInterfaceId=eni-58z57orgmt6d1abcd&SignatureMethod=HMAC-SHA1"
    f"&SignatureNonce={NONCE}&SignatureVersion=1.0&Timestamp=2024-01-01T12%3A00%3A00Z"
    "&Version=2017-11-10"
)


def test_documented_example_signature():
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    sts = signing.v1_string_to_sign("GET", params)
    assert signing.v1_signature(sts, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_v1_canonical_query_and_get_vector():
    assert signing.canonical_query(V1_PARAMS) == V1_CANONICAL
    sts = signing.v1_string_to_sign("GET", V1_PARAMS)
    assert sts == "GET&%2F&" + signing.percent_encode(V1_CANONICAL)
    assert "Timestamp%3D2024-01-01T12%253A00%253A00Z" in sts
    assert signing.v1_signature(sts, "testsecret") == "aTe+NyQQF2vOgVN63aBsdFlclX4="


def test_v1_post_vector():
    sts = signing.v1_string_to_sign("POST", V1_PARAMS)
    assert signing.v1_signature(sts, "testsecret") == "pntxHqw+vaz/GDqIvG+ID2PBOOA="


def test_v1_vector_as_the_legacy_sdk_sends_it_with_region_and_empty_signature_type():
    params = {**V1_PARAMS, "RegionId": "cn-hangzhou", "SignatureType": ""}
    sts = signing.v1_string_to_sign("POST", params)
    assert "%26SignatureType%3D%26" in sts
    assert signing.v1_signature(sts, "testsecret") == "qArlWxOBI4XuRK36cvdwENNotcI="


def test_v1_vector_with_lower_case_format_as_the_new_sdk_sends_it():
    sts = signing.v1_string_to_sign("POST", {**V1_PARAMS, "Format": "json"})
    assert signing.v1_signature(sts, "testsecret") == "a/psWGAMFKqgHfabABxt7TnXoVE="


def test_v1_second_documented_vector():
    params = {
        "Action": "DetachNetworkInterface",
        "NetworkInterfaceId": "eni-58z57orgmt6d1****",
        "Format": "JSON",
        "Version": "2017-11-10",
        "AccessKeyId": "testid",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Timestamp": "2024-01-01T00:00:00Z",
    }
    get = signing.v1_signature(signing.v1_string_to_sign("GET", params), "testsecret")
    post = signing.v1_signature(signing.v1_string_to_sign("POST", params), "testsecret")
    assert (get, post) == ("S7ZGLcRS2gKJuVvcQH0xYaVSYh8=", "7gBTT2RjxNzxC85bRd6KZ+NuneI=")


def test_v1_signed_params_builds_the_vector_from_the_action():
    params = signing.v1_signed_params(
        method="GET",
        action="DetachNetworkInterface",
        params={"NetworkInterfaceId": "eni-58z57orgmt6d1abcd"},
        access_key_id="testid",
        access_key_secret="testsecret",
        nonce=NONCE,
        now=WHEN,
    )
    assert params["Signature"] == "aTe+NyQQF2vOgVN63aBsdFlclX4="


V3_HEADERS = {
    "host": "ens.aliyuncs.com",
    "x-acs-action": "DetachNetworkInterface",
    "x-acs-version": "2017-11-10",
    "x-acs-date": "2024-01-01T12:00:00Z",
    "x-acs-signature-nonce": NONCE,
    "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
}
V3_CANONICAL = f"""POST
/
NetworkInterfaceId=eni-58z57orgmt6d1abcd
host:ens.aliyuncs.com
x-acs-action:DetachNetworkInterface
x-acs-content-sha256:{signing.EMPTY_BODY_SHA256}
x-acs-date:2024-01-01T12:00:00Z
x-acs-signature-nonce:{NONCE}
x-acs-version:2017-11-10

host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
{signing.EMPTY_BODY_SHA256}"""


def v3_sign(method, headers, query=None, payload=signing.EMPTY_BODY_SHA256):
    canonical = signing.v3_canonical_request(
        method=method,
        query={"NetworkInterfaceId": "eni-58z57orgmt6d1abcd"} if query is None else query,
        headers=headers,
        signed_headers=list(headers),
        payload_sha256=payload,
    )
    sts = signing.v3_string_to_sign(canonical)
    return canonical, sts, signing.v3_signature(sts, "testsecret")


def test_v3_canonical_request_string_to_sign_and_authorization():
    canonical, sts, signature = v3_sign("POST", V3_HEADERS)
    assert canonical == V3_CANONICAL
    assert sts == (
        "ACS3-HMAC-SHA256\nde35c140ff9b81a4a32c6fc0c69686407a94c97d35c261696c185a75890c7674"
    )
    assert signing.v3_authorization("testid", list(V3_HEADERS), signature) == (
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=0e8423fc8e48cabc4792f02fdcd9452ce60dc0ab304b7b1a8c0e1fcd9b11395f"
    )


def test_v3_get_variant():
    _, _, signature = v3_sign("GET", V3_HEADERS)
    assert signature == "632428917fb1d8a11fd3c93f437c293901ac621adacc1fd0726b84fd1b5b29d0"


def test_v3_with_accept_signed():
    _, _, signature = v3_sign("POST", {**V3_HEADERS, "accept": "application/json"})
    assert signature == "276c94275506e1405ddc4a2f39c480f5ea34d98c5d3269100d34eba2afc08069"


def test_v3_with_the_parameter_in_a_form_body():
    body_hash = "2f2f92e41877b2a4999632b6a0b49648ab089fdf1f2ab132dea2a674f0ae2eb4"
    headers = {
        **V3_HEADERS,
        "x-acs-content-sha256": body_hash,
        "content-type": "application/x-www-form-urlencoded",
    }
    _, _, signature = v3_sign("POST", headers, query={}, payload=body_hash)
    assert signature == "4c7301a75ed67d97a504136eb845105fc9afd21cd83384f0575f8c859131e955"


def test_v3_as_the_official_sdk_sends_it_by_default():
    headers = {
        "accept": "application/json",
        "host": "127.0.0.1:8765",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-action": "DetachNetworkInterface",
        "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
        "x-acs-credentials-provider": "static_ak",
        "x-acs-date": "2024-01-01T12:00:00Z",
        "x-acs-signature-nonce": NONCE,
        "x-acs-version": "2017-11-10",
    }
    _, _, signature = v3_sign("POST", headers)
    assert signature == "845c530b4dbca082d2dfce2780b873fb8b62b66faaa2d22570e21193dbf67878"


def test_v3_signed_headers_reproduce_the_vector():
    headers = signing.v3_signed_headers(
        method="POST",
        host="ens.aliyuncs.com",
        action="DetachNetworkInterface",
        query={"NetworkInterfaceId": "eni-58z57orgmt6d1abcd"},
        access_key_id="testid",
        access_key_secret="testsecret",
        nonce=NONCE,
        now=WHEN,
    )
    assert headers["authorization"].endswith(
        "Signature=276c94275506e1405ddc4a2f39c480f5ea34d98c5d3269100d34eba2afc08069"
    )
    assert signing.parse_v3_authorization(headers["authorization"])[0] == "testid"


def test_percent_encoding_is_rfc3986():
    assert signing.percent_encode("a b*c~d/e+f%g:é") == "a%20b%2Ac~d%2Fe%2Bf%25g%3A%C3%A9"
