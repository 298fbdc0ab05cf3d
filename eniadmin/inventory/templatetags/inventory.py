from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

STEADY = {"InUse", "Running", "Available"}
TRANSITIONAL = {"Detaching", "Attaching", "Starting", "Stopping", "Deleting"}


@register.filter
def status_badge(status: str) -> SafeString:
    """A coloured badge for an instance or ENI status (a filter: list pages show hundreds)."""
    if status in STEADY:
        tone = "ok"
    elif status == "Stopped":
        tone = "info"
    elif status in TRANSITIONAL:
        tone = "warn"
    else:
        tone = "bad"
    return format_html('<span class="badge badge-{}">{}</span>', tone, status or "unknown")
