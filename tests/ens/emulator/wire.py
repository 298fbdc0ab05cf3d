"""Signed raw HTTP calls to the emulator, built with the project's signing module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from eniadmin.ens import signing
from eniadmin.ens.emulator.server import EmulatorServer

TIMEOUT = 10


def emulator_now(server: EmulatorServer) -> datetime:
    clock: Callable[[], float] = server.cloud.clock
    return datetime.fromtimestamp(clock(), UTC)


def v3_call(
    server: EmulatorServer,
    action: str,
    params: Mapping[str, str] | None = None,
    *,
    method: str = "POST",
    body: bytes = b"",
    content_type: str = "",
    key_id: str | None = None,
    secret: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
    security_token: str = "",
    extra_headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    query = dict(params or {})
    headers = signing.v3_signed_headers(
        method=method,
        host=urlsplit(server.url).netloc,
        action=action,
        query=query,
        body=body,
        content_type=content_type,
        access_key_id=key_id or server.access_key_id,
        access_key_secret=secret or server.access_key_secret,
        security_token=security_token,
        nonce=nonce,
        now=now or emulator_now(server),
    )
    headers.update(extra_headers or {})
    sender = session or requests
    return sender.request(
        method, f"{server.url}/", params=query, data=body, headers=headers, timeout=TIMEOUT
    )


def v1_params(
    server: EmulatorServer,
    action: str,
    params: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    key_id: str | None = None,
    secret: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
    security_token: str = "",
) -> dict[str, str]:
    return signing.v1_signed_params(
        method=method,
        action=action,
        params=dict(params or {}),
        access_key_id=key_id or server.access_key_id,
        access_key_secret=secret or server.access_key_secret,
        security_token=security_token,
        nonce=nonce,
        now=now or emulator_now(server),
    )


def v1_call(
    server: EmulatorServer,
    action: str,
    params: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    as_form: bool = False,
    key_id: str | None = None,
    secret: str | None = None,
    nonce: str | None = None,
    security_token: str = "",
) -> requests.Response:
    signed = v1_params(
        server,
        action,
        params,
        method=method,
        key_id=key_id,
        secret=secret,
        nonce=nonce,
        security_token=security_token,
    )
    if as_form:
        return requests.request(method, f"{server.url}/", data=signed, timeout=TIMEOUT)
    return requests.request(method, f"{server.url}/", params=signed, timeout=TIMEOUT)


def resend_v1(server: EmulatorServer, signed: Mapping[str, str]) -> requests.Response:
    """Send already-signed v1 parameters as they are, e.g. to replay them."""
    return requests.get(f"{server.url}/", params=dict(signed), timeout=TIMEOUT)
