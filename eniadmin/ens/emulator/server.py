"""The emulator's HTTP side: the ENS RPC gateway (signature checks, errors, faults, request log)
and the control API under /_emulator/, on a keep-alive ThreadingHTTPServer.

`Emulator` turns one decoded request into one reply and knows nothing of sockets, so it can be
read top to bottom; `EmulatorServer` puts it on a port; `serve` is the command-line entry point
shared by `python -m eniadmin.ens.emulator` and `manage.py ens_emulator`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import signal
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from eniadmin.ens import signing
from eniadmin.ens.emulator.cloud import (
    ApiError,
    Cloud,
    ControlError,
    load_state,
    missing_parameter,
    save_state,
)
from eniadmin.ens.emulator.faults import DROP, ERRORS, FaultInjector, parse_rules

if TYPE_CHECKING:
    from eniadmin.ens.emulator.control import EmulatorControl

logger = logging.getLogger(__name__)

ACTIONS: dict[str, Callable[[Cloud, Mapping[str, str]], dict[str, Any]]] = {
    "DescribeEnsRegions": Cloud.describe_ens_regions,
    "DescribeInstances": Cloud.describe_instances,
    "DescribeNetworkInterfaces": Cloud.describe_network_interfaces,
    "DetachNetworkInterface": Cloud.detach_network_interface,
    "AttachNetworkInterface": Cloud.attach_network_interface,
    "StartInstance": Cloud.start_instance,
    "StopInstance": Cloud.stop_instance,
}
MUTATING_ACTIONS = frozenset(
    {"DetachNetworkInterface", "AttachNetworkInterface", "StartInstance", "StopInstance"}
)

DEFAULT_ACCESS_KEY_ID = "demo"
DEFAULT_ACCESS_KEY_SECRET = "demo-secret"  # noqa: S105 - the emulator's published demo key
HOST_ID = "ens.aliyuncs.com"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
CLOCK_SKEW_SECONDS = 15 * 60
NONCE_TTL_SECONDS = 15 * 60
MAX_REMEMBERED_NONCES = 500_000
REQUEST_LOG_SIZE = 100_000
CONTROL_PREFIX = "/_emulator/"
# Every V3 request of ens-signing.md carries and signs the body's hash; so does the SDK's.
V3_REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
)
V1_REQUIRED = (
    "AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "SignatureVersion",
    "Timestamp",
)  # fmt: skip
# What v1 signs with (ens-signing.md 1): a request naming another method or version is signed
# some other way, and cannot match. The code a real gateway answers with is inferred.
V1_METHOD = {"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0"}


@dataclass(frozen=True)
class AccessKey:
    id: str
    secret: str
    deny: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # path and query exactly as on the request line
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    client_host: str


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


@dataclass
class ApiCall:
    """What a request to / says about itself, before anything is checked."""

    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]  # query merged with a form body, the body winning
    headers: Mapping[str, str]
    body: bytes
    signature_version: str
    action: str
    access_key_id: str


class NonceRegistry:
    """Nonces seen in the last 15 minutes, per key; the oldest go first when memory is full."""

    def __init__(self, clock: Callable[[], float], capacity: int = MAX_REMEMBERED_NONCES) -> None:
        self._clock = clock
        self._capacity = capacity
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def use(self, access_key_id: str, nonce: str, stamped: float) -> bool:
        """Record the nonce of a request stamped at `stamped`; False when it was already used
        within the window. It is kept as long as its request's time stamp is accepted: one
        stamped in the future would otherwise be accepted again once its nonce was forgotten.
        """
        now = self._clock()
        key = (access_key_id, nonce)
        with self._lock:
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if key in self._expiry:
                return False
            self._expiry[key] = max(now + NONCE_TTL_SECONDS, stamped + CLOCK_SKEW_SECONDS)
            if len(self._expiry) > self._capacity:
                self._expiry.popitem(last=False)
            return True


class Emulator:
    def __init__(
        self,
        *,
        cloud: Cloud,
        faults: FaultInjector,
        access_keys: Mapping[str, AccessKey],
        instance_count: int,
        state_file: Path | None = None,
        allow_remote_control: bool = False,
    ) -> None:
        self.cloud = cloud
        self.faults = faults
        self.access_keys = dict(access_keys)
        self.instance_count = instance_count  # what a reset without "instances" regenerates
        self.state_file = state_file
        self.allow_remote_control = allow_remote_control
        self.nonces = NonceRegistry(cloud.clock)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._saved_version = -1

    def handle(self, request: Incoming) -> Reply:
        if request.target.startswith(CONTROL_PREFIX):
            return self._handle_control(request)
        return self._handle_api(request)

    # The gateway -------------------------------------------------------------------------------

    def _handle_api(self, request: Incoming) -> Reply:
        request_id = str(uuid.uuid4()).upper()
        call = decode_call(request)
        try:
            key = self._authenticate(call)
            if call.action in key.deny:
                raise ApiError("NoPermission", "Permission denied.")
            plan = self.faults.plan(call.action)
            if plan.latency_ms:
                time.sleep(plan.latency_ms / 1000)
            if plan.fault and plan.fault.kind == DROP:
                outcome = "dropped"
                if plan.fault.when == "after":
                    outcome = f"dropped_after:{self._outcome_of(call)}"
                self._log(call, request_id, None, outcome)
                return Reply(0, drop=True)
            if plan.fault:
                raise plan.fault.error()
            body = {"RequestId": request_id, **self._perform(call)}
            reply = Reply.json(200, body, {"x-acs-request-id": request_id})
            outcome = "ok"
        except ApiError as error:
            reply = error_reply(error, request_id)
            outcome = error.code
        except Exception:
            # A bug in the emulator must still answer, as the real service's 500 would.
            logger.exception("ENS emulator failed on %s", call.action)
            reply = error_reply(INTERNAL_ERROR, request_id)
            outcome = INTERNAL_ERROR.code
        self._log(call, request_id, reply.status, outcome)
        return reply

    def _perform(self, call: ApiCall) -> dict[str, Any]:
        body = ACTIONS[call.action](self.cloud, call.params)
        if call.action in MUTATING_ACTIONS:
            self.persist()
        return body

    def _outcome_of(self, call: ApiCall) -> str:
        try:
            self._perform(call)
        except ApiError as error:
            return error.code
        return "ok"

    def _authenticate(self, call: ApiCall) -> AccessKey:
        """Check the request the way the gateway does; the key that signed it, or ApiError."""
        if call.method not in ("GET", "POST") or call.path != "/":
            raise action_not_found()
        if call.signature_version == "v3":
            return self._authenticate_v3(call)
        return self._authenticate_v1(call)

    def _authenticate_v1(self, call: ApiCall) -> AccessKey:
        params = call.params
        for name in ("Action", "Version", *V1_REQUIRED):
            if not params.get(name):
                raise missing_parameter(name)
        for name, value in V1_METHOD.items():
            if params[name] != value:
                raise ApiError(
                    "SignatureDoesNotMatch",
                    f"Specified signature is not matched with our calculation. {name} must be "
                    f"{value}.",
                )
        check_api(call.action, params["Version"])
        key = self._key(call.access_key_id)
        stamped = self._check_timestamp(params["Timestamp"])
        string_to_sign = signing.v1_string_to_sign(call.method, params)
        expected = signing.v1_signature(string_to_sign, key.secret)
        if not _same(expected, params["Signature"]):
            raise signature_mismatch(string_to_sign)
        self._use_nonce(key, params["SignatureNonce"], stamped)
        return key

    def _authenticate_v3(self, call: ApiCall) -> AccessKey:
        headers = call.headers
        try:
            _, signed_headers, signature = signing.parse_v3_authorization(headers["authorization"])
        except ValueError:
            raise incomplete_signature() from None
        for name in V3_REQUIRED_SIGNED[1:]:
            if not headers.get(name):
                raise missing_parameter(name)
        check_api(call.action, headers["x-acs-version"])
        key = self._key(call.access_key_id)
        signed = {name.lower() for name in signed_headers}
        must_sign = [*V3_REQUIRED_SIGNED]
        must_sign += ["x-acs-security-token"] if "x-acs-security-token" in headers else []
        if not signed.issuperset(must_sign):
            raise incomplete_signature()
        stamped = self._check_timestamp(headers["x-acs-date"])
        body_sha256 = hashlib.sha256(call.body).hexdigest()
        if headers["x-acs-content-sha256"] != body_sha256:
            # Inferred code: a lying payload hash can only ever fail the signature.
            raise ApiError(
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. "
                "x-acs-content-sha256 is not the SHA-256 of the request body.",
            )
        canonical = signing.v3_canonical_request(
            method=call.method,
            query=call.query,
            headers=headers,
            signed_headers=signed_headers,
            payload_sha256=body_sha256,
        )
        string_to_sign = signing.v3_string_to_sign(canonical)
        expected = signing.v3_signature(string_to_sign, key.secret)
        if not _same(expected, signature):
            raise signature_mismatch(string_to_sign)
        self._use_nonce(key, headers["x-acs-signature-nonce"], stamped)
        return key

    def _key(self, access_key_id: str) -> AccessKey:
        key = self.access_keys.get(access_key_id)
        if key is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        return key

    def _check_timestamp(self, value: str) -> float:
        """The request's time stamp, in seconds since the epoch, if it is acceptable."""
        try:
            when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ApiError(
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        if abs(when.timestamp() - self.cloud.clock()) > CLOCK_SKEW_SECONDS:
            raise ApiError(
                "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        return when.timestamp()

    def _use_nonce(self, key: AccessKey, nonce: str, stamped: float) -> None:
        if not self.nonces.use(key.id, nonce, stamped):
            raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")

    def _log(self, call: ApiCall, request_id: str, status: int | None, outcome: str) -> None:
        entry = {
            "time": iso_millis(self.cloud.clock()),
            "action": call.action,
            "method": call.method,
            "params": {k: v for k, v in call.params.items() if k != "Signature"},
            "access_key_id": call.access_key_id,
            "signature_version": call.signature_version,
            "http_status": status,
            "outcome": outcome,
            "request_id": request_id,
        }
        with self._log_lock:
            self.request_log.append(entry)

    def persist(self) -> None:
        """Save the fleet when a state file is set; a save never overwrites a newer one."""
        if self.state_file is None:
            return
        version, data = self.cloud.snapshot()
        with self._save_lock:
            if version > self._saved_version:
                save_state(self.state_file, data)
                self._saved_version = version

    # The control API ---------------------------------------------------------------------------

    def _handle_control(self, request: Incoming) -> Reply:
        if not self.allow_remote_control and not is_loopback(request.client_host):
            return control_error(403, "the control API answers loopback clients only")
        parts = urlsplit(request.target)
        route = unquote(parts.path[len(CONTROL_PREFIX) :]).strip("/")
        try:
            payload = json.loads(request.body) if request.body else {}
        except ValueError:
            return control_error(400, "the body is not JSON")
        try:
            return self._route_control(request.method, route, dict(parse_qsl(parts.query)), payload)
        except ControlError as error:
            return control_error(error.http_status, error.message)
        except Exception:
            logger.exception("ENS emulator control call failed: %s %s", request.method, route)
            return control_error(500, "the emulator failed; see its log")

    def _route_control(
        self, method: str, route: str, query: Mapping[str, str], payload: Any
    ) -> Reply:
        collection, _, item = route.partition("/")
        handlers: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "requests"): lambda: {"requests": self._logged(query.get("action"))},
            ("DELETE", "requests"): self._clear_log,
            ("POST", "reset"): lambda: self._reset(payload),
            ("GET", "state"): self.cloud.summary,
            ("GET", "instances"): lambda: self.cloud.instance_record(item),
            ("POST", "instances"): lambda: self._set_instance(item, payload),
            ("GET", "enis"): lambda: self.cloud.eni_record(item),
            ("POST", "enis"): lambda: self._change_eni(item, payload),
            ("GET", "faults"): lambda: {"faults": self.faults.describe()},
            ("POST", "faults"): lambda: self._set_faults(payload),
            ("DELETE", "faults"): self._clear_faults,
            ("POST", "keys"): lambda: self._add_key(payload),
        }
        needs_item = collection in ("instances", "enis")
        if bool(item) != needs_item or collection not in {name for _, name in handlers}:
            return control_error(404, f"no control endpoint /_emulator/{route}")
        handler = handlers.get((method, collection))
        if handler is None:
            return control_error(405, f"{method} is not allowed on /_emulator/{collection}")
        return Reply.json(200, handler())

    def _logged(self, action: str | None) -> list[dict[str, Any]]:
        with self._log_lock:
            return [entry for entry in self.request_log if action in (None, entry["action"])]

    def _clear_log(self) -> dict[str, Any]:
        with self._log_lock:
            cleared = len(self.request_log)
            self.request_log.clear()
        return {"cleared": cleared}

    def _reset(self, payload: Any) -> dict[str, Any]:
        options = _object(payload)
        seed = options.get("seed", self.cloud.fleet.seed)
        instances = options.get("instances", self.instance_count)
        if not (_is_int(seed) and _is_int(instances) and instances >= 0):
            raise ControlError("seed and instances must be integers, instances >= 0")
        self.cloud.reset(seed=seed, instances=instances)
        self.instance_count = instances
        self.faults.clear()
        self._clear_log()
        self.persist()
        return self.cloud.summary()

    def _set_instance(self, instance_id: str, payload: Any) -> dict[str, Any]:
        status = _object(payload).get("status")
        if not isinstance(status, str):
            raise ControlError('the body must be {"status": "<instance status>"}')
        record = self.cloud.set_instance_status(instance_id, status)
        self.persist()
        return record

    def _change_eni(self, eni_id: str, payload: Any) -> dict[str, Any]:
        record = self.cloud.change_eni(eni_id, _object(payload))
        self.persist()
        return record

    def _set_faults(self, payload: Any) -> dict[str, Any]:
        rules = payload.get("faults") if isinstance(payload, dict) else payload
        try:
            self.faults.replace(parse_rules(rules, ACTIONS))
        except ValueError as error:
            raise ControlError(str(error)) from None
        return {"faults": self.faults.describe()}

    def _clear_faults(self) -> dict[str, Any]:
        self.faults.clear()
        return {"faults": []}

    def _add_key(self, payload: Any) -> dict[str, Any]:
        options = _object(payload)
        key_id, secret, deny = options.get("id"), options.get("secret"), options.get("deny", [])
        if not (isinstance(key_id, str) and key_id and isinstance(secret, str) and secret):
            raise ControlError("id and secret must be non-empty strings")
        if not (isinstance(deny, list) and all(_is_action(action) for action in deny)):
            raise ControlError(f"deny must be a list of actions from {sorted(ACTIONS)}")
        self.access_keys[key_id] = AccessKey(key_id, secret, frozenset(deny))
        return {"id": key_id, "deny": sorted(deny)}


