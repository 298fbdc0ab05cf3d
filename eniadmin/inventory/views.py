from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Page, Paginator
from django.db.models import Exists, Model, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from eniadmin.accounts.access import loads_access
from eniadmin.audit.models import AuditEvent
from eniadmin.http import AppRequest
from eniadmin.inventory import eligibility
from eniadmin.inventory.context_processors import RegionsVersion, count_of, fleet_status_of
from eniadmin.inventory.forms import InventoryFilterForm
from eniadmin.inventory.models import EdgeRegion, Instance, NetworkInterface
from eniadmin.inventory.sync import queue_sync

PAGE_SIZE = 50
UNATTACHED_SHOWN = 50

# What the list's instance rows show and the eligibility rules read.
LISTED_INSTANCE_FIELDS = (
    "instance_id", "name", "region_id", "status", "private_ips", "vswitch_id", "gone_at",
)  # fmt: skip


@require_GET
@loads_access
@permission_required("accounts.browse", raise_exception=True)
@vary_on_headers("HX-Request")
def instance_list(request: AppRequest) -> HttpResponse:
    """The fleet, 50 instances a page with their ENIs nested, in three queries of its own: the
    page (with the total), its ENIs (with the unattached ones and each one's newest detach
    request) and, if the full page is rendered, the fleet status shared with the header."""
    asked_region = request.GET.get("region", "")
    form = InventoryFilterForm(
        request.GET or None, regions=lambda: _region_choices(including=asked_region)
    )
    filters = form.filters()
    # Rendering the select may show a region added since this process cached them.
    form.set_regions(lambda: _region_choices(version=fleet_status_of(request).regions_version))
    instances, enis = _filtered(filters)
    page = _page(instances, form.page_number())
    unattached = _attach_enis(page.object_list, enis)
    context = {
        "form": form,
        "page": page,
        "unattached": unattached[:UNATTACHED_SHOWN],
        "more_unattached": len(unattached) > UNATTACHED_SHOWN,
        "filtered": bool(filters),
        "query_without_page": urlencode(filters),
        "can_request_detach": request.user.has_perm("accounts.request_detach"),
        "sync": SimpleLazyObject(lambda: _sync_context(request)),
    }
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
    instances = instances.only(*LISTED_INSTANCE_FIELDS).order_by("region_id", "instance_id")
    return instances, enis.order_by("type", "eni_id")


def _page(instances: QuerySet[Instance], number: int) -> Page:
    """The page's instances and the total in one query: the count rides along as a column."""
    start = (number - 1) * PAGE_SIZE
    rows = list(instances.annotate(total=count_of(instances))[start : start + PAGE_SIZE])
    paginator = Paginator(instances, PAGE_SIZE)
    if not rows and number > 1:
        # Past the last page (an old link): Django's answer, the last page, costs a count.
        return paginator.get_page(number)
    paginator.count = rows[0].total if rows else 0
    return Page(rows, number, paginator)


def _attach_enis(instances: list[Instance], enis: QuerySet[NetworkInterface]) -> list[ListedEni]:
    """Give each instance its shown ENIs, and each ENI its newest detach request and its
    eligibility, in one query and one pass. Returns the unattached ENIs (one more than shown,
    to tell whether there are more)."""
    first_unattached = enis.filter(attached_instance_id="").values("pk")[: UNATTACHED_SHOWN + 1]
    on_page = [instance.pk for instance in instances]
    columns = _newest_request_columns()

    def listed(shown: QuerySet[NetworkInterface]) -> QuerySet[NetworkInterface]:
        return shown.order_by().annotate(**columns).values_list(*LISTED_ENI_FIELDS, *columns)

    # A UNION, not one WHERE with OR: PostgreSQL reads each side by its index, but scans the
    # whole table for the OR of an IN list and a subquery.
    rows = (
        listed(enis.filter(instance__in=on_page))
        .union(listed(enis.filter(pk__in=first_unattached)), all=True)
        .order_by("type", "eni_id")
    )
    by_pk = {instance.pk: instance for instance in instances}
    for instance in instances:
        instance.shown_enis = []
    unattached = []
    for *values, request_pk, request_status, request_changed_at in rows:
        eni = ListedEni(*values)
        eni.newest_detach_request = _newest_request(request_pk, request_status, request_changed_at)
        eni.instance = by_pk.get(eni.instance_id)
        if eni.instance is None:
            unattached.append(eni)
        else:
            eni.instance.shown_enis.append(eni)
        _decide_eligibility(eni)
    return unattached


LISTED_ENI_FIELDS = (
    "eni_id", "name", "region_id", "attached_instance_id", "instance_id", "status", "type",
    "primary_ip", "mac_address", "vswitch_id", "service_managed", "status_changed_at",
)  # fmt: skip


