"""Property test: our signatures equal the official SDKs' on hundreds of awkward inputs."""

from __future__ import annotations

import hashlib

from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.auth.composer import rpc_signature_composer
from darabonba.request import DaraRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from eniadmin.ens import signing

# Module-level "__" names in the legacy SDK are not mangled; getattr reaches them.
legacy_string_to_sign = getattr(rpc_signature_composer, "__compose_string_to_sign")
legacy_signature = getattr(rpc_signature_composer, "__get_signature")

AWKWARD = " *~/+%&=?:#[]@!$'(),;\"<>\\^`{|}é中文ß€😀\t"
values = st.text(
    alphabet=st.one_of(
        st.sampled_from(AWKWARD),
        st.characters(blacklist_categories=("Cs",), max_codepoint=0x1FFFF),
    ),
    max_size=40,
)
keys = st.sampled_from(
    [
        "NetworkInterfaceId",
        "InstanceIds",
        "EnsRegionIds.1",
        "EnsRegionIds.2",
        "PageSize",
        "PageNumber",
        "SearchKey",
        "Status",
        "Tags",
        "Type",
        "Ipv6Address.1",
        "a-b_c.d~e",
    ]
)
params = st.dictionaries(keys, values, max_size=8)
methods = st.sampled_from(["GET", "POST"])
secrets = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1)


@settings(max_examples=300, deadline=None)
@given(params=params, method=methods, secret=secrets, nonce=values, stamp=values)
def test_v1_matches_both_official_signers(params, method, secret, nonce, stamp):
    full = {
        **params,
        "Action": "DescribeNetworkInterfaces",
        "SignatureNonce": nonce,
        "Timestamp": stamp,
        "SignatureType": "",
    }
    ours = signing.v1_signature(signing.v1_string_to_sign(method, full), secret)
    assert ours == Utils.get_rpcsignature(dict(full), method, secret)
    legacy = legacy_string_to_sign(method, dict(full))
    assert signing.v1_string_to_sign(method, full) == legacy
    assert ours == legacy_signature(legacy, secret)


@settings(max_examples=300, deadline=None)
@given(
    query=params,
    method=methods,
    secret=secrets,
    body=st.binary(max_size=64),
    host=st.sampled_from(["ens.aliyuncs.com", "127.0.0.1:8765"]),
    agent=values,
    nonce=values,
)
def test_v3_matches_the_official_signer(query, method, secret, body, host, agent, nonce):
    payload_sha256 = hashlib.sha256(body).hexdigest()
    headers = {
        "host": host,
        "x-acs-action": "DescribeNetworkInterfaces",
        "x-acs-version": "2017-11-10",
        "x-acs-date": "2024-01-01T12:00:00Z",
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": payload_sha256,
        "user-agent": agent,
        "accept": "application/json",
    }
    request = DaraRequest()
    request.method, request.pathname = method, "/"
    request.query = dict(query)
    request.headers = dict(headers)
    official = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", payload_sha256, "testid", secret
    )

    canonical = signing.v3_canonical_request(
        method=method,
        query=query,
        headers=headers,
        signed_headers=list(headers),
        payload_sha256=payload_sha256,
    )
    signature = signing.v3_signature(signing.v3_string_to_sign(canonical), secret)
    assert signing.v3_authorization("testid", list(headers), signature) == official
