"""The dashboard's only way to ENS: signed RPC calls over one pooled requests.Session.

Reads retry throttling and transient failures with backoff; writes are never retried, and a
write whose outcome is unclear raises OutcomeUnknown so the caller reads the state instead.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from eniadmin.ens import errors, signing
from eniadmin.ens.errors import EnsConfigurationError, EnsError, OutcomeUnknown
from eniadmin.ens.resources import (
    ActionResult,
    EnsRegion,
    Instance,
    MalformedResponse,
    NetworkInterface,
    Page,
    nested_objects,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Both Describe actions accept 100 (ens-api.md 2.3, 2.4); the SDK comments that say 50 for
# DescribeNetworkInterfaces are response-side and contradicted by the request side. If a server
# answers with a smaller effective PageSize, the walk follows the size it echoes.
MAX_PAGE_SIZE = 100
MAX_LIST_LENGTH = 100
SIGNATURE_VERSIONS = ("v3", "v1")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """For reads only. Equal jitter: half the backoff is fixed, half random."""

    max_attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    total_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = backoff / 2 + rand() * backoff / 2
        return max(delay, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(default="", repr=False)


class EnsClient:
    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        security_token: str = "",
        signature_version: str = "v3",
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        problems = _endpoint_problems(endpoint)
        if signature_version not in SIGNATURE_VERSIONS:
            problems.append(f"signature version must be v3 or v1, not {signature_version!r}")
        if not access_key_id or not access_key_secret:
            problems.append("an AccessKey id and secret are both required")
        if problems:
            raise EnsConfigurationError("; ".join(problems))
        self._own_session = session is None  # see __reduce__
        parts = urlsplit(endpoint)
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.signature_version = signature_version
        self.credentials = Credentials(access_key_id, access_key_secret, security_token)
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self.session = session or _session_for(self.endpoint)
        # Every call is a POST to the endpoint's root with its own query and headers: a copy of
        # one request prepared here is all a call needs. Preparing each from scratch (parsing
        # the URL, merging the session's settings) cost more than signing and parsing together.
        # The API is stateless: no cookies to carry from one answer to the next.
        self._prepared_post = self.session.prepare_request(
            requests.Request("POST", f"{self.endpoint}/")
        )
        # What Session.request() would take from the environment (proxies, a CA bundle), once.
        self._send_settings = self.session.merge_environment_settings(
            self._prepared_post.url, {}, None, None, None
        )
        self._sleep = sleep
        self._rand = rand

    @classmethod
    def from_settings(cls, settings: object, **overrides: Any) -> EnsClient:
        """Build from an object with ENS_* attributes, such as django.conf.settings."""
        required = ("ENS_ENDPOINT", "ENS_ACCESS_KEY_ID", "ENS_ACCESS_KEY_SECRET")
        problems = [f"{name} is not set" for name in required if not getattr(settings, name, "")]
        endpoint = getattr(settings, "ENS_ENDPOINT", "")
        if endpoint:
            problems += [f"ENS_ENDPOINT: {problem}" for problem in _endpoint_problems(endpoint)]
        version = getattr(settings, "ENS_SIGNATURE_VERSION", "") or "v3"
        if version not in SIGNATURE_VERSIONS:
            problems.append(f"ENS_SIGNATURE_VERSION must be v3 or v1, not {version!r}")
        if problems:
            raise EnsConfigurationError(
                "The ENS client is not configured: " + "; ".join(problems) + "."
            )
        options: dict[str, Any] = {
            "endpoint": endpoint,
            "access_key_id": settings.ENS_ACCESS_KEY_ID,
            "access_key_secret": settings.ENS_ACCESS_KEY_SECRET,
            "security_token": getattr(settings, "ENS_SECURITY_TOKEN", ""),
            "signature_version": version,
            "connect_timeout": float(getattr(settings, "ENS_CONNECT_TIMEOUT", 3.05)),
            "read_timeout": float(getattr(settings, "ENS_READ_TIMEOUT", 15.0)),
        }
        return cls(**{**options, **overrides})

    def __repr__(self) -> str:
        return (
            f"EnsClient(endpoint={self.endpoint!r}, "
            f"access_key_id={self.credentials.access_key_id!r}, "
            f"signature_version={self.signature_version!r})"
        )

    def __reduce__(self) -> tuple[Callable[..., EnsClient], tuple[object, ...]]:
        """Sent to another process (the sync's page walker), a client is built anew from the
        same settings, with a session of its own: pooled connections belong to one process."""
        if not self._own_session:
            raise TypeError("An EnsClient built on a given session stays in its own process.")
        settings = (self.endpoint, self.credentials, self.signature_version, self.timeout)
        # The default random source stays behind: a copy would give every process the same
        # retry jitter, and their retries would meet again.
        rand = None if self._rand == random.random else self._rand
        return (_rebuilt_client, (*settings, self.retry, self._sleep, rand))

    def close(self) -> None:
        self.session.close()

    # Actions ---------------------------------------------------------------------------------

    def describe_regions(self, region_id: str = "") -> Page[EnsRegion]:
        data = self._call("DescribeEnsRegions", _params(EnsRegionId=region_id))
        regions = _parse(
            "DescribeEnsRegions",
            data,
            lambda d: [
                EnsRegion.from_api(item) for item in nested_objects(d, "EnsRegions", "EnsRegions")
            ],
        )
        return Page(regions, len(regions), 1, len(regions), data["RequestId"])

    def describe_instances(
        self,
        *,
        page_number: int = 1,
        page_size: int = MAX_PAGE_SIZE,
        instance_ids: Sequence[str] | None = None,
        region_ids: Sequence[str] | None = None,
        region_id: str = "",
        instance_id: str = "",
        status: str = "",
        search: str = "",
    ) -> Page[Instance]:
        params = _params(
            EnsRegionId=region_id,
            InstanceId=instance_id,
            Status=status,
            SearchKey=search,
            PageNumber=str(page_number),
            PageSize=str(_page_size(page_size)),
        )
        # DescribeInstances takes lists as JSON-array strings; an empty list is a valid filter
        # that matches nothing, so it is sent rather than dropped.
        if instance_ids is not None:
            params["InstanceIds"] = _json_list(instance_ids)
        if region_ids is not None:
            params["EnsRegionIds"] = _json_list(region_ids)
        data = self._call("DescribeInstances", params)
        return _page("DescribeInstances", data, "Instances", "Instance", Instance.from_api)

    def describe_network_interfaces(
        self,
        *,
        page_number: int = 1,
        page_size: int = MAX_PAGE_SIZE,
        eni_ids: Sequence[str] = (),
        region_ids: Sequence[str] = (),
        region_id: str = "",
        instance_id: str = "",
        eni_id: str = "",
        status: str = "",
        type: str = "",
        primary_ip: str = "",
    ) -> Page[NetworkInterface]:
        params = _params(
            EnsRegionId=region_id,
            InstanceId=instance_id,
            NetworkInterfaceId=eni_id,
            Status=status,
            Type=type,
            PrimaryIpAddress=primary_ip,
            PageNumber=str(page_number),
            PageSize=str(_page_size(page_size)),
        )
        # DescribeNetworkInterfaces takes lists as repeated Name.N parameters, N from 1.
        params.update(_repeat_list("NetworkInterfaceIds", eni_ids))
        params.update(_repeat_list("EnsRegionIds", region_ids))
        data = self._call("DescribeNetworkInterfaces", params)
        return _page(
            "DescribeNetworkInterfaces",
            data,
            "NetworkInterfaceSets",
            "NetworkInterfaceSet",
            NetworkInterface.from_api,
        )

    def iter_instance_pages(self, **filters: Any) -> Iterator[Page[Instance]]:
        return _walk(lambda number: self.describe_instances(page_number=number, **filters))

    def iter_network_interface_pages(self, **filters: Any) -> Iterator[Page[NetworkInterface]]:
        return _walk(lambda number: self.describe_network_interfaces(page_number=number, **filters))

    def iter_instances(self, **filters: Any) -> Iterator[Instance]:
        for page in self.iter_instance_pages(**filters):
            yield from page.items

    def iter_network_interfaces(self, **filters: Any) -> Iterator[NetworkInterface]:
        for page in self.iter_network_interface_pages(**filters):
            yield from page.items

    def get_network_interface(self, eni_id: str) -> NetworkInterface | None:
        """The ENI as ENS sees it now, or None when ENS does not know it."""
        page = self.describe_network_interfaces(eni_id=eni_id, page_size=10)
        return next((eni for eni in page.items if eni.eni_id == eni_id), None)

    def get_instance(self, instance_id: str) -> Instance | None:
        page = self.describe_instances(instance_ids=[instance_id], page_size=10)
        return next((item for item in page.items if item.instance_id == instance_id), None)

    def detach_network_interface(self, eni_id: str) -> ActionResult:
        """Asynchronous: ENS answers at once and the ENI goes Detaching, then Available."""
        action = "DetachNetworkInterface"
        data = self._call(action, _required(NetworkInterfaceId=eni_id), write=True)
        return ActionResult(data["RequestId"], action)

    def attach_network_interface(self, eni_id: str, instance_id: str) -> ActionResult:
        action = "AttachNetworkInterface"
        params = _required(NetworkInterfaceId=eni_id, InstanceId=instance_id)
        data = self._call(action, params, write=True)
        return ActionResult(data["RequestId"], action)

    # The wire --------------------------------------------------------------------------------

    def _call(self, action: str, params: dict[str, str], *, write: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            sent_at = time.monotonic()
            status: int | None = None
            timeout = self.timeout
            if attempt > 1:  # a retry waits no longer than what is left of the total time
                left = max(0.01, self.retry.total_seconds - (sent_at - started))
                timeout = (min(timeout[0], left), min(timeout[1], left))
            try:
                response = self._send(action, params, timeout)
                status = response.status_code
                data = _body(action, response)
            except requests.RequestException as failure:
                error = _transport_error(action, failure, write=write)
            except EnsError as failure:
                error = failure
                # A write answered with a server error, or with a body that says nothing
                # (a proxy's page, a cut-off answer), may still have been carried out.
                if (
                    write
                    and status is not None
                    and (status >= 500 or failure.code == errors.MALFORMED_RESPONSE)
                ):
                    error = OutcomeUnknown(
                        action=action,
                        message=f"HTTP {status} {failure.code}: {failure.message}",
                        request_id=failure.request_id,
                        http_status=status,
                    )
            else:
                self._log(action, params, status, data["RequestId"], sent_at, attempt, "ok")
                return data
            self._log(action, params, status, error.request_id, sent_at, attempt, error.code)
            if write or not error.retryable or attempt >= self.retry.max_attempts:
                raise error
            delay = self.retry.delay(attempt, error.retry_after, self._rand)
            if time.monotonic() - started + delay > self.retry.total_seconds:
                raise error
            self._sleep(delay)

    def _send(
        self, action: str, params: Mapping[str, str], timeout: tuple[float, float]
    ) -> requests.Response:
        creds = self.credentials
        if self.signature_version == "v3":
            headers = signing.v3_signed_headers(
                method="POST",
                host=self.host,
                action=action,
                query=params,
                access_key_id=creds.access_key_id,
                access_key_secret=creds.access_key_secret,
                security_token=creds.security_token,
            )
            query = params
        else:
            headers = {"accept": "application/json"}
            query = signing.v1_signed_params(
                method="POST",
                action=action,
                params=params,
                access_key_id=creds.access_key_id,
                access_key_secret=creds.access_key_secret,
                security_token=creds.security_token,
            )
        request = self._prepared_post.copy()
        if query:
            request.url = f"{request.url}?{signing.canonical_query(query)}"
        request.headers.update(headers)
        return self.session.send(request, timeout=timeout, **self._send_settings)

    def _log(
        self,
        action: str,
        params: Mapping[str, str],
        status: int | None,
        request_id: str,
        sent_at: float,
        attempt: int,
        outcome: str,
    ) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            "ENS %s %s -> HTTP %s %s RequestId=%s in %.0f ms (attempt %d)",
            action,
            json.dumps(params, sort_keys=True),
            status if status is not None else "-",
            outcome,
            request_id or "-",
            (time.monotonic() - sent_at) * 1000,
            attempt,
        )


# Helpers ---------------------------------------------------------------------------------------


def _rebuilt_client(
    endpoint: str,
    credentials: Credentials,
    signature_version: str,
    timeout: tuple[float, float],
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    rand: Callable[[], float] | None,
) -> EnsClient:
    return EnsClient(
        endpoint=endpoint,
        access_key_id=credentials.access_key_id,
        access_key_secret=credentials.access_key_secret,
        security_token=credentials.security_token,
        signature_version=signature_version,
        connect_timeout=timeout[0],
        read_timeout=timeout[1],
        retry=retry,
        sleep=sleep,
        rand=rand or random.random,
    )


def _session_for(endpoint: str) -> requests.Session:
    """A session that reads proxy and CA-bundle variables once, not on every call.

    With trust_env on, requests re-reads the environment (and ~/.netrc) per request, which
    costs more than signing does.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(endpoint)
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    session.headers["User-Agent"] = "eniadmin (python-requests)"
    return session


def _endpoint_problems(endpoint: str) -> list[str]:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            f"the endpoint must be an http(s) URL such as https://ens.aliyuncs.com, "
            f"not {endpoint!r}"
        ]
    if parts.path not in ("", "/") or parts.query:
        return [f"the endpoint must have no path or query, got {endpoint!r}"]
    return []


