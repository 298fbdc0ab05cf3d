from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from eniadmin.inventory.models import SyncRun, WorkerHeartbeat


def fleet_status(request: HttpRequest) -> dict[str, object]:
    """For the header: when the inventory was last synced, and whether a worker is alive.
    Queried only when a page shows them."""

    def status() -> dict[str, object]:
        latest = SyncRun.objects.latest_succeeded()
        return {
            "last_synced_at": latest.finished_at if latest else None,
            "worker_alive": WorkerHeartbeat.objects.alive().exists(),
        }

    return {"fleet_status": SimpleLazyObject(status)}
