"""What the inventory's ENI row shows of the detach workflow, without inventory importing detach.

The row's requests come through Django's reverse relation (`eni.detach_requests`), which the
list view prefetches, so these tags add no query per row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from eniadmin.detach.models import DetachRequest, poll_interval

register = template.Library()


def _latest(eni: Any) -> DetachRequest | None:
    requests = sorted(eni.detach_requests.all(), key=lambda item: item.created_at, reverse=True)
    return requests[0] if requests else None


def _open(eni: Any) -> DetachRequest | None:
    return next((item for item in eni.detach_requests.all() if item.is_open), None)


def _moving_since(eni: Any) -> datetime | None:
    """When the row's motion started, or None when nothing about it is in motion."""
    if open_request := _open(eni):
        return open_request.changed_at
    if eni.is_transitional:
        return eni.status_changed_at
    return None


@register.simple_tag
def detach_row_poll(eni: Any) -> SafeString:
    """The row's polling attributes while it moves; none at rest, so polling stops."""
    since = _moving_since(eni)
    if since is None:
        return mark_safe("")
    return format_html(
        ' hx-get="{}" hx-trigger="every {}s" hx-swap="outerHTML" data-poll="detach"',
        reverse("detach:eni-row", args=[eni.eni_id]),
        poll_interval(since),
    )


@register.inclusion_tag("detach/_eni_cell.html")
def detach_cell(eni: Any, can_request_detach: bool) -> dict[str, object]:
    open_request = _open(eni)
    latest = open_request or _latest(eni)
    return {
        "eni": eni,
        "open_request": open_request,
        "latest": latest,
        "can_request_detach": can_request_detach,
    }


@register.filter
def elapsed(since: datetime | None) -> str:
    """Seconds-precise age, for states that last seconds to minutes."""
    if since is None:
        return ""
    seconds = max(0, int((timezone.now() - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


@register.filter
def request_badge(status: str) -> SafeString:
    tone = {
        "pending": "info",
        "approved": "info",
        "submitting": "warn",
        "detaching": "warn",
        "succeeded": "ok",
        "stuck": "bad",
        "failed": "bad",
        "voided": "bad",
    }.get(status, "muted")
    label = dict(DetachRequest.Status.choices).get(status, status)
    return format_html('<span class="badge badge-{}">{}</span>', tone, label)