def _params(**values: str) -> dict[str, str]:
    """Empty filters are left out: ENS ignores empty parameters, and fewer is clearer in logs."""
    return {key: value for key, value in values.items() if value}


def _required(**values: str) -> dict[str, str]:
    for key, value in values.items():
        if not value or not isinstance(value, str):
            raise ValueError(f"{key} is required")
    return dict(values)


def _page_size(size: int) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {size}")
    return size


def _json_list(values: Sequence[str]) -> str:
    if isinstance(values, str) or len(values) > MAX_LIST_LENGTH:
        raise ValueError(f"a list of at most {MAX_LIST_LENGTH} ids is required")
    return json.dumps(list(values), separators=(",", ":"))


def _repeat_list(name: str, values: Sequence[str]) -> dict[str, str]:
    if isinstance(values, str) or len(values) > MAX_LIST_LENGTH:
        raise ValueError(f"{name}: a list of at most {MAX_LIST_LENGTH} values is required")
    return {f"{name}.{number}": value for number, value in enumerate(values, start=1)}


def _walk(fetch: Callable[[int], Page[T]]) -> Iterator[Page[T]]:
    """Every page once, in order, until TotalCount is reached.

    The latest TotalCount wins, so a fleet that shrinks or grows mid-walk ends the walk at the
    right place; an empty page ends it whatever TotalCount says.
    """
    number = 1
    while True:
        page = fetch(number)
        yield page
        if not has_page_after(page, number):
            return
        number += 1


