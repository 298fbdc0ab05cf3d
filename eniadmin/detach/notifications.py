"""E-mails about detach requests, sent after the change committed (transaction.on_commit).

A mail server that is down must never undo or block a decision, so failures are logged only.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q, QuerySet

from eniadmin.detach.models import DetachRequest, Status

log = logging.getLogger(__name__)


def approvers_for(detach_request: DetachRequest) -> QuerySet:
    permission = Q(
        groups__permissions__codename="decide_detach",
        groups__permissions__content_type__app_label="accounts",
    )
    return (
        get_user_model()
        .objects.filter(permission | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .exclude(pk=detach_request.requester_id)
        .distinct()
    )


def new_request(detach_request: DetachRequest) -> None:
    recipients = list(approvers_for(detach_request).values_list("email", flat=True))
    if not recipients:
        return
    requester = detach_request.requester.get_username()
    _send(
        f"Detach request #{detach_request.pk} for {detach_request.eni_id} needs a decision",
        f"{requester} asks to detach {detach_request.eni_id} from {detach_request.instance_id}.\n\n"
        f"Reason: {detach_request.reason}\n\n"
        f"Review it: {_url(detach_request)}\n"
        f"It expires if nobody decides within {settings.DETACH_REQUEST_TTL // 3600} hours.",
        recipients,
    )


_OUTCOMES = {
    Status.APPROVED: "was approved by {approver}; the worker will detach it shortly.",
    Status.REJECTED: "was rejected by {approver}.",
    Status.EXPIRED: "expired before it was carried out.",
    Status.VOIDED: "was voided: the interface's state changed since it was requested.",
    Status.SUCCEEDED: "succeeded: the interface is detached.",
    Status.FAILED: "failed.",
    Status.STUCK: "is stuck: the interface stayed Detaching too long.",
}


def decision_or_outcome(detach_request: DetachRequest) -> None:
    email = detach_request.requester.email
    template = _OUTCOMES.get(Status(detach_request.status))
    if not email or template is None:
        return
    approver = detach_request.approver.get_username() if detach_request.approver else ""
    lines = [
        f"Your request to detach {detach_request.eni_id} from {detach_request.instance_id} "
        + template.format(approver=approver)
    ]
    if detach_request.decision_comment:
        lines.append(f"Comment: {detach_request.decision_comment}")
    if detach_request.error_message:
        lines.append(detach_request.error_message)
    if detach_request.error_code:
        request_id = detach_request.error_request_id or "-"
        lines.append(f"ENS code {detach_request.error_code}, RequestId {request_id}")
    lines.append(f"Details: {_url(detach_request)}")
    _send(
        f"Detach request #{detach_request.pk} for {detach_request.eni_id}: "
        f"{detach_request.get_status_display().lower()}",
        "\n\n".join(lines),
        [email],
    )


def _url(detach_request: DetachRequest) -> str:
    return settings.SITE_URL.rstrip("/") + detach_request.get_absolute_url()


def _send(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        log.exception("Could not send the e-mail %r to %s", subject, recipients)
