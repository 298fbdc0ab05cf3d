"""Detach requests: one Operator's wish to detach one secondary ENI, and its way to the cloud.

Every transition is a conditional UPDATE on the expected old status, so two approvers, two
workers or a worker and an expiry can never both win; the loser sees 0 rows and says so. Each
transition writes its audit event in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from eniadmin.audit.events import record
from eniadmin.audit.models import Action
from eniadmin.inventory.models import NetworkInterface

REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 1000
COMMENT_MAX_LENGTH = 1000

# The live facts a request was made on; a change in any of them voids it.
SNAPSHOT_FIELDS = {
    "eni_status": "ENI status",
    "eni_type": "ENI type",
    "attached_instance_id": "attached instance",
    "instance_status": "instance status",
}


class Status(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    SUBMITTING = "submitting", "Submitting"
    DETACHING = "detaching", "Detaching"
    SUCCEEDED = "succeeded", "Detached"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    VOIDED = "voided", "Voided"
    FAILED = "failed", "Failed"
    STUCK = "stuck", "Stuck"


OPEN_STATUSES = (Status.PENDING, Status.APPROVED, Status.SUBMITTING, Status.DETACHING)
# The cloud is (or may be) working on it: the UI watches these closely.
IN_FLIGHT_STATUSES = (Status.APPROVED, Status.SUBMITTING, Status.DETACHING)
# Before ENS is called: a fresh read that finds the ENI changed voids the request.
VOIDABLE = (Status.PENDING, Status.APPROVED, Status.SUBMITTING)
# After the call (or while it may have been made): what ENS shows ends the request.
FOLLOWED = (Status.SUBMITTING, Status.DETACHING)


def error_fields(
    code: str, sentence: str, detail: str = "", request_id: str = ""
) -> dict[str, str]:
    """A request's error columns: the ENS code, the operator's sentence, the details, and the
    RequestId of the answer."""
    return {
        "error_code": code,
        "error_message": sentence,
        "error_detail": detail,
        "error_request_id": request_id,
    }


# Once ENS is called, or shown to have carried the detach out, an earlier error is no longer
# the request's story.
NO_ERROR = error_fields("", "")


# A submit (fresh reads, one call, one read to resolve) finishes well within this, even with
# the client's retries; a submission older than it belongs to a dead worker.
SUBMIT_LEASE = timedelta(minutes=2)


class DetachRequestQuerySet(models.QuerySet["DetachRequest"]):
    def open(self) -> DetachRequestQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def pending(self) -> DetachRequestQuerySet:
        return self.filter(status=Status.PENDING)

    def with_people(self) -> DetachRequestQuerySet:
        return self.select_related("requester", "approver")

    def pending_too_long(self, now: datetime) -> DetachRequestQuerySet:
        ttl = timedelta(seconds=settings.DETACH_REQUEST_TTL)
        return self.filter(status=Status.PENDING, created_at__lt=now - ttl)

    def approved_too_long(self, now: datetime) -> DetachRequestQuerySet:
        window = timedelta(seconds=settings.DETACH_EXECUTE_WINDOW)
        return self.filter(status=Status.APPROVED, approved_at__lt=now - window)

    def abandoned_submissions(self, now: datetime) -> DetachRequestQuerySet:
        """Claimed by a worker that has not finished within the lease: it died or hung."""
        return self.filter(status=Status.SUBMITTING, submitted_at__lt=now - SUBMIT_LEASE)

    def due_for_refresh(self, now: datetime) -> DetachRequestQuerySet:
        every = timedelta(seconds=settings.ENS_REFRESH_SECONDS)
        return self.filter(status=Status.DETACHING).filter(
            Q(refreshed_at__isnull=True) | Q(refreshed_at__lte=now - every)
        )


class DetachRequest(models.Model):
    Status = Status

    network_interface = models.ForeignKey(
        NetworkInterface, on_delete=models.PROTECT, related_name="detach_requests"
    )
    # Copies, so the request still says what it was about if the mirror row changes.
    eni_id = models.CharField(max_length=64, db_index=True)
    instance_id = models.CharField(max_length=64)
    region_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="detach_requests_made"
    )
    reason = models.TextField(
        validators=[MinLengthValidator(REASON_MIN_LENGTH), MaxLengthValidator(REASON_MAX_LENGTH)]
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="detach_requests_decided",
    )
    decision_comment = models.TextField(blank=True, max_length=COMMENT_MAX_LENGTH)
    # The live state when it was requested (see SNAPSHOT_FIELDS), and what differed when it
    # was voided: [{"field", "label", "before", "after"}].
    snapshot = models.JSONField(default=dict)
    changes = models.JSONField(default=list, blank=True)
    # A new request offered as the remedy for a stuck one.
    remedy_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remedies"
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Set, and committed, right before DetachNetworkInterface is sent: a submission found
    # abandoned without it never reached ENS and may be sent; with it, only reading tells.
    called_at = models.DateTimeField(null=True, blank=True)
    detaching_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the status last changed: the elapsed time and the poll interval count from here.
    changed_at = models.DateTimeField(default=timezone.now)
    # When the cloud was last asked about the ENI for this request (claimed by conditional
    # UPDATE, so however many workers run, one asks per ENS_REFRESH_SECONDS).
    refreshed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=128, blank=True)
    observed_eni_status = models.CharField(max_length=32, blank=True)

    ens_request_id = models.CharField(max_length=128, blank=True)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    error_request_id = models.CharField(max_length=128, blank=True)

    objects = DetachRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["network_interface"],
                condition=Q(status__in=[status.value for status in OPEN_STATUSES]),
                name="detach_one_open_request_per_eni",
            ),
            models.CheckConstraint(
                condition=Q(approver__isnull=True) | ~Q(approver=F("requester")),
                name="detach_approver_is_not_requester",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="detach_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"detach #{self.pk} {self.eni_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("detach:request-detail", args=[self.pk])

    def clean(self) -> None:
        if self.approver_id is not None and self.approver_id == self.requester_id:
            raise ValidationError("Nobody may approve their own detach request.")
        if self.status == Status.REJECTED and not self.decision_comment.strip():
            raise ValidationError({"decision_comment": "A rejection needs a comment."})

    # Reading -----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATUSES

    @property
    def expires_at(self) -> datetime | None:
        if self.status == Status.PENDING:
            return self.created_at + timedelta(seconds=settings.DETACH_REQUEST_TTL)
        if self.status == Status.APPROVED and self.approved_at:
            return self.approved_at + timedelta(seconds=settings.DETACH_EXECUTE_WINDOW)
        return None

    def poll_seconds(self, now: datetime | None = None) -> int | None:
        """How often the card should ask again; None at a final state, so polling stops."""
        if not self.is_open:
            return None
        return poll_interval(self.changed_at, now)

    # Transitions -------------------------------------------------------------------------------

    def _move(self, to: Status, *, expected: tuple[Status, ...], **fields: Any) -> bool:
        """Conditional UPDATE from one of the expected statuses; False when another got there.

        Runs inside the caller's transaction, which also holds the audit event.
        """
        now = timezone.now()
        fields = {"changed_at": now, **fields}
        movable = Q(status__in=[status for status in expected if status != Status.SUBMITTING])
        if Status.SUBMITTING in expected:
            # Only the worker holding the claim moves a submission on: a worker that took it
            # over (the first one had stalled past the lease) may be calling ENS right now.
            movable |= Q(status=Status.SUBMITTING, claimed_by=self.claimed_by)
        changed = DetachRequest.objects.filter(movable, pk=self.pk).update(status=to, **fields)
        if changed:
            self.status = to
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(changed)

    def _as_read(self, statuses: tuple[Status, ...]) -> tuple[Status, ...]:
        """Of `statuses`, the one this request was read in: its reader's decision holds for
        that state only (a worker's for its submission, the follow-up's for a detaching ENI)."""
        return (self.status,) if self.status in statuses else ()

    def _record(self, action: Action, **kwargs: Any) -> None:
        record(
            action,
            eni_id=self.eni_id,
            instance_id=self.instance_id,
            region_id=self.region_id,
            after={"detach_request": self.pk, "status": self.status, **kwargs.pop("after", {})},
            **kwargs,
        )

    @transaction.atomic
    def approve(self, *, by: Any, comment: str = "") -> bool:
        if by.pk == self.requester_id:
            raise ValidationError("Nobody may approve their own detach request.")
        now = timezone.now()
        if not self._move(
            Status.APPROVED,
            expected=(Status.PENDING,),
            approver=by,
            decision_comment=comment,
            decided_at=now,
            approved_at=now,
        ):
            return False
        self._record(Action.DETACH_APPROVED, actor=by, comment=comment)
        return True

    @transaction.atomic
    def reject(self, *, by: Any, comment: str) -> bool:
        if not comment.strip():
            raise ValidationError("A rejection needs a comment.")
        if by.pk == self.requester_id:
            raise ValidationError("Nobody may decide on their own detach request; cancel it.")
        if not self._move(
            Status.REJECTED,
            expected=(Status.PENDING,),
            approver=by,
            decision_comment=comment,
            decided_at=timezone.now(),
            finished_at=timezone.now(),
        ):
            return False
        self._record(Action.DETACH_REJECTED, actor=by, comment=comment)
        return True

    @transaction.atomic
    def cancel(self, *, by: Any) -> bool:
        if by.pk != self.requester_id:
            raise ValidationError("Only the requester may cancel a detach request.")
        if not self._move(Status.CANCELLED, expected=(Status.PENDING,), finished_at=timezone.now()):
            return False
        self._record(Action.DETACH_CANCELLED, actor=by)
        return True

    @transaction.atomic
    def expire(self) -> bool:
        was = self.status
        if not self._move(
            Status.EXPIRED, expected=(Status.PENDING, Status.APPROVED), finished_at=timezone.now()
        ):
            return False
        self._record(
            Action.DETACH_EXPIRED,
            on_behalf_of=self.approver,
            comment=(
                "Nobody decided within DETACH_REQUEST_TTL."
                if was == Status.PENDING
                else "Not executed within DETACH_EXECUTE_WINDOW after approval."
            ),
        )
        return True

    @transaction.atomic
    def void(self, *, changes: list[dict[str, str]], reasons: list[str], actor: Any = None) -> bool:
        """An Approver's review voids a pending request, not one approved meanwhile; a
        worker's, its own submission."""
        if not self._move(
            Status.VOIDED,
            expected=self._as_read(VOIDABLE),
            changes=changes,
            error_message=" ".join(reasons),
            finished_at=timezone.now(),
        ):
            return False
        self._record(
            Action.DETACH_VOIDED,
            actor=actor,
            on_behalf_of=None if actor else self.approver,
            before=self.snapshot,
            after={"changes": changes, "reasons": reasons},
            comment=describe_changes(changes) or " ".join(reasons),
        )
        return True

    def claim(self, *, worker: str) -> bool:
        """approved → submitting: the one worker that wins this calls ENS."""
        with transaction.atomic():
            return self._move(
                Status.SUBMITTING,
                expected=(Status.APPROVED,),
                submitted_at=timezone.now(),
                claimed_by=worker,
            )

    @transaction.atomic
    def reclaim(self, *, worker: str) -> bool:
        """Take over a submission whose worker died; only one worker can win it."""
        now = timezone.now()
        # As it was read: a worker that was only slow may have called ENS since, and a request
        # read as never called would then be sent twice. Then the next look reads its state.
        changed = DetachRequest.objects.filter(
            pk=self.pk,
            status=Status.SUBMITTING,
            submitted_at=self.submitted_at,
            called_at=self.called_at,
        ).update(submitted_at=now, claimed_by=worker)
        if not changed:
            return False
        previous, self.submitted_at, self.claimed_by = self.claimed_by, now, worker
        self._record(
            Action.DETACH_TAKEN_OVER,
            on_behalf_of=self.approver,
            after={"worker": worker, "from_worker": previous},
            comment=(
                f"{previous or 'A worker'} did not finish within the lease; {worker} "
                + (
                    "reads what ENS shows, as the call had been sent."
                    if self.called_at
                    else "checks the interface and sends the call, as it had not been sent."
                )
            ),
        )
        return True

    def release(self, *, code: str, sentence: str, detail: str = "", request_id: str = "") -> bool:
        """submitting → approved when ENS was never called (a failed read before the call).
        The read's error stays on the request, for its page to say why nothing happens yet."""
        with transaction.atomic():
            return self._move(
                Status.APPROVED,
                expected=(Status.SUBMITTING,),
                called_at=None,
                claimed_by="",
                **error_fields(code, sentence, detail, request_id),
            )

    def mark_calling(self) -> bool:
        """Recorded before the call: from here on, ENS may have carried it out."""
        return self._update_submission(called_at=timezone.now(), **NO_ERROR)

    def note_unclear(self, *, code: str, sentence: str, detail: str, request_id: str) -> bool:
        """The call's answer was unclear and ENS still shows the ENI in use: ENS may carry it
        out a little later, its state changing asynchronously. The request stays submitting
        with what is known, and the read once the lease has run out settles it."""
        return self._update_submission(**error_fields(code, sentence, detail, request_id))

    @property
    def settles_at(self) -> datetime | None:
        """When a submission left unclear is read again (by workflow.recover_abandoned)."""
        return self.submitted_at + SUBMIT_LEASE if self.submitted_at else None

    def _update_submission(self, **fields: Any) -> bool:
        """Fields of this worker's submission, while it holds it."""
        changed = DetachRequest.objects.filter(
            pk=self.pk, status=Status.SUBMITTING, claimed_by=self.claimed_by
        ).update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(changed)

    def mark_detaching(self, *, request_id: str, how: str = "") -> bool:
        now = timezone.now()
        if not self._move(
            Status.DETACHING,
            expected=(Status.SUBMITTING,),
            ens_request_id=request_id,
            detaching_at=now,
            refreshed_at=now,
            observed_eni_status="Detaching",
            **NO_ERROR,
        ):
            return False
        self._record(
            Action.DETACH_SUBMITTED,
            on_behalf_of=self.approver,
            request_id=request_id,
            after={"worker": self.claimed_by},
            comment=how,
        )
        return True

    def mark_succeeded(self, *, request_id: str = "", how: str = "") -> bool:
        fields: dict[str, Any] = {
            "finished_at": timezone.now(),
            "observed_eni_status": "Available",
            **NO_ERROR,
        }
        if request_id:
            fields["ens_request_id"] = request_id
        if not self._move(Status.SUCCEEDED, expected=self._as_read(FOLLOWED), **fields):
            return False
        self._record(
            Action.DETACH_SUCCEEDED,
            on_behalf_of=self.approver,
            request_id=self.ens_request_id,
            comment=how,
        )
        return True

    def mark_failed(
        self, *, code: str, sentence: str, detail: str = "", request_id: str = ""
    ) -> bool:
        if not self._move(
            Status.FAILED,
            expected=self._as_read(FOLLOWED),
            **error_fields(code, sentence, detail, request_id),
            finished_at=timezone.now(),
        ):
            return False
        self._record(
            Action.DETACH_FAILED,
            on_behalf_of=self.approver,
            request_id=request_id or self.ens_request_id,
            outcome=code or "error",
            comment=sentence,
            after={"error_code": code, "error_detail": detail},
        )
        return True

    def mark_stuck(self) -> bool:
        if not self._move(Status.STUCK, expected=(Status.DETACHING,), finished_at=timezone.now()):
            return False
        self._record(
            Action.DETACH_STUCK,
            on_behalf_of=self.approver,
            request_id=self.ens_request_id,
            outcome="stuck",
            comment=STUCK_REMEDY,
        )
        return True

    def claim_refresh(self, now: datetime) -> bool:
        """Whoever moves refreshed_at forward asks the cloud; everyone else waits their turn."""
        every = timedelta(seconds=settings.ENS_REFRESH_SECONDS)
        changed = (
            DetachRequest.objects.filter(pk=self.pk, status=Status.DETACHING)
            .filter(Q(refreshed_at__isnull=True) | Q(refreshed_at__lte=now - every))
            .update(refreshed_at=now)
        )
        return bool(changed)


STUCK_REMEDY = (
    "The network interface has stayed Detaching for longer than DETACH_STUCK_AFTER. The "
    "documented remedy: issue the detach again, then restart the instance."
)


def poll_interval(since: datetime, now: datetime | None = None) -> int:
    """2 s for the first minute of a state, then 10 s: quick when it matters, cheap after."""
    elapsed = ((now or timezone.now()) - since).total_seconds()
    return 2 if elapsed < 60 else 10


def diff_states(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, str]]:
    """What changed between two snapshots, in the fields that matter."""
    return [
        {
            "field": name,
            "label": label,
            "before": str(before.get(name) or ""),
            "after": str(after.get(name) or ""),
        }
        for name, label in SNAPSHOT_FIELDS.items()
        if (before.get(name) or "") != (after.get(name) or "")
    ]


def describe_changes(changes: list[dict[str, str]]) -> str:
    return "; ".join(
        f"{change['label']} was {change['before'] or 'none'}, now {change['after'] or 'none'}"
        for change in changes
    )