def decode_call(request: Incoming) -> ApiCall:
    """Decode first, never sign raw text: SDKs differ in how they escape the same value."""
    parts = urlsplit(request.target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    params = dict(query)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = request.body.decode("utf-8", errors="replace")
        params.update(parse_qsl(form, keep_blank_values=True))
    if "authorization" in request.headers:
        try:
            access_key_id = signing.parse_v3_authorization(request.headers["authorization"])[0]
        except ValueError:
            access_key_id = ""
        action = request.headers.get("x-acs-action", "")
        signature_version = "v3"
    else:
        access_key_id = params.get("AccessKeyId", "")
        action = params.get("Action", "")
        signature_version = "v1"
    return ApiCall(
        method=request.method,
        path=parts.path,
        query=query,
        params=params,
        headers=request.headers,
        body=request.body,
        signature_version=signature_version,
        action=action,
        access_key_id=access_key_id,
    )


def check_api(action: str, version: str) -> None:
    if version != signing.API_VERSION:
        raise ApiError("InvalidVersion", "Specified parameter Version is not valid.")
    if action not in ACTIONS:
        raise action_not_found()


INTERNAL_ERROR = ApiError(*ERRORS["internal_error"])


def action_not_found() -> ApiError:
    return ApiError(
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
        404,
    )


def incomplete_signature() -> ApiError:
    return ApiError(
        "IncompleteSignature", "The request signature does not conform to Aliyun standards."
    )


def signature_mismatch(string_to_sign: str) -> ApiError:
    # The legacy SDK compares the text after the first ":" with its own string to sign.
    return ApiError(
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. "
        f"server string to sign is:{string_to_sign}",
    )


def error_reply(error: ApiError, request_id: str) -> Reply:
    body = {
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": error.code,
        "Message": error.message,
        "Recommend": (
            f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Ens&requestId={request_id}"
        ),
    }
    return Reply.json(error.http_status, body, {"x-acs-request-id": request_id, **error.headers})


def control_error(status: int, message: str) -> Reply:
    return Reply.json(status, {"error": message})


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def iso_millis(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ControlError("the body must be a JSON object")
    return payload


def _is_action(value: Any) -> bool:
    return isinstance(value, str) and value in ACTIONS


def _same(expected: str, given: str) -> bool:
    """In constant time, and as bytes: compare_digest refuses text that is not ASCII, which a
    signature made up by anyone may be."""
    return hmac.compare_digest(expected.encode(), given.encode())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# HTTP --------------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both SDKs expect
    server_version = "ens-emulator"
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(Reply.json(411, {"error": "send a Content-Length"}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(Reply.json(400, {"error": "Content-Length is not a number"}))
            return
        body = self.rfile.read(length) if length > 0 else b""
        request = Incoming(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client_host=self.client_address[0],
        )
        reply = self.server.emulator.handle(request)
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new clients, which then
    # wait a whole second to retry.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up before its answer (a timeout, say) is not the emulator's fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End idle keep-alive connections, so no handler thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """The emulator on a port, in a background thread; a context manager for tests."""

    access_key_id = DEFAULT_ACCESS_KEY_ID
    access_key_secret = DEFAULT_ACCESS_KEY_SECRET

    def __init__(
        self,
        *,
        seed: int = 1,
        instances: int = 24,
        detach_seconds: float = 3.0,
        instance_transition_seconds: float = 2.0,
        faults: Sequence[Mapping[str, Any]] = (),
        access_keys: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        clock: Callable[[], float] | None = None,
        allow_remote_control: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        state_path = Path(state_file) if state_file else None
        settings: dict[str, Any] = {
            "detach_seconds": detach_seconds,
            "instance_transition_seconds": instance_transition_seconds,
            "clock": clock or time.time,
        }
        saved = load_state(state_path) if state_path else None
        self.loaded_from_state_file = saved is not None
        if saved is not None:
            cloud = Cloud.from_snapshot(saved, **settings)
            instances = len(cloud.fleet.instances)
        else:
            cloud = Cloud.generate(seed=seed, instances=instances, **settings)
        keys = {DEFAULT_ACCESS_KEY_ID: AccessKey(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)}
        keys.update(
            {key_id: AccessKey(key_id, secret) for key_id, secret in (access_keys or {}).items()}
        )
        self.emulator = Emulator(
            cloud=cloud,
            faults=FaultInjector(parse_rules(list(faults), ACTIONS), seed=cloud.fleet.seed),
            access_keys=keys,
            instance_count=instances,
            state_file=state_path,
            allow_remote_control=allow_remote_control,
        )
        self.emulator.persist()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def cloud(self) -> Cloud:
        return self.emulator.cloud

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the emulator is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._httpd.server_address[1]}"

    @property
    def control(self) -> EmulatorControl:
        # Imported here: control.py needs requests, the server itself only the standard library.
        from eniadmin.ens.emulator.control import EmulatorControl

        return EmulatorControl(self.url)

    def start(self) -> EmulatorServer:
        self._httpd = _HTTPServer((self.host, self.port), self.emulator)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ens-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# Command line ------------------------------------------------------------------------------------


@dataclass
class EmulatorOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 1
    instances: int = 24
    detach_seconds: float = 3.0
    instance_transition_seconds: float = 2.0
    faults: list[dict[str, Any]] = field(default_factory=list)
    state_file: Path | None = None
    access_keys: dict[str, str] = field(default_factory=dict)
    allow_remote_control: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of both entry points, python -m eniadmin.ens.emulator and ens_emulator."""
    defaults = EmulatorOptions()
    parser.add_argument("--host", default=defaults.host, help="address to listen on")
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="fleet generator seed")
    parser.add_argument("--instances", type=int, default=defaults.instances)
    parser.add_argument(
        "--detach-seconds",
        type=float,
        default=defaults.detach_seconds,
        help="how long an ENI stays Detaching or Attaching (±10%%)",
    )
    parser.add_argument(
        "--instance-transition-seconds",
        type=float,
        default=defaults.instance_transition_seconds,
        help="how long an instance stays Starting or Stopping",
    )
    parser.add_argument("--faults", default="[]", help="fault rules as a JSON list")
    parser.add_argument("--state-file", help="keep the fleet in this JSON file across restarts")
    parser.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help=f"accept one more key pair (repeatable); {DEFAULT_ACCESS_KEY_ID} is always accepted",
    )
    parser.add_argument(
        "--allow-remote-control",
        action="store_true",
        help="let non-loopback clients use /_emulator/",
    )


def options_from_arguments(arguments: Mapping[str, Any]) -> EmulatorOptions:
    """Validated options from parsed flags; ValueError names what is wrong."""
    try:
        faults = json.loads(arguments["faults"])
    except ValueError as error:
        raise ValueError(f"--faults is not JSON: {error}") from None
    parse_rules(faults, ACTIONS)
    access_keys = {}
    for pair in arguments["access_key"]:
        key_id, separator, secret = pair.partition(":")
        if not (key_id and separator and secret):
            raise ValueError(f"--access-key wants ID:SECRET, got {pair!r}")
        access_keys[key_id] = secret
    state_file = arguments["state_file"]
    return EmulatorOptions(
        host=arguments["host"],
        port=arguments["port"],
        seed=arguments["seed"],
        instances=arguments["instances"],
        detach_seconds=arguments["detach_seconds"],
        instance_transition_seconds=arguments["instance_transition_seconds"],
        faults=faults,
        state_file=Path(state_file) if state_file else None,
        access_keys=access_keys,
        allow_remote_control=arguments["allow_remote_control"],
    )


def serve(options: EmulatorOptions, announce: Callable[[str], None]) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly. Call from the main thread."""
    server = EmulatorServer(
        seed=options.seed,
        instances=options.instances,
        detach_seconds=options.detach_seconds,
        instance_transition_seconds=options.instance_transition_seconds,
        faults=options.faults,
        access_keys=options.access_keys,
        host=options.host,
        port=options.port,
        state_file=options.state_file,
        allow_remote_control=options.allow_remote_control,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with server:
            for line in startup_lines(server, options):
                announce(line)
            while not stop.wait(0.5):
                pass
            announce("Stopping the ENS emulator.")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def startup_lines(server: EmulatorServer, options: EmulatorOptions) -> list[str]:
    summary = server.cloud.summary()
    notes = summary["demo_notes"]
    origin = f"loaded from {options.state_file}" if server.loaded_from_state_file else "generated"
    keys = [(server.access_key_id, server.access_key_secret), *options.access_keys.items()]
    return [
        f"ENS emulator listening on {server.url}",
        *(f"  access key id {key_id}  secret {secret}" for key_id, secret in keys),
        f"  fleet {origin}: seed {summary['seed']}, {summary['instances']['total']} instances, "
        f"{summary['network_interfaces']['total']} ENIs",
        f"  try detaching {', '.join(notes['detach_candidates'][:3])}",
        f"  stuck when detached: {', '.join(notes['stuck_on_detach'][:1])}; "
        f"service-managed: {', '.join(notes['service_managed'][:1])}",
        f"  control API: {server.url}/_emulator/state",
        "Ctrl-C stops it.",
    ]
