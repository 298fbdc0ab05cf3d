from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from eniadmin.accounts.access import loads_access
from eniadmin.detach import workflow
from eniadmin.detach.forms import (
    MAX_SELECTED,
    DecisionForm,
    DetachRequestForm,
    RequestFilterForm,
    storable_ids,
)
from eniadmin.detach.models import DetachRequest, Status
from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import EnsConfigurationError, EnsError
from eniadmin.http import AppRequest
from eniadmin.inventory import eligibility
from eniadmin.inventory.models import NetworkInterface

LIST_SIZE = 100
REVIEW_SIZE = 20


def _client() -> EnsClient:
    return EnsClient.from_settings(settings)


def _get_request(pk: int) -> DetachRequest:
    return get_object_or_404(DetachRequest.objects.with_people(), pk=pk)


def _changed(response: HttpResponse, detach_request: DetachRequest) -> HttpResponse:
    """Tell other regions (the ENI row, the nav badge) that a request moved."""
    return trigger_client_event(
        response, "detachChanged", {"id": detach_request.pk, "status": detach_request.status}
    )


@require_GET
@permission_required("accounts.browse", raise_exception=True)
@vary_on_headers("HX-Request")
def request_list(request: AppRequest) -> HttpResponse:
    form = RequestFilterForm(request.GET)
    requests = DetachRequest.objects.with_people()
    if status := form.status_filter():
        requests = requests.filter(status=status)
    context = {"requests": requests[:LIST_SIZE], "status": status, "form": form}
    template = "detach/request_list.html"
    # Only the table's own requests: restoring history asks htmx-style for the whole page.
    if request.htmx and request.htmx.target == "request-table":
        template += "#request-table"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@permission_required("accounts.request_detach", raise_exception=True)
def request_create(request: AppRequest) -> HttpResponse:
    """Step one (GET) shows the selected ENIs and asks why; step two (POST) opens the requests."""
    if request.method == "GET":
        form = DetachRequestForm(
            initial={
                "eni": request.GET.getlist("eni"),
                "remedy_for": request.GET.get("remedy_for"),
            },
            eni_ids=request.GET.getlist("eni"),
        )
        return _confirm(request, form, request.GET.getlist("eni"))
    form = DetachRequestForm(request.POST)
    if not form.is_valid():
        return _confirm(request, form, request.POST.getlist("eni"))
    eni_ids, reason = form.cleaned_data["eni"], form.cleaned_data["reason"]
    try:
        client = _client()
    except EnsConfigurationError as error:
        messages.error(request, str(error))
        return _confirm(request, form, eni_ids)
    if remedy_pk := form.cleaned_data.get("remedy_for"):
        outcomes = [_request_remedy(request, remedy_pk, eni_ids, reason, client)]
    else:
        outcomes = workflow.request_detaches(
            eni_ids=eni_ids, requester=request.user, reason=reason, client=client
        )
    created = [outcome.detach_request for outcome in outcomes if outcome.detach_request]
    if len(outcomes) == 1 and created and not request.htmx:
        messages.success(request, f"Detach request #{created[0].pk} is waiting for an Approver.")
        return redirect(created[0])
    response = render(
        request,
        "detach/request_create.html" + ("#create-result" if request.htmx else ""),
        {"outcomes": outcomes, "created": created, "form": None},
    )
    if created:
        trigger_client_event(response, "detachChanged", {"created": [item.pk for item in created]})
    return response


def _request_remedy(
    request: AppRequest, remedy_pk: int, eni_ids: list[str], reason: str, client: EnsClient
) -> workflow.Outcome:
    stuck = DetachRequest.objects.filter(pk=remedy_pk).first()
    outcome = workflow.Outcome(eni_ids[0])
    if stuck is None or len(eni_ids) != 1:
        outcome.reasons = ["Only a stuck request of the same interface can be retried."]
        return outcome
    eni = NetworkInterface.objects.get(eni_id=eni_ids[0])
    try:
        outcome.detach_request = workflow.request_detach(
            eni=eni, requester=request.user, reason=reason, client=client, remedy_for=stuck
        )
    except workflow.DetachRefused as refused:
        outcome.reasons = refused.reasons
    except EnsError as error:
        outcome.error = error
    return outcome


def _confirm(request: AppRequest, form: DetachRequestForm, eni_ids: list[str]) -> HttpResponse:
    enis = list(
        NetworkInterface.objects.filter(eni_id__in=storable_ids(eni_ids[:MAX_SELECTED]))
        .select_related("instance")
        .prefetch_related("detach_requests")
    )
    remedy_for = form["remedy_for"].value()
    for eni in enis:
        requests = eni.detach_requests.all()
        has_open = any(item.is_open for item in requests)
        # The same rule as workflow.request_detach: the remedy for a stuck request of this ENI.
        retrying_stuck = any(
            str(item.pk) == str(remedy_for) and item.status == Status.STUCK for item in requests
        )
        eni.detach_blockers = eligibility.detach_blockers(
            eligibility.mirror_state(eni, has_open_request=has_open, retrying_stuck=retrying_stuck)
        )
    unknown = sorted(set(eni_ids) - {eni.eni_id for eni in enis})
    template = "detach/request_create.html"
    if request.htmx:
        template += "#create-form"
    return render(request, template, {"form": form, "enis": enis, "unknown": unknown})


