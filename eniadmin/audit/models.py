from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

OUTCOME_OK = "ok"
SYSTEM_ACTOR_NAME = "system"
ANONYMOUS_ACTOR_NAME = "anonymous"


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or remove an audit event outside the retention purge."""


class Action(models.TextChoices):
    LOGIN = "login", "Logged in"
    LOGIN_FAILED = "login_failed", "Login failed"
    LOGIN_LOCKED_OUT = "login_locked_out", "Login locked out"
    LOGOUT = "logout", "Logged out"
    SYNC_REQUESTED = "sync_requested", "Sync requested"
    SYNC_STARTED = "sync_started", "Sync started"
    SYNC_FINISHED = "sync_finished", "Sync finished"
    SYNC_FAILED = "sync_failed", "Sync failed"
    DETACH_REQUESTED = "detach_requested", "Detach requested"
    DETACH_APPROVED = "detach_approved", "Detach approved"
    DETACH_REJECTED = "detach_rejected", "Detach rejected"
    DETACH_CANCELLED = "detach_cancelled", "Detach cancelled"
    DETACH_EXPIRED = "detach_expired", "Detach request expired"
    DETACH_VOIDED = "detach_voided", "Detach request voided"
    DETACH_TAKEN_OVER = "detach_taken_over", "Detach submission taken over"
    DETACH_SUBMITTED = "detach_submitted", "Detach submitted to the cloud"
    DETACH_SUCCEEDED = "detach_succeeded", "Detach succeeded"
    DETACH_FAILED = "detach_failed", "Detach failed"
    DETACH_STUCK = "detach_stuck", "Detach stuck"
    CLOUD_ERROR = "cloud_error", "Cloud API error"
    ENI_STATE_OBSERVED = "eni_state_observed", "ENI state observed"
    EXTERNAL_CHANGE = "external_change", "Changed outside eniadmin"
    SERVICE_MANAGED_LEARNED = "service_managed_learned", "Learned the ENI is service-managed"
    AUDIT_EXPORTED = "audit_exported", "Audit history exported"
    AUDIT_PURGED = "audit_purged", "Old audit events purged"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    # Bulk changes bypass save(), so they are refused here as well. The retention purge and
    # Django's ON DELETE SET NULL go through the plain base manager instead.
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be deleted; purge_audit removes old ones.")

    def for_eni(self, eni_id: str) -> AuditEventQuerySet:
        """One ENI's timeline, oldest first."""
        return self.filter(eni_id=eni_id).order_by("id")

    def newest_first(self) -> AuditEventQuerySet:
        # Ids follow the chain, which appends in commit order; times may repeat.
        return self.order_by("-id")

    def by_actor(self, name: str) -> AuditEventQuerySet:
        """Events done by this user, or done by the system on their behalf."""
        return self.filter(Q(actor_name=name) | Q(on_behalf_of_name=name))

    def with_outcome(self, outcome: str) -> AuditEventQuerySet:
        """ "error" matches every failure; anything else is one exact outcome code."""
        if outcome == "error":
            return self.exclude(outcome=OUTCOME_OK)
        return self.filter(outcome=outcome)

    def created_between(self, first_day: date | None, last_day: date | None) -> AuditEventQuerySet:
        """Events from the start of `first_day` to the end of `last_day`, both in UTC."""
        events = self
        if first_day is not None:
            events = events.filter(created__gte=_start_of_utc_day(first_day))
        # The last day a date can hold has no next day to end before: it bounds nothing.
        if last_day is not None and last_day < date.max:
            events = events.filter(created__lt=_start_of_utc_day(last_day + timedelta(days=1)))
        return events

    def search(self, text: str) -> AuditEventQuerySet:
        return self.filter(
            Q(comment__icontains=text)
            | Q(eni_id__icontains=text)
            | Q(instance_id__icontains=text)
            | Q(region_id__icontains=text)
            | Q(request_id__icontains=text)
            | Q(actor_name__icontains=text)
            | Q(on_behalf_of_name__icontains=text)
        )


def _start_of_utc_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class AuditEvent(models.Model):
    """Who did what to which ENI, when, from where and with what result.

    Rows are only ever appended, by `eniadmin.audit.events.record()`, each one hash-chained to
    the one before (see chain.py). Nothing changes them afterwards.
    """

    created = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    # Copies of the usernames: the history must still say who it was once the user is gone.
    actor_name = models.CharField(max_length=150, db_index=True)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The user whose decision background work carried out, such as the approver.",
    )
    on_behalf_of_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    eni_id = models.CharField("ENI", max_length=64, blank=True, db_index=True)
    instance_id = models.CharField("instance", max_length=64, blank=True, db_index=True)
    region_id = models.CharField("region", max_length=64, blank=True, db_index=True)
    request_id = models.CharField(
        "RequestId", max_length=64, blank=True, help_text="The ENS RequestId of the cloud call."
    )
    outcome = models.CharField(
        max_length=64, default=OUTCOME_OK, help_text='"ok", or the error code.'
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="The reason or comment given.")
    client_ip = models.GenericIPAddressField("client IP", null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    correlation_id = models.UUIDField(
        db_index=True, help_text="Shared by every event of one HTTP request or worker job."
    )
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        default_permissions = ("view",)
        constraints = [
            # The chain cannot fork, whatever a writer does: no two events follow the same one.
            models.UniqueConstraint(fields=["previous_hash"], name="audit_one_successor_per_event"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.actor_name} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed once written.")
        if not self.hash:
            raise AppendOnlyError("Write audit events with eniadmin.audit.events.record().")
        # Always an INSERT: a new instance given an existing id would otherwise UPDATE its row.
        super().save(*args, **{**kwargs, "force_insert": True})

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be deleted; purge_audit removes old ones.")

    @property
    def succeeded(self) -> bool:
        return self.outcome == OUTCOME_OK

    @property
    def before_json(self) -> str:
        return json.dumps(self.before, indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def after_json(self) -> str:
        return json.dumps(self.after, indent=2, sort_keys=True, ensure_ascii=False)
