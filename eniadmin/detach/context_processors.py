from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from eniadmin.detach.models import DetachRequest


def review_queue(request: HttpRequest) -> dict[str, object]:
    """Pending requests for the Approvers' nav badge, counted only if the header shows it."""

    def count() -> int:
        if not request.user.has_perm("accounts.decide_detach"):
            return 0
        return DetachRequest.objects.pending().exclude(requester=request.user).count()

    return {"detach_pending_count": SimpleLazyObject(count)}
