"""What the inventory's ENI row shows of the detach workflow, without inventory importing detach.

The row's requests come through Django's reverse relation: the inventory reads each ENI's
newest request with the ENI (`eni.newest_detach_request`); the row's own poll prefetches
`eni.detach_requests`. Either way these filters add no query per row, and they build their
markup in Python: the list shows hundreds of rows."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from eniadmin.detach.models import DetachRequest, poll_interval
from eniadmin.inventory.templatetags.inventory import elapsed, quick_format_html, reverse_once

register = template.Library()
# The detach pages show ages too; the filter is the inventory's.
register.filter("elapsed", elapsed)


@register.filter
def newest_detach_request(eni: Any) -> DetachRequest | None:
    """The ENI's newest request: the open one, when one is open (one at most, and no new one
    can be made while it is)."""
    try:
        return eni.newest_detach_request
    except AttributeError:
        return max(
            eni.detach_requests.all(), key=lambda item: (item.created_at, item.pk), default=None
        )


@register.filter
def detach_cell(eni: Any, can_request_detach: bool) -> SafeString:
    """The ENI's open request; or the Detach control (for those who may request one), every
    reason it is disabled, and the last request. The ENI comes with `detach_blockers` set."""
    newest = newest_detach_request(eni)
    if newest is not None and newest.is_open:
        return quick_format_html(
            '<a href="{}">Request #{}</a> {} <span class="muted elapsed">{}</span>',
            reverse("detach:request-detail", args=[newest.pk]),
            newest.pk,
            request_badge(newest.status),
            elapsed(newest.changed_at),
        )
    reasons = eni.detach_blockers
    control = reasons_list = last_request = ""
    if can_request_detach and reasons:
        control = quick_format_html(
            '<button type="button" class="detach" aria-disabled="true" '
            'aria-describedby="why-{}">Detach</button>',
            eni.eni_id,
        )
    elif can_request_detach:
        control = quick_format_html(
            '<label class="select-eni"><input type="checkbox" name="eni" value="{}" '
            'form="detach-selection" aria-label="Select {}"></label> '
            '<a class="button detach" href="{}?eni={}">Detach…</a>',
            eni.eni_id,
            eni.eni_id,
            reverse_once("detach:request-create"),
            eni.eni_id,
        )
    if reasons:
        reasons_list = quick_format_html(
            '<ul class="reasons" id="why-{}">{}</ul>', eni.eni_id, _reason_items(tuple(reasons))
        )
    if newest is not None:
        last_request = quick_format_html(
            '<p class="muted last-request"><a href="{}">Last request #{}</a>: {}</p>',
            reverse("detach:request-detail", args=[newest.pk]),
            newest.pk,
            newest.get_status_display().lower(),
        )
    return SafeString(control + reasons_list + last_request)


@functools.lru_cache(maxsize=256)  # the same few sentences on hundreds of rows
def _reason_items(reasons: tuple[str, ...]) -> SafeString:
    return SafeString("".join(quick_format_html("<li>{}</li>", reason) for reason in reasons))


@register.filter
def detach_row_poll(eni: Any) -> SafeString:
    """The row's polling attributes while it moves; none at rest, so polling stops."""
    newest = newest_detach_request(eni)
    if newest is not None and newest.is_open:
        since = newest.changed_at
    elif eni.is_transitional:
        since = eni.status_changed_at
    else:
        return mark_safe("")
    return format_html(
        ' hx-get="{}" hx-trigger="every {}s" hx-swap="outerHTML" data-poll="detach"',
        reverse("detach:eni-row", args=[eni.eni_id]),
        poll_interval(since),
    )


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