@dataclass(slots=True)
class ListedEni:
    """An ENI as the list shows it, read as a plain row: the list shows hundreds, and a model
    instance per row costs more than rendering the row. Fields as LISTED_ENI_FIELDS."""

    eni_id: str
    name: str
    region_id: str
    attached_instance_id: str
    instance_id: int | None
    status: str
    type: str
    primary_ip: str
    mac_address: str
    vswitch_id: str
    service_managed: bool
    status_changed_at: datetime
    gone_at: None = None  # the list shows present ENIs only
    instance: Instance | None = None
    newest_detach_request: Model | None = None
    detach_blockers: tuple[str, ...] = ()

    # The model's own rules, over the same attributes.
    is_primary = NetworkInterface.is_primary
    is_transitional = NetworkInterface.is_transitional


def _decide_eligibility(eni: NetworkInterface | ListedEni) -> None:
    """Every reason a detach may not be requested, from the mirror (the instance loaded)."""
    newest = eni.newest_detach_request
    eni.detach_blockers = eligibility.mirror_blockers(
        eni, has_open_request=newest is not None and newest.is_open
    )


def _newest_request_columns() -> dict[str, Subquery]:
    """Each ENI's newest detach request as three more columns of its own row.

    Detach's requests arrive through its reverse relation: the mirror never imports detach.
    The newest request is the open one when one is open (at most one is, and no new one can be
    made while it is), so the row needs no other.
    """
    newest = (
        _detach_request_model()
        .objects.filter(network_interface=OuterRef("pk"))
        .order_by("-created_at", "-pk")
    )
    return {
        "newest_request_pk": Subquery(newest.values("pk")[:1]),
        "newest_request_status": Subquery(newest.values("status")[:1]),
        "newest_request_changed_at": Subquery(newest.values("changed_at")[:1]),
    }


def _newest_request(pk: int | None, status: str, changed_at: datetime) -> Model | None:
    """The request from its three columns: enough for `is_open`, its badge and its age."""
    if pk is None:
        return None
    return _detach_request_model()(pk=pk, status=status, changed_at=changed_at)


def _detach_request_model() -> type[Model]:
    return NetworkInterface._meta.get_field("detach_requests").related_model


# The region filter's choices change only when a sync writes a region, so each process keeps
# them, with the version (newest row, last change) they were read at.
_UNKNOWN = object()
_regions: tuple[RegionsVersion | object, list[tuple[str, str]]] = (_UNKNOWN, [])


def _region_choices(
    *, version: RegionsVersion | object = _UNKNOWN, including: str = ""
) -> list[tuple[str, str]]:
    """The cached choices, read again when `version` (from the status query) differs from
    theirs, or when they lack the region `including` asks to validate."""
    global _regions
    known, choices = _regions
    stale = known is _UNKNOWN or (version is not _UNKNOWN and version != known)
    if stale or (including and all(region_id != including for region_id, _ in choices)):
        regions = list(EdgeRegion.objects.all())
        known = (
            max((region.pk for region in regions), default=None),
            max((region.changed_at for region in regions), default=None),
        )
        _regions = known, [(region.region_id, str(region)) for region in regions]
    return _regions[1]


@require_GET
@loads_access
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
@loads_access
@permission_required("accounts.request_sync", raise_exception=True)
def sync_now(request: AppRequest) -> HttpResponse:
    _, created = queue_sync(requested_by=request.user)
    if request.htmx:  # the region it swaps in says so; a message would wait for a later page
        return render(
            request, "inventory/instance_list.html#sync-status", {"sync": _sync_context(request)}
        )
    if created:
        messages.success(request, "Sync queued: the worker picks it up within a few seconds.")
    else:
        messages.info(request, "A sync is already queued; it will start shortly.")
    return redirect("inventory:instance-list")


def _sync_context(request: AppRequest) -> dict[str, object]:
    status = fleet_status_of(request)
    return {
        "open_run": status.open_run,
        "last_run": status.last_run,
        "can_sync": request.user.has_perm("accounts.request_sync"),
    }


@require_GET
@loads_access
@permission_required("accounts.browse", raise_exception=True)
def eni_detail(request: AppRequest, eni_id: str) -> HttpResponse:
    """The ENI's current state and its timeline: every audit event about it, oldest first."""
    columns = _newest_request_columns()
    eni = (
        NetworkInterface.objects.select_related("instance")
        .filter(eni_id=eni_id)
        .annotate(**columns)
        .first()
    )
    if eni is None:
        raise Http404("No such network interface.")
    eni.newest_detach_request = _newest_request(*(getattr(eni, name) for name in columns))
    _decide_eligibility(eni)
    events = AuditEvent.objects.for_eni(eni.eni_id)
    return render(
        request,
        "inventory/eni_detail.html",
        {
            "eni": eni,
            "events": events,
            "can_request_detach": request.user.has_perm("accounts.request_detach"),
        },
    )
