from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from eniadmin.audit.events import record
from eniadmin.audit.exports import csv_chunks, exported_rows, json_chunks
from eniadmin.audit.forms import HistoryFilterForm
from eniadmin.audit.models import Action, AuditEvent
from eniadmin.http import AppRequest

EVENTS_PER_PAGE = 50

EXPORT_FORMATS: dict[str, tuple[str, Callable[[Iterable[dict[str, Any]]], Iterator[str]]]] = {
    "csv": ("text/csv; charset=utf-8", csv_chunks),
    "json": ("application/json", json_chunks),
}


@require_GET
@permission_required("accounts.browse", raise_exception=True)
@vary_on_headers("HX-Request")
def audit_history(request: AppRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if form.is_valid():
        events = form.filter_events(AuditEvent.objects.all()).newest_first()
        page_number = form.cleaned_data["page"] or 1
    else:
        # Never guess what a broken filter meant: show the errors and no rows.
        events = AuditEvent.objects.none()
        page_number = 1
    page = Paginator(events, EVENTS_PER_PAGE).get_page(page_number)
    context = {
        "form": form,
        "page": page,
        "can_export": request.user.has_perm("accounts.export_audit"),
    }
    template = "audit/history.html"
    # Only the table's own requests: restoring history asks htmx-style for the whole page.
    if request.htmx and request.htmx.target == "history-table":
        template += "#history-table"
    return render(request, template, context)


@require_GET
@permission_required("accounts.export_audit", raise_exception=True)
def audit_export(request: AppRequest, export_format: str) -> HttpResponse | StreamingHttpResponse:
    """The history page's rows, all pages, oldest first, streamed as CSV or JSON."""
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Invalid filters, nothing exported: " + "; ".join(form.error_summary()),
            content_type="text/plain; charset=utf-8",
        )
    content_type, chunks = EXPORT_FORMATS[export_format]
    filters = form.active_filters()
    # Recorded and committed before the first byte goes out: a download cut short is still
    # on record. The export covers the events before this one.
    with transaction.atomic():
        exported = record(
            Action.AUDIT_EXPORTED,
            actor=request.user,
            after={"format": export_format, "filters": filters},
            comment=f"{export_format.upper()} export, filters: "
            + (", ".join(f"{name}={value}" for name, value in filters.items()) or "none"),
        )
    events = form.filter_events(AuditEvent.objects.filter(id__lt=exported.pk)).order_by("id")
    filename = f"audit-{timezone.now():%Y%m%dT%H%M%SZ}.{export_format}"
    return StreamingHttpResponse(
        chunks(exported_rows(events)),
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