@require_GET
@permission_required("accounts.browse", raise_exception=True)
def request_detail(request: AppRequest, pk: int) -> HttpResponse:
    detach_request = _get_request(pk)
    return render(
        request,
        "detach/request_detail.html",
        _detail_context(request, detach_request, with_review=True),
    )


def _detail_context(
    request: AppRequest, detach_request: DetachRequest, *, with_review: bool
) -> dict[str, object]:
    can_decide = (
        request.user.has_perm("accounts.decide_detach")
        and detach_request.status == Status.PENDING
        and request.user.pk != detach_request.requester_id
    )
    checked = None
    if with_review and can_decide:
        try:
            checked = workflow.review(detach_request=detach_request, client=_client())
        except EnsConfigurationError as error:
            messages.error(request, str(error))
    return {
        "req": detach_request,
        "review": checked,
        "can_decide": can_decide,
        "own_pending": detach_request.status == Status.PENDING
        and request.user.pk == detach_request.requester_id,
        "can_retry": detach_request.status == Status.STUCK
        and request.user.has_perm("accounts.request_detach"),
        "decision_form": DecisionForm(),
    }


@require_GET
@loads_access
@permission_required("accounts.browse", raise_exception=True)
def request_status(request: AppRequest, pk: int) -> HttpResponse:
    """The card polls this; it reads one row. At a final state the markup has no trigger."""
    return render(request, "detach/request_detail.html#request-card", {"req": _get_request(pk)})


@require_POST
@permission_required("accounts.decide_detach", raise_exception=True)
def request_decide(request: AppRequest, pk: int) -> HttpResponse:
    detach_request = _get_request(pk)
    if request.user.pk == detach_request.requester_id:
        raise PermissionDenied("Nobody may decide on their own detach request.")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, detach_request, with_review=False)
        context["decision_form"] = form
        return render(request, "detach/request_detail.html#request-review", context)
    action, comment = form.cleaned_data["action"], form.cleaned_data["comment"]
    try:
        if action == "approve":
            workflow.approve_detach(
                detach_request=detach_request,
                approver=request.user,
                comment=comment,
                client=_client(),
            )
        else:
            workflow.reject_detach(
                detach_request=detach_request, approver=request.user, comment=comment
            )
    except workflow.DetachRefused as refused:
        messages.warning(request, str(refused))
    except (ValidationError, EnsConfigurationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    except EnsError as error:
        messages.error(
            request,
            f"{error.operator_message} (ENS code {error.code}, RequestId "
            f"{error.request_id or '-'}). Nothing was changed.",
        )
    else:
        messages.success(request, _decision_message(detach_request))
    if not request.htmx:
        return redirect(detach_request)
    detach_request.refresh_from_db()
    response = render(
        request,
        "detach/request_detail.html#request-review",
        _detail_context(request, detach_request, with_review=False),
    )
    return _changed(response, detach_request)


def _decision_message(detach_request: DetachRequest) -> str:
    if detach_request.status == Status.VOIDED:
        return (
            f"Request #{detach_request.pk} was voided, not approved: the interface's state "
            "changed since it was requested."
        )
    if detach_request.status == Status.APPROVED:
        return f"Request #{detach_request.pk} approved: the worker will detach it shortly."
    return f"Request #{detach_request.pk} {detach_request.get_status_display().lower()}."


@require_POST
@permission_required("accounts.request_detach", raise_exception=True)
def request_cancel(request: AppRequest, pk: int) -> HttpResponse:
    detach_request = _get_request(pk)
    if request.user.pk != detach_request.requester_id:
        raise PermissionDenied("Only the requester may cancel a detach request.")
    try:
        workflow.cancel_detach(detach_request=detach_request, requester=request.user)
    except workflow.DetachRefused as refused:
        messages.warning(request, str(refused))
    else:
        messages.success(request, f"Request #{detach_request.pk} cancelled.")
    if not request.htmx:
        return redirect(detach_request)
    response = render(
        request,
        "detach/request_detail.html#request-review",
        _detail_context(request, detach_request, with_review=False),
    )
    return _changed(response, detach_request)


@require_GET
@permission_required("accounts.decide_detach", raise_exception=True)
def review_list(request: AppRequest) -> HttpResponse:
    """Pending requests others made, each beside the state read from ENS now."""
    pending = list(
        DetachRequest.objects.pending()
        .exclude(requester=request.user)
        .with_people()
        .order_by("created_at")[:REVIEW_SIZE]
    )
    reviews = []
    try:
        client = _client()
    except EnsConfigurationError as error:
        messages.error(request, str(error))
    else:
        reviews = [workflow.review(detach_request=item, client=client) for item in pending]
    return render(
        request,
        "detach/review.html",
        {"reviews": reviews, "pending": pending, "decision_form": DecisionForm()},
    )


@require_GET
@loads_access
@permission_required("accounts.browse", raise_exception=True)
def eni_row(request: AppRequest, eni_id: str) -> HttpResponse:
    """An inventory row polling itself while its ENI or its request is in motion."""
    eni = get_object_or_404(
        NetworkInterface.objects.select_related("instance").prefetch_related(
            Prefetch("detach_requests", queryset=DetachRequest.objects.order_by("-created_at"))
        ),
        eni_id=eni_id,
    )
    eni.detach_blockers = eligibility.mirror_blockers(
        eni, has_open_request=any(item.is_open for item in eni.detach_requests.all())
    )
    return render(
        request,
        "inventory/instance_list.html#eni-row",
        {
            "eni": eni,
            "can_request_detach": request.user.has_perm("accounts.request_detach"),
        },
    )
