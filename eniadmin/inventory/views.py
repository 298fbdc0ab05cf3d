from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from eniadmin.audit.models import AuditEvent
from eniadmin.http import AppRequest
from eniadmin.inventory import eligibility
from eniadmin.inventory.forms import InventoryFilterForm
from eniadmin.inventory.models import Instance, NetworkInterface, SyncRun
from eniadmin.inventory.sync import queue_sync

PAGE_SIZE = 50
UNATTACHED_SHOWN = 50


@require_GET
@permission_required("accounts.browse", raise_exception=True)
@vary_on_headers("HX-Request")
def instance_list(request: AppRequest) -> HttpResponse:
    form = InventoryFilterForm(request.GET or None)
    filters = form.filters()
    instances, enis = _filtered(filters)
    page = Paginator(instances, PAGE_SIZE).get_page(form.page_number())
    unattached = list(enis.filter(attached_instance_id="")[: UNATTACHED_SHOWN + 1])
    context = {
        "form": form,
        "page": page,
        "unattached": unattached[:UNATTACHED_SHOWN],
        "more_unattached": len(unattached) > UNATTACHED_SHOWN,
        "filtered": bool(filters),
        "query_without_page": urlencode(filters),
        "can_request_detach": request.user.has_perm("accounts.request_detach"),
        # Rows build their ENI links from this: one reverse() per page, not two per row.
        "eni_url_prefix": reverse("inventory:eni-detail", args=["-"])[:-2],
        "sync": _sync_context(request),
    }
    _attach_eligibility([eni for instance in page for eni in instance.shown_enis] + unattached)
    template = "inventory/instance_list.html"
    if request.htmx and request.htmx.target == "instance-table":
        template += "#instance-table"
    return render(request, template, context)


def _filtered(filters: dict[str, str]) -> tuple[QuerySet[Instance], QuerySet[NetworkInterface]]:
    instances = Instance.objects.present()
    enis = NetworkInterface.objects.present()
    if region := filters.get("region"):
        instances = instances.filter(region_id=region)
        enis = enis.filter(region_id=region)
    if status := filters.get("status"):
        instances = instances.filter(status=status)
    if eni_status := filters.get("eni_status"):
        enis = enis.filter(status=eni_status)
    if eni_type := filters.get("eni_type"):
        enis = enis.filter(type=eni_type)
    if q := filters.get("q"):
        eni_match = (
            Q(eni_id__icontains=q)
            | Q(name__icontains=q)
            | Q(primary_ip__icontains=q)
            | Q(private_ips__icontains=q)
        )
        instance_match = (
            Q(instance_id__icontains=q)
            | Q(name__icontains=q)
            | Q(private_ips__icontains=q)
            | Q(public_ips__icontains=q)
        )
        instances = instances.filter(
            instance_match | Exists(enis.filter(eni_match, instance=OuterRef("pk")))
        )
        # An instance that matched by itself shows all its ENIs; otherwise only the matches.
        enis = enis.filter(eni_match | Q(instance__in=Instance.objects.filter(instance_match)))
    if filters.get("eni_status") or filters.get("eni_type"):
        instances = instances.filter(Exists(enis.filter(instance=OuterRef("pk"))))
    # Detach's requests arrive through its reverse relation: the mirror never imports detach.
    shown = enis.order_by("type", "eni_id").prefetch_related("detach_requests")
    instances = instances.order_by("region_id", "instance_id").prefetch_related(
        Prefetch("interfaces", queryset=shown, to_attr="shown_enis")
    )
    return instances, shown


def _attach_eligibility(enis: list[NetworkInterface]) -> None:
    for eni in enis:
        eni.detach_blockers = eligibility.detach_blockers(
            eligibility.mirror_state(eni, has_open_request=_has_open_request(eni))
        )


def _has_open_request(eni: NetworkInterface) -> bool:
    return any(item.is_open for item in eni.detach_requests.all())


@require_GET
@permission_required("accounts.browse", raise_exception=True)
def sync_status(request: AppRequest) -> HttpResponse:
    """The sync region polls itself while a sync is open; the answer after it ends has no
    trigger, so polling stops, and tells the table to reload."""
    context = _sync_context(request)
    response = render(request, "inventory/instance_list.html#sync-status", {"sync": context})
    if request.GET.get("was_open") and not context["open_run"]:
        trigger_client_event(response, "inventorySynced")
    return response


@require_POST
@permission_required("accounts.request_sync", raise_exception=True)
def sync_now(request: AppRequest) -> HttpResponse:
    _, created = queue_sync(requested_by=request.user)
    if created:
        messages.success(request, "Sync queued: the worker picks it up within a few seconds.")
    else:
        messages.info(request, "A sync is already queued; it will start shortly.")
    if request.htmx:
        return render(
            request, "inventory/instance_list.html#sync-status", {"sync": _sync_context(request)}
        )
    return redirect("inventory:instance-list")


def _sync_context(request: AppRequest) -> dict[str, object]:
    runs = list(SyncRun.objects.order_by("-created_at")[:2])
    open_run = next((run for run in runs if run.is_open), None)
    return {
        "open_run": open_run,
        "last_run": next((run for run in runs if not run.is_open), None),
        "can_sync": request.user.has_perm("accounts.request_sync"),
    }


@require_GET
@permission_required("accounts.browse", raise_exception=True)
def eni_detail(request: AppRequest, eni_id: str) -> HttpResponse:
    """The ENI's current state and its timeline: every audit event about it, oldest first."""
    eni = get_object_or_404(
        NetworkInterface.objects.select_related("instance").prefetch_related("detach_requests"),
        eni_id=eni_id,
    )
    blockers = eligibility.detach_blockers(
        eligibility.mirror_state(eni, has_open_request=_has_open_request(eni))
    )
    events = AuditEvent.objects.for_eni(eni.eni_id)
    return render(
        request,
        "inventory/eni_detail.html",
        {
            "eni": eni,
            "blockers": blockers,
            "events": events,
            "can_request_detach": request.user.has_perm("accounts.request_detach"),
        },
    )