def has_page_after(page: Page[Any], number: int) -> bool:
    """Whether page `number`, this one, is followed by another: the latest TotalCount decides,
    and an empty page ends a walk whatever TotalCount says."""
    return bool(page.items) and number * page.page_size < page.total_count


def _body(action: str, response: requests.Response) -> dict[str, Any]:
    """The JSON body of a successful answer; EnsError for anything else."""
    status = response.status_code
    header_request_id = response.headers.get("x-acs-request-id", "")
    retry_after = _retry_after(response.headers.get("x-acs-retry-after"))
    try:
        data = json.loads(response.content)
    except ValueError:  # not JSON, or not text at all
        data = None
    if not isinstance(data, dict):
        snippet = response.text[:200]
        raise EnsError(
            code=f"HttpError.{status}" if status >= 500 else errors.MALFORMED_RESPONSE,
            message=(
                f"HTTP {status} with a body that is not a JSON object "
                f"({response.headers.get('Content-Type', 'no content type')}): {snippet!r}"
            ),
            request_id=header_request_id,
            http_status=status,
            action=action,
            retry_after=retry_after,
        )
    request_id = str(data.get("RequestId") or data.get("requestId") or header_request_id)
    code = data.get("Code", data.get("code"))
    # DescribeInstances and DescribeEnsRegions carry "Code": 0 on success.
    if status != 200 or code not in (None, 0, "0", "200"):
        raise EnsError(
            code=str(code or f"HttpError.{status}"),
            message=str(data.get("Message") or data.get("message") or ""),
            request_id=request_id,
            http_status=status,
            action=action,
            retry_after=retry_after,
        )
    if not request_id:
        raise EnsError(
            code=errors.MALFORMED_RESPONSE,
            message="a successful answer without a RequestId",
            http_status=status,
            action=action,
        )
    data["RequestId"] = request_id
    return data


