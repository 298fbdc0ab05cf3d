from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.context_processors import add_header_count, fleet_status_of

BADGE = "detach_pending_count"


def review_queue(request: HttpRequest) -> dict[str, object]:
    """Pending requests of others for the Approvers' nav badge, counted only if the header shows
    it, and then within the header's one status query."""

    def pending_of_others() -> QuerySet[DetachRequest]:
        return DetachRequest.objects.pending().exclude(requester=request.user)

    def counted() -> QuerySet[DetachRequest] | None:
        if not request.user.has_perm("accounts.decide_detach"):
            return None
        return pending_of_others()

    def count() -> int:
        if not request.user.has_perm("accounts.decide_detach"):
            return 0
        counts = fleet_status_of(request).counts
        if BADGE in counts:
            return counts[BADGE]
        # The status was read before this processor ran (a view that needed it early).
        return pending_of_others().count()

    add_header_count(request, BADGE, counted)
    return {BADGE: SimpleLazyObject(count)}
