"""Template filters of the inventory pages.

The list page shows hundreds of ENI rows, so a row's cells are built here in Python, as admin's
changelist builds its cells: the template engine takes several times as long per cell.
"""

from __future__ import annotations

import functools
import html
from datetime import datetime

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from eniadmin.inventory.models import Instance, NetworkInterface

register = template.Library()

STEADY = {"InUse", "Running", "Available"}
TRANSITIONAL = {"Detaching", "Attaching", "Starting", "Stopping", "Deleting"}

PRIMARY_BADGE = mark_safe('<span class="badge badge-muted">Primary</span>')
SECONDARY_BADGE = mark_safe('<span class="badge badge-role">Secondary</span>')


def quick_format_html(format_string: str, *values: object) -> SafeString:
    """format_html for the rows: the same escaping (of every value not already safe, as
    conditional_escape does) without the checks for lazy strings that double its cost."""
    escaped = [
        html.escape(value)
        if value.__class__ is str  # the common case first
        else value.__html__()
        if hasattr(value, "__html__")
        else html.escape(str(value))
        for value in values
    ]
    return SafeString(format_string.format(*escaped))


@register.filter
@functools.lru_cache(maxsize=64)  # a handful of statuses, hundreds of rows
def status_badge(status: str) -> SafeString:
    """A coloured badge for an instance or ENI status."""
    if status in STEADY:
        tone = "ok"
    elif status == "Stopped":
        tone = "info"
    elif status in TRANSITIONAL:
        tone = "warn"
    else:
        tone = "bad"
    return quick_format_html('<span class="badge badge-{}">{}</span>', tone, status or "unknown")


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


@register.simple_tag
def eni_row(eni: NetworkInterface, poll_attributes: str, detach_cell: str) -> SafeString:
    """An ENI's row; its polling attributes and its Detach cell come from the detach app's
    filters."""
    status = status_badge(eni.status)
    if eni.is_transitional:
        status = quick_format_html(
            '{} <span class="muted elapsed">{}</span>', status, elapsed(eni.status_changed_at)
        )
    return quick_format_html(
        '<tr class="sub eni-row" id="eni-{}"{}>'
        '<td class="mono"><a href="{}{}/">{}</a></td><td>{}</td><td class="mono">{}</td>'
        '<td>{}</td><td>{}</td><td class="mono">{}</td><td class="mono">{}</td>'
        '<td class="mono">{}</td><td class="detach-cell">{}</td></tr>',
        eni.eni_id,
        poll_attributes,
        # The ENI page's URL less the id.
        reverse_once("inventory:eni-detail", "-").removesuffix("-/"),
        eni.eni_id,
        eni.eni_id,
        eni.name,
        eni.region_id,
        status,
        PRIMARY_BADGE if eni.is_primary else SECONDARY_BADGE,
        eni.primary_ip,
        eni.mac_address,
        eni.vswitch_id,
        detach_cell,
    )


def reverse_once(name: str, *args: str) -> str:
    """reverse(), once per process and script prefix: the list's hundreds of rows link to the
    same few URLs, and reverse() costs more than the rest of a row."""
    return _reversed(get_script_prefix(), name, args)


@functools.cache
def _reversed(script_prefix: str, name: str, args: tuple[str, ...]) -> str:
    return reverse(name, args=args)


@register.filter
def instance_cells(instance: Instance) -> SafeString:
    """An instance row's cells, its ENIs' rows below it."""
    return quick_format_html(
        '<th scope="row" class="mono">{}</th><td>{}</td><td class="mono">{}</td><td>{}</td>'
        '<td class="muted">instance</td><td class="mono">{}</td><td></td>'
        '<td class="mono">{}</td><td></td>',
        instance.instance_id,
        instance.name,
        instance.region_id,
        status_badge(instance.status),
        instance.private_ips,
        instance.vswitch_id,
    )
