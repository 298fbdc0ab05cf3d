"""Signing of Alibaba Cloud RPC requests, both schemes, shared by the client and the emulator.

- v1: HMAC-SHA1, SignatureVersion 1.0. The signature is one more parameter.
- V3: ACS3-HMAC-SHA256. The signature is the Authorization header over a canonical request.

Algorithms and official test vectors: shared/ens-signing.md sections 1, 2 and 4.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

API_VERSION = "2017-11-10"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 over UTF-8: only A-Z a-z 0-9 - _ . ~ stay literal; a space is %20, never +."""
    return quote(value, safe="~")


def timestamp(now: datetime | None = None) -> str:
    """UTC with no fractional seconds, the only form both schemes accept."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    return uuid.uuid4().hex


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )


# v1 ------------------------------------------------------------------------------------------


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Every parameter but Signature, query and form body alike, empty values included."""
    signed = {key: value for key, value in params.items() if key != "Signature"}
    return f"{method.upper()}&%2F&{percent_encode(canonical_query(signed))}"


def v1_signature(string_to_sign: str, secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def v1_signed_params(
    *,
    method: str,
    action: str,
    params: Mapping[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str = "",
    nonce: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The action's parameters plus the common ones and the Signature, ready to send."""
    signed = {
        **params,
        "Action": action,
        "Version": API_VERSION,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or new_nonce(),
        "Timestamp": timestamp(now),
    }
    if security_token:
        signed["SecurityToken"] = security_token
    signed["Signature"] = v1_signature(v1_string_to_sign(method, signed), access_key_secret)
    return signed


# V3 ------------------------------------------------------------------------------------------


def v3_canonical_request(
    *,
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_sha256: str,
    path: str = "/",
) -> str:
    """The canonical request over exactly the headers named in `signed_headers` (lower case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    names = sorted(name.lower() for name in signed_headers)
    canonical_headers = "".join(f"{name}:{lowered.get(name, '').strip()}\n" for name in names)
    return "\n".join(
        [
            method.upper(),
            path,
            canonical_query(query),
            canonical_headers,
            ";".join(names),
            payload_sha256,
        ]
    )


def v3_string_to_sign(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_signature(string_to_sign: str, secret: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v3_authorization(access_key_id: str, signed_headers: list[str], signature: str) -> str:
    names = ";".join(sorted(name.lower() for name in signed_headers))
    return f"{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={names},Signature={signature}"


def parse_v3_authorization(value: str) -> tuple[str, list[str], str]:
    """(access key id, signed header names, signature); ValueError when malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != V3_ALGORITHM:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    try:
        credential, signed, signature = (
            fields["Credential"],
            fields["SignedHeaders"],
            fields["Signature"],
        )
    except KeyError as missing:
        raise ValueError(f"Authorization lacks {missing.args[0]}") from None
    if not credential or not signed or not signature:
        raise ValueError("Authorization has an empty field")
    return credential, signed.split(";"), signature


def v3_signed_headers(
    *,
    method: str,
    host: str,
    action: str,
    query: Mapping[str, str],
    body: bytes = b"",
    content_type: str = "",
    access_key_id: str,
    access_key_secret: str,
    security_token: str = "",
    nonce: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers of a V3-signed request, Authorization included."""
    payload_sha256 = hashlib.sha256(body).hexdigest()
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": API_VERSION,
        "x-acs-date": timestamp(now),
        "x-acs-signature-nonce": nonce or new_nonce(),
        "x-acs-content-sha256": payload_sha256,
        "accept": "application/json",
    }
    if content_type:
        headers["content-type"] = content_type
    if security_token:
        headers["x-acs-security-token"] = security_token
    signed_headers = sorted(headers)
    canonical = v3_canonical_request(
        method=method,
        query=query,
        headers=headers,
        signed_headers=signed_headers,
        payload_sha256=payload_sha256,
    )
    signature = v3_signature(v3_string_to_sign(canonical), access_key_secret)
    headers["authorization"] = v3_authorization(access_key_id, signed_headers, signature)
    return headers
