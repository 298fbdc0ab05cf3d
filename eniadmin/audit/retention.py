"""Removing events past the retention period without breaking the chain's verifiability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Max, Min

from eniadmin.audit.events import record, serialise_appends
from eniadmin.audit.models import Action, AuditEvent


@dataclass(frozen=True)
class PurgePlan:
    cutoff: datetime
    count: int
    first_id: int | None
    last_id: int | None

    def describe(self) -> str:
        if not self.count:
            return f"no event is older than {self.cutoff:%Y-%m-%d %H:%M} UTC"
        return (
            f"{self.count} events, #{self.first_id} to #{self.last_id}, "
            f"older than {self.cutoff:%Y-%m-%d %H:%M} UTC"
        )


def purge_plan(cutoff: datetime) -> PurgePlan:
    """The events a purge at `cutoff` removes: the oldest part of the chain, never a gap in it.

    It stops at the first event (by id) that is still within retention, so an event with an
    older time behind it (a clock step back) is kept a little longer rather than cut out.
    """
    first_kept = AuditEvent.objects.filter(created__gte=cutoff).order_by("id").values("id").first()
    doomed = AuditEvent.objects.all()
    if first_kept is not None:
        doomed = doomed.filter(id__lt=first_kept["id"])
    totals = doomed.aggregate(count=Count("id"), first_id=Min("id"), last_id=Max("id"))
    return PurgePlan(cutoff=cutoff, **totals)


def purge_before(cutoff: datetime) -> tuple[PurgePlan, AuditEvent | None]:
    """Remove the events before `cutoff` and append a checkpoint event describing the removal.

    The checkpoint carries the hash of the last removed event, so verify_audit can accept
    exactly that break at the start of the remaining chain. Returns None as the checkpoint
    when there was nothing to remove.
    """
    with transaction.atomic():
        # Hold the append lock first, so the plan and the checkpoint see the same chain.
        serialise_appends()
        plan = purge_plan(cutoff)
        if not plan.count:
            return plan, None
        last_removed = AuditEvent.objects.values("id", "hash", "created").get(id=plan.last_id)
        _allow_deletes_in_this_transaction()
        # The base manager's plain queryset: the default one refuses deletes on purpose.
        AuditEvent._base_manager.filter(id__lte=plan.last_id).delete()
        _refuse_deletes_again()
        checkpoint = record(
            Action.AUDIT_PURGED,
            after={
                "removed_count": plan.count,
                "first_removed_id": plan.first_id,
                "last_removed_id": plan.last_id,
                "last_removed_hash": last_removed["hash"],
                "last_removed_created": last_removed["created"].isoformat(),
                "cutoff": cutoff.isoformat(),
            },
            comment=f"Removed {plan.describe()}.",
        )
    return plan, checkpoint


def purge_checkpoints() -> dict[str, int]:
    """Hash of the last event each remaining checkpoint removed, mapped to that event's id."""
    checkpoints = AuditEvent.objects.filter(action=Action.AUDIT_PURGED).values_list(
        "after", flat=True
    )
    return {
        after["last_removed_hash"]: after["last_removed_id"]
        for after in checkpoints
        if isinstance(after, dict) and "last_removed_hash" in after
    }


# On PostgreSQL a trigger refuses DELETE on the table unless this transaction-local setting is
# on (migration 0002); SET LOCAL ends with the transaction even if something below fails.
def _allow_deletes_in_this_transaction() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL eniadmin.audit_purge = 'on'")


def _refuse_deletes_again() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL eniadmin.audit_purge = 'off'")
