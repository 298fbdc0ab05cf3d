"""The detach workflow where it crosses models and the cloud: requesting, deciding, executing.

Views and the worker loop call these functions; the state changes themselves are the
DetachRequest methods (conditional UPDATEs with their audit events). The guards are
inventory.eligibility's, fed with state read fresh from ENS at every step that matters.

Exactly once: a worker claims a request approved → submitting, commits `called_at` right before
it sends DetachNetworkInterface, and never sends it again for that request. Whatever happens after
that moment (no answer, a dead worker) is resolved by reading the ENI's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from eniadmin.audit.events import record, serialise_appends
from eniadmin.audit.models import Action
from eniadmin.detach import notifications
from eniadmin.detach.models import SUBMIT_LEASE, DetachRequest, Status, diff_states
from eniadmin.ens.client import EnsClient
from eniadmin.ens.errors import OUTCOME_UNKNOWN, Category, EnsError, OutcomeUnknown
from eniadmin.inventory import eligibility
from eniadmin.inventory.models import EniStatus, NetworkInterface

log = logging.getLogger(__name__)

# Bounds one worker tick, so the heartbeat and the sync keep their turn under a flood.
BATCH = 20

NOT_THROUGH = (
    "ENS gave no clear answer to the detach call, and the interface is still in use on its "
    "instance: the detach did not go through. It was not sent again; request a new detach if "
    "it is still needed."
)
IN_USE_AGAIN = (
    "ENS shows the interface in use on its instance again: the detach did not complete. "
    "Request a new detach if it is still needed."
)
VANISHED = "ENS no longer lists this network interface, so the detach cannot be followed."


class DetachRefused(Exception):
    """The action cannot go ahead; nothing was changed. `reasons` are operator sentences."""

    def __init__(self, *reasons: str) -> None:
        self.reasons = list(reasons)
        super().__init__(" ".join(reasons))


class AlreadyHandled(DetachRefused):
    """Someone else changed the request first (0 rows from the conditional UPDATE)."""

    def __init__(self, detach_request: DetachRequest) -> None:
        detach_request.refresh_from_db()
        self.detach_request = detach_request
        super().__init__(
            f"This request was already handled: it is now "
            f"{detach_request.get_status_display().lower()}. Nothing was changed."
        )


# Requesting ----------------------------------------------------------------------------------


def request_detach(
    *,
    eni: NetworkInterface,
    requester: Any,
    reason: str,
    client: EnsClient,
    remedy_for: DetachRequest | None = None,
) -> DetachRequest:
    """Open a pending request after reading the ENI's live state; refuses when a guard says no.

    Raises DetachRefused with the guards' reasons, or the client's EnsError when ENS cannot be
    read (then nothing is created).
    """
    if remedy_for is not None and (
        remedy_for.status != Status.STUCK or remedy_for.eni_id != eni.eni_id
    ):
        raise DetachRefused("Only a stuck request of the same interface can be retried.")
    has_open = DetachRequest.objects.open().filter(network_interface=eni).exists()
    fresh = eligibility.fresh_state(
        client,
        eni.eni_id,
        service_managed=eni.service_managed,
        has_open_request=has_open,
        retrying_stuck=remedy_for is not None,
    )
    if blockers := eligibility.detach_blockers(fresh):
        raise DetachRefused(*blockers)
    detach_request = DetachRequest(
        network_interface=eni,
        eni_id=eni.eni_id,
        instance_id=fresh.attached_instance_id,
        region_id=eni.region_id,
        requester=requester,
        reason=reason.strip(),
        snapshot=fresh.facts(),
        remedy_for=remedy_for,
    )
    detach_request.full_clean(exclude=["network_interface", "requester", "remedy_for"])
    try:
        with transaction.atomic():
            detach_request.save(force_insert=True)
            record(
                Action.DETACH_REQUESTED,
                actor=requester,
                eni_id=eni.eni_id,
                instance_id=detach_request.instance_id,
                region_id=eni.region_id,
                after={"detach_request": detach_request.pk, "snapshot": fresh.facts()},
                comment=detach_request.reason,
            )
            transaction.on_commit(lambda: notifications.new_request(detach_request))
    except IntegrityError as error:
        # The partial unique index: another request for this ENI opened meanwhile.
        raise DetachRefused("A detach request for it is already open.") from error
    return detach_request


@dataclass
class Outcome:
    eni_id: str
    detach_request: DetachRequest | None = None
    reasons: list[str] = field(default_factory=list)
    error: EnsError | None = None


def request_detaches(
    *, eni_ids: list[str], requester: Any, reason: str, client: EnsClient
) -> list[Outcome]:
    """One request per ENI with the same reason; each succeeds or fails on its own."""
    enis = {eni.eni_id: eni for eni in NetworkInterface.objects.filter(eni_id__in=eni_ids)}
    outcomes = []
    for eni_id in dict.fromkeys(eni_ids):
        outcome = Outcome(eni_id)
        eni = enis.get(eni_id)
        if eni is None:
            outcome.reasons = ["The dashboard does not know this network interface."]
        else:
            try:
                outcome.detach_request = request_detach(
                    eni=eni, requester=requester, reason=reason, client=client
                )
            except DetachRefused as refused:
                outcome.reasons = refused.reasons
            except EnsError as error:
                outcome.error = error
        outcomes.append(outcome)
    return outcomes


# Deciding ------------------------------------------------------------------------------------


@dataclass
class Review:
    """A pending request next to the state read from ENS now."""

    detach_request: DetachRequest
    fresh: dict[str, str] | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    error: EnsError | None = None


def review(*, detach_request: DetachRequest, client: EnsClient) -> Review:
    result = Review(detach_request)
    try:
        fresh = _fresh(detach_request, client)
    except EnsError as error:
        result.error = error
        return result
    result.fresh = fresh.facts()
    result.changes = diff_states(detach_request.snapshot, result.fresh)
    result.blockers = eligibility.detach_blockers(fresh)
    return result


def approve_detach(
    *, detach_request: DetachRequest, approver: Any, comment: str = "", client: EnsClient
) -> DetachRequest:
    """Approve after a fresh read; a changed state voids the request instead (see .changes)."""
    if approver.pk == detach_request.requester_id:
        raise DetachRefused(
            "You made this request, so you cannot approve it: another Approver must."
        )
    if detach_request.status != Status.PENDING:
        raise AlreadyHandled(detach_request)
    checked = review(detach_request=detach_request, client=client)
    if checked.error is not None:
        raise checked.error
    if checked.changes or checked.blockers:
        with transaction.atomic():
            if not detach_request.void(
                changes=checked.changes, reasons=checked.blockers, actor=approver
            ):
                raise AlreadyHandled(detach_request)
            _notify_requester(detach_request)
        return detach_request
    with transaction.atomic():
        if not detach_request.approve(by=approver, comment=comment):
            raise AlreadyHandled(detach_request)
        _notify_requester(detach_request)
    return detach_request


def reject_detach(*, detach_request: DetachRequest, approver: Any, comment: str) -> DetachRequest:
    with transaction.atomic():
        if not detach_request.reject(by=approver, comment=comment):
            raise AlreadyHandled(detach_request)
        _notify_requester(detach_request)
    return detach_request


def cancel_detach(*, detach_request: DetachRequest, requester: Any) -> DetachRequest:
    if not detach_request.cancel(by=requester):
        raise AlreadyHandled(detach_request)
    return detach_request


def expire_detach_requests(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    expired = 0
    stale = DetachRequest.objects.pending_too_long(now) | DetachRequest.objects.approved_too_long(
        now
    )
    for detach_request in stale.select_related("approver", "requester")[:BATCH]:
        with transaction.atomic():
            if detach_request.expire():
                expired += 1
                _notify_requester(detach_request)
    return expired


# Executing -----------------------------------------------------------------------------------


def execute_detach(*, detach_request: DetachRequest, client: EnsClient, worker: str) -> bool:
    """Claim an approved request and send DetachNetworkInterface once; False if another won."""
    if not detach_request.claim(worker=worker):
        return False
    _submit(detach_request, client)
    return True


def recover_abandoned(*, client: EnsClient, worker: str, now: datetime | None = None) -> int:
    """Finish submissions whose worker died: send if ENS was never called, else read the state."""
    recovered = 0
    abandoned = DetachRequest.objects.abandoned_submissions(now or timezone.now())
    for detach_request in abandoned.select_related("approver", "requester")[:BATCH]:
        if not detach_request.reclaim(worker=worker):
            continue
        recovered += 1
        if detach_request.called_at is None:
            _submit(detach_request, client)
        else:
            _resolve_by_reading(detach_request, client, error=None)
    return recovered


def follow_detach(
    *, detach_request: DetachRequest, client: EnsClient, now: datetime | None = None
) -> DetachRequest:
    """Read a detaching ENI (at most once per ENS_REFRESH_SECONDS) and move the request on."""
    now = now or timezone.now()
    if not detach_request.claim_refresh(now):
        return detach_request
    try:
        eni = client.get_network_interface(detach_request.eni_id)
    except EnsError as error:
        log.warning("Could not read %s: %s", detach_request.eni_id, error)
        return detach_request
    with transaction.atomic():
        if eni is None:
            detach_request.mark_failed(code="InvalidEniId.NotFound", sentence=VANISHED)
        elif eni.status == EniStatus.AVAILABLE or not eni.instance_id:
            _observe(detach_request, status=eni.status, instance_id=eni.instance_id)
            detach_request.mark_succeeded()
        elif eni.status == EniStatus.DETACHING:
            stuck_after = timedelta(seconds=settings.DETACH_STUCK_AFTER)
            if detach_request.detaching_at and now - detach_request.detaching_at >= stuck_after:
                detach_request.mark_stuck()
        else:
            _observe(detach_request, status=eni.status, instance_id=eni.instance_id)
            detach_request.mark_failed(code="", sentence=IN_USE_AGAIN)
        if not detach_request.is_open:
            _notify_requester(detach_request)
    return detach_request


def run_detach_work(
    *,
    client: EnsClient,
    worker: str,
    on_progress: Callable[[], None] = lambda: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """One worker tick of detach work: expiry, dead workers' leftovers, new calls, follow-ups.

    Each request may wait on ENS (its retries, its timeouts): `on_progress` is called after
    each, and the tick ends early, between two requests, once `should_stop` says so.
    """
    now = timezone.now()
    expire_detach_requests(now=now)
    recover_abandoned(client=client, worker=worker, now=now)
    approved = DetachRequest.objects.filter(status=Status.APPROVED).order_by("approved_at")
    for detach_request in approved.select_related("approver", "requester")[:BATCH]:
        if should_stop():
            return
        execute_detach(detach_request=detach_request, client=client, worker=worker)
        on_progress()
    detaching = DetachRequest.objects.due_for_refresh(timezone.now()).order_by("refreshed_at")
    for detach_request in detaching.select_related("approver", "requester")[:BATCH]:
        if should_stop():
            return
        follow_detach(detach_request=detach_request, client=client)
        on_progress()


def _submit(detach_request: DetachRequest, client: EnsClient) -> None:
    try:
        fresh = _fresh(detach_request, client)
    except EnsError as error:
        # ENS was not called: hand the request back, the next tick tries again (until the
        # execute window closes and it expires). The same error on every tick is one event.
        known = detach_request.error_code
        with transaction.atomic():
            released = detach_request.release(
                code=error.code,
                sentence=error.operator_message,
                detail=error.message,
                request_id=error.request_id,
            )
            if released and error.code != known:
                _record_cloud_error(detach_request, error)
        return
    changes = diff_states(detach_request.snapshot, fresh.facts())
    blockers = eligibility.detach_blockers(fresh)
    if changes or blockers:
        with transaction.atomic():
            if detach_request.void(changes=changes, reasons=blockers):
                _notify_requester(detach_request)
        return
    if not detach_request.mark_calling():
        return
    try:
        result = client.detach_network_interface(detach_request.eni_id)
    except OutcomeUnknown as error:
        _resolve_by_reading(detach_request, client, error=error)
        return
    except EnsError as error:
        if error.category is Category.TRANSIENT:
            # ENS says it may not have been carried out: only the state can tell.
            _resolve_by_reading(detach_request, client, error=error)
        else:
            _fail(detach_request, error)
        return
    with transaction.atomic():
        if detach_request.mark_detaching(request_id=result.request_id):
            _observe(
                detach_request,
                status=EniStatus.DETACHING,
                instance_id=detach_request.instance_id,
            )


def _resolve_by_reading(
    detach_request: DetachRequest, client: EnsClient, *, error: EnsError | None
) -> None:
    """After a call whose answer is unknown: what ENS shows now says whether it went through.

    Detaching or Available: it went through. Still in use right after the call: ENS may yet
    carry it out, so the request stays submitting and is read again once the lease has run
    out; still in use then, it did not go through. If ENS cannot even be read, the request
    stays submitting too. It never sends the detach a second time.
    """
    try:
        eni = client.get_network_interface(detach_request.eni_id)
    except EnsError as read_error:
        log.warning("Could not resolve detach #%s: %s", detach_request.pk, read_error)
        return
    # After a takeover, the first attempt's RequestId, if ENS gave one.
    request_id = error.request_id if error else detach_request.error_request_id
    lost = "The call's answer was lost" if error else "The worker stopped before recording"
    with transaction.atomic():
        if eni is None:
            detach_request.mark_failed(code="InvalidEniId.NotFound", sentence=VANISHED)
        elif eni.status == EniStatus.DETACHING:
            detach_request.mark_detaching(
                request_id=request_id, how=f"{lost}; ENS shows it Detaching, so it went through."
            )
            _observe(detach_request, status=eni.status, instance_id=eni.instance_id)
        elif eni.status == EniStatus.AVAILABLE or not eni.instance_id:
            _observe(detach_request, status=eni.status, instance_id=eni.instance_id)
            detach_request.mark_succeeded(
                request_id=request_id, how=f"{lost}; ENS shows it Available, so it went through."
            )
        elif error is not None:
            # Still in use right after the call: ENS may carry it out a little later. The
            # request waits, with what is known, for the read after the lease to decide.
            noted = detach_request.note_unclear(
                code=error.code,
                sentence=error.operator_message,
                detail=error.message,
                request_id=error.request_id,
            )
            if noted and error.category is not Category.OUTCOME_UNKNOWN:
                _record_cloud_error(detach_request, error)
            return
        elif timezone.now() - detach_request.called_at < SUBMIT_LEASE:
            # Taken over from a worker that stalled and called ENS only just now: the same.
            detach_request.note_unclear(
                sentence=detach_request.error_message, **_unclear_so_far(detach_request)
            )
            return
        else:  # still in use a lease after the call, or after a worker stopped: not through
            detach_request.mark_failed(sentence=NOT_THROUGH, **_unclear_so_far(detach_request))
        _notify_requester(detach_request)


def _unclear_so_far(detach_request: DetachRequest) -> dict[str, str]:
    """What an earlier attempt left on a submission taken over: its error, if it noted one."""
    return {
        "code": detach_request.error_code or OUTCOME_UNKNOWN,
        "detail": detach_request.error_detail or "The worker stopped after sending the call.",
        "request_id": detach_request.error_request_id,
    }


def _fail(detach_request: DetachRequest, error: EnsError) -> None:
    with transaction.atomic():
        detach_request.mark_failed(
            code=error.code,
            sentence=error.operator_message,
            detail=error.message,
            request_id=error.request_id,
        )
        _record_cloud_error(detach_request, error)
        if error.category is Category.SERVICE_MANAGED:
            _learn_service_managed(detach_request, error)
        _notify_requester(detach_request)


def _learn_service_managed(detach_request: DetachRequest, error: EnsError) -> None:
    if NetworkInterface.objects.filter(pk=detach_request.network_interface_id).update(
        service_managed=True
    ):
        record(
            Action.SERVICE_MANAGED_LEARNED,
            eni_id=detach_request.eni_id,
            instance_id=detach_request.instance_id,
            region_id=detach_request.region_id,
            request_id=error.request_id,
            after={"service_managed": True},
            comment=error.message,
        )


def _record_cloud_error(detach_request: DetachRequest, error: EnsError) -> None:
    record(
        Action.CLOUD_ERROR,
        on_behalf_of=detach_request.approver,
        eni_id=detach_request.eni_id,
        instance_id=detach_request.instance_id,
        region_id=detach_request.region_id,
        request_id=error.request_id,
        outcome=error.code,
        after={"action": error.action, "code": error.code, "message": error.message},
        comment=error.operator_message,
    )


def _observe(detach_request: DetachRequest, *, status: str, instance_id: str) -> None:
    """Bring the mirror row up to what the worker saw. Its fingerprint is cleared: it described
    the state the last sync saw, and the cloud may go back to that state (the ENI attached
    again) without the next sync noticing."""
    # The audit chain's lock before the row's, the order in which the sync takes them.
    serialise_appends()
    eni = NetworkInterface.objects.filter(pk=detach_request.network_interface_id).first()
    if eni is None or (eni.status, eni.attached_instance_id) == (status, instance_id):
        return
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "attached_instance_id": instance_id}
    if eni.status != status:
        fields["status_changed_at"] = now
    if not instance_id:
        fields["instance"] = None
    NetworkInterface.objects.filter(pk=eni.pk).update(changed_at=now, fingerprint="", **fields)
    record(
        Action.ENI_STATE_OBSERVED,
        on_behalf_of=detach_request.approver,
        eni_id=eni.eni_id,
        instance_id=instance_id or eni.attached_instance_id,
        region_id=eni.region_id,
        before={"status": eni.status, "attached_instance_id": eni.attached_instance_id},
        after={"status": status, "attached_instance_id": instance_id},
        comment=f"Seen while following detach #{detach_request.pk}.",
    )


def _fresh(detach_request: DetachRequest, client: EnsClient) -> eligibility.DetachState:
    service_managed = (
        NetworkInterface.objects.filter(pk=detach_request.network_interface_id)
        .values_list("service_managed", flat=True)
        .first()
    )
    return eligibility.fresh_state(
        client,
        detach_request.eni_id,
        service_managed=bool(service_managed),
        retrying_stuck=detach_request.remedy_for_id is not None,
    )


def _notify_requester(detach_request: DetachRequest) -> None:
    transaction.on_commit(lambda: notifications.decision_or_outcome(detach_request))