def _retry_after(value: str | None) -> float | None:
    """x-acs-retry-after is in milliseconds, as the official SDK reads it (darabonba sleeps ms)."""
    try:
        milliseconds = int(value) if value else 0
    except ValueError:
        return None
    return milliseconds / 1000 if milliseconds > 0 else None


def _transport_error(action: str, failure: requests.RequestException, *, write: bool) -> EnsError:
    reason = getattr(failure.args[0], "reason", None) if failure.args else None
    never_sent = isinstance(failure, requests.ConnectTimeout) or isinstance(
        reason, NewConnectionError
    )
    what = _without_credentials(str(failure))
    if write and not never_sent:
        return OutcomeUnknown(action=action, message=f"{type(failure).__name__}: {what}")
    timed_out = isinstance(failure, requests.Timeout)
    code = errors.TIMED_OUT if timed_out else errors.CONNECTION_FAILED
    detail = "the request was not sent" if never_sent else "no answer came back"
    return EnsError(
        code=code, message=f"{type(failure).__name__} ({detail}): {what}", action=action
    )


# A transport error's text quotes the URL, which under v1 signing carries the whole signed
# query: the STS token and the signature stay out of messages and logs.
_CREDENTIAL_IN_URL = re.compile(r"((?:SecurityToken|Signature)=)[^&\s'\")]*")


def _without_credentials(text: str) -> str:
    return _CREDENTIAL_IN_URL.sub(r"\1***", text)


def _parse(action: str, data: dict[str, Any], build: Callable[[dict[str, Any]], T]) -> T:
    try:
        return build(data)
    except (MalformedResponse, AttributeError, TypeError) as problem:
        raise EnsError(
            code=errors.MALFORMED_RESPONSE,
            message=str(problem),
            request_id=data.get("RequestId", ""),
            http_status=200,
            action=action,
        ) from None


def _page(
    action: str,
    data: dict[str, Any],
    outer: str,
    inner: str,
    build: Callable[[dict[str, Any]], T],
) -> Page[T]:
    def parse(d: dict[str, Any]) -> Page[T]:
        items = [build(item) for item in nested_objects(d, outer, inner)]
        page_size = _count(d, "PageSize") or len(items) or 1
        return Page(
            items, _count(d, "TotalCount"), _count(d, "PageNumber") or 1, page_size, d["RequestId"]
        )

    return _parse(action, data, parse)


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedResponse(f"{key} should be a number, got {value!r}") from None
