"""Secrets hygiene: the AccessKeySecret appears nowhere the dashboard writes or shows.

The whole detach story runs with a recognisable secret, every logger at DEBUG; then ENS
refuses (NoPermission), the secret is wrong (SignatureDoesNotMatch), the answer to a detach is
lost (OutcomeUnknown) and ENS cannot be reached at all. Everything produced on the way is
scanned: log records, every page and fragment, the exports, the audit and request rows, the
e-mails, and the errors raised. Not one occurrence of the secret may be found, raw, URL-encoded
or base64-encoded.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
import traceback
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from django.conf import settings
from django.core import mail, serializers
from django.urls import reverse

from eniadmin.audit.models import AuditEvent
from eniadmin.detach.models import DetachRequest, Status
from eniadmin.ens.client import EnsClient, RetryPolicy
from eniadmin.ens.errors import EnsError, OutcomeUnknown
from eniadmin.inventory.models import NetworkInterface, SyncRun
from eniadmin.inventory.sync import queue_sync
from eniadmin.worker import Worker
from tests.detach.conftest import REASON
from tests.inventory.conftest import sync
from tests.security.conftest import logged_in

# "/", "+" and "=" make its URL-encoded form differ from the raw one.
SECRET = "SECRET-CANARY-7f3a9c/d41b+4c8e=9a0f"
KEY_ID = "canary-key-id"
# A wrong secret that still contains the canary, so a leak of it is found as well.
WRONG_SECRET = SECRET + "-but-wrong"


def encoded_forms(secret: str) -> dict[str, str]:
    """The secret as it could appear: raw, URL-encoded, hex, or base64 anywhere in a longer text
    (a base64 text holds the secret's bytes in one of three alignments)."""
    data = secret.encode()
    forms = {
        "raw": secret,
        "url-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "hex": data.hex(),
    }
    for offset in range(3):
        # Skip the bytes that share a base64 group with whatever precedes the secret.
        whole_groups = data[offset:]
        whole_groups = whole_groups[: len(whole_groups) // 3 * 3]
        forms[f"base64 (offset {offset})"] = base64.b64encode(whole_groups).decode()
        forms[f"url-safe base64 (offset {offset})"] = base64.urlsafe_b64encode(
            whole_groups
        ).decode()
    return forms


FORMS = encoded_forms(SECRET)


def leaks(text: str) -> list[str]:
    return [name for name, form in FORMS.items() if form in text]


def test_the_scan_finds_the_secret_in_every_form():
    """Without this, a scan that finds nothing could be a scan that cannot find anything."""
    assert leaks(f"x{SECRET}y") == ["raw"]
    assert "url-encoded" in leaks(f"?AccessKeySecret={quote(SECRET, safe='')}&x=1")
    assert "hex" in leaks(SECRET.encode().hex())
    for prefix in (b"", b"a", b"ab", b"abc"):
        blob = prefix + SECRET.encode() + b"tail"
        assert any(name.startswith("base64") for name in leaks(base64.b64encode(blob).decode()))
        assert any(
            name.startswith("url-safe") for name in leaks(base64.urlsafe_b64encode(blob).decode())
        )
    assert leaks(WRONG_SECRET) == ["raw"]
    assert leaks("SECRET-CANARY-7f3a9c") == []


# Fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(params=["v3", "v1"])
def canary_settings(request, cloud_settings, emulator):
    """The dashboard's cloud identity is a key pair whose secret is the canary."""
    emulator.control.add_key(KEY_ID, SECRET)
    cloud_settings.ENS_ACCESS_KEY_ID = KEY_ID
    cloud_settings.ENS_ACCESS_KEY_SECRET = SECRET
    cloud_settings.ENS_SIGNATURE_VERSION = request.param
    cloud_settings.ENS_READ_TIMEOUT = 5
    cloud_settings.ENS_REFRESH_SECONDS = 0
    cloud_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return cloud_settings


def client_from_settings() -> EnsClient:
    return EnsClient.from_settings(settings, retry=RetryPolicy(base_delay=0.01, max_delay=0.05))


@pytest.fixture
def every_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG into caplog, those that do not propagate (eniadmin's) included."""
    named = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    caplog.set_level(logging.DEBUG)
    for logger in named:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    detached = [logger for logger in named if not logger.propagate]
    for logger in detached:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


class Collected:
    """Everything the story produced that a person or a log shipper could read."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, str(text)))

    def response(self, where: str, response) -> None:
        assert response.status_code < 500, f"{where}: {response.status_code}"
        content = b"".join(response.streaming_content) if response.streaming else response.content
        self.add(f"{where} (body)", content.decode())
        self.add(f"{where} (headers)", dict(response.headers))

    def error(self, where: str, error: BaseException) -> None:
        self.add(f"{where}: str", str(error))
        self.add(f"{where}: repr", repr(error))
        self.add(f"{where}: attributes", vars(error))
        self.add(f"{where}: traceback", "".join(traceback.format_exception(error)))
        if isinstance(error, EnsError):
            self.add(f"{where}: operator message", error.operator_message)


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The story ---------------------------------------------------------------------------------------


def test_the_secret_appears_nowhere_through_the_detach_story_and_its_failures(
    canary_settings,
    emulator,
    every_log,
    operator,
    approver,
    viewer,
    auditor,
    django_capture_on_commit_callbacks,
):
    for person in (operator, approver):
        person.email = f"{person.username}@example.com"
        person.save()
    seen = Collected()
    cloud = client_from_settings()
    seen.add("repr(client)", repr(cloud))
    seen.add("repr(credentials)", repr(cloud.credentials))
    seen.add("client attributes", vars(cloud))
    assert sync(cloud).status == SyncRun.Status.SUCCEEDED
    notes = emulator.control.state()["demo_notes"]
    first, second, third = (
        NetworkInterface.objects.get(eni_id=eni_id) for eni_id in notes["detach_candidates"][:3]
    )
    as_operator, as_approver = logged_in(operator), logged_in(approver)
    as_viewer, as_auditor = logged_in(viewer), logged_in(auditor)
    worker = Worker(cloud, name="canary-worker")

    with django_capture_on_commit_callbacks(execute=True):
        # The happy path: request, approve, execute, follow to Available.
        seen.response("list", as_operator.get(reverse("inventory:instance-list")))
        seen.response(
            "list fragment",
            as_operator.get(
                reverse("inventory:instance-list"),
                {"q": "eni"},
                headers={"HX-Request": "true", "HX-Target": "instance-table"},
            ),
        )
        create = reverse("detach:request-create")
        seen.response("confirm", as_operator.get(create, {"eni": first.eni_id}))
        seen.response("create", as_operator.post(create, {"eni": first.eni_id, "reason": REASON}))
        detach_request = DetachRequest.objects.get(eni_id=first.eni_id)
        detail = detach_request.get_absolute_url()
        seen.response("review", as_approver.get(reverse("detach:review")))
        seen.response("detail (approver)", as_approver.get(detail))
        decide = reverse("detach:request-decide", args=[detach_request.pk])
        seen.response("approve", as_approver.post(decide, {"action": "approve", "comment": "ok"}))
        worker.work_once()
        status = reverse("detach:request-status", args=[detach_request.pk])
        row = reverse("detach:eni-row", args=[first.eni_id])
        seen.response("card poll", as_viewer.get(status))
        seen.response("row poll", as_viewer.get(row))
        time.sleep(0.35)
        worker.work_once()
        detach_request.refresh_from_db()
        assert detach_request.status == Status.SUCCEEDED, detach_request.error_message
        assert NetworkInterface.objects.get(pk=first.pk).status == "Available"

        # ENS refuses: NoPermission while reading the state for a new request.
        emulator.control.set_faults(
            [{"kind": "no_permission", "action": "DescribeNetworkInterfaces"}]
        )
        refused = as_operator.post(create, {"eni": second.eni_id, "reason": REASON})
        seen.response("create refused by ENS", refused)
        assert "NoPermission" in refused.content.decode()
        with pytest.raises(EnsError) as no_permission:
            cloud.get_network_interface(second.eni_id)
        seen.error("NoPermission", no_permission.value)
        emulator.control.clear_faults()

        # The answer to a detach is lost: OutcomeUnknown, resolved by reading.
        seen.response(
            "create 2", as_operator.post(create, {"eni": second.eni_id, "reason": REASON})
        )
        lost = DetachRequest.objects.get(eni_id=second.eni_id)
        lost_decide = reverse("detach:request-decide", args=[lost.pk])
        seen.response("approve 2", as_approver.post(lost_decide, {"action": "approve"}))
        emulator.control.set_faults(
            [{"kind": "drop", "when": "after", "action": "DetachNetworkInterface", "count": 2}]
        )
        worker.work_once()
        lost.refresh_from_db()
        assert lost.status == Status.DETACHING, "resolved by reading, as it went through"
        with pytest.raises(OutcomeUnknown) as outcome_unknown:
            cloud.detach_network_interface(third.eni_id)
        seen.error("OutcomeUnknown", outcome_unknown.value)
        emulator.control.clear_faults()

        # The secret is wrong: SignatureDoesNotMatch, in a view, a sync and a direct call.
        canary_settings.ENS_ACCESS_KEY_SECRET = WRONG_SECRET
        wrong = client_from_settings()
        seen.add("repr(wrong client)", repr(wrong))
        mismatch = as_operator.post(create, {"eni": third.eni_id, "reason": REASON})
        seen.response("create with a wrong secret", mismatch)
        assert "SignatureDoesNotMatch" in mismatch.content.decode()
        queue_sync(requested_by=operator)
        Worker(wrong, name="wrong-worker").work_once()
        failed_sync = SyncRun.objects.order_by("-pk").first()
        assert failed_sync.error_code == "SignatureDoesNotMatch"
        with pytest.raises(EnsError) as signature:
            wrong.describe_regions()
        seen.error("SignatureDoesNotMatch", signature.value)

        # ENS cannot be reached at all.
        unreachable = EnsClient(
            endpoint=f"http://127.0.0.1:{closed_port()}",
            access_key_id=KEY_ID,
            access_key_secret=SECRET,
            signature_version=canary_settings.ENS_SIGNATURE_VERSION,
            retry=RetryPolicy(max_attempts=1),
        )
        with pytest.raises(EnsError) as connection:
            unreachable.describe_instances()
        seen.error("connection refused", connection.value)
        canary_settings.ENS_ACCESS_KEY_SECRET = SECRET

        # Every page that shows what happened.
        for where, client, url in [
            ("list after", as_viewer, reverse("inventory:instance-list")),
            ("sync status", as_viewer, reverse("inventory:sync-status")),
            ("ENI timeline", as_viewer, reverse("inventory:eni-detail", args=[first.eni_id])),
            ("ENI timeline 2", as_viewer, reverse("inventory:eni-detail", args=[second.eni_id])),
            ("request list", as_viewer, reverse("detach:request-list")),
            ("detail", as_viewer, detail),
            ("detail 2", as_viewer, lost.get_absolute_url()),
            ("card poll after", as_viewer, status),
            ("row poll after", as_viewer, row),
            ("history", as_viewer, reverse("audit:history")),
            ("healthz", as_viewer, reverse("healthz")),
            ("CSV export", as_auditor, reverse("audit:export-csv")),
            ("JSON export", as_auditor, reverse("audit:export-json")),
        ]:
            seen.response(where, client.get(url))

    seen.add("audit rows", serializers.serialize("json", AuditEvent.objects.all()))
    seen.add("detach requests", serializers.serialize("json", DetachRequest.objects.all()))
    seen.add("sync runs", serializers.serialize("json", SyncRun.objects.all()))
    for number, message in enumerate(mail.outbox):
        seen.add(f"e-mail {number}", json.dumps(message.message().as_string()))
    for record in every_log.records:
        seen.add(f"log {record.name} {record.levelname}", record_text(record))

    # The story reached what it meant to: the canary key signed real calls, and was logged.
    assert mail.outbox, "no e-mail was sent"
    assert any(
        entry["access_key_id"] == KEY_ID and entry["http_status"] == 200
        for entry in emulator.control.requests()
    )
    logged = {record.name for record in every_log.records}
    assert {"eniadmin.ens.client", "eniadmin.worker", "urllib3.connectionpool"} <= logged
    assert any(record.levelno == logging.DEBUG for record in every_log.records)

    found = [(where, leaks(text)) for where, text in seen.texts if leaks(text)]
    assert not found, f"the AccessKeySecret leaked into: {found}"
