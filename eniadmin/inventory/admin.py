"""Read-only admin views: the cloud is the source of truth, the mirror is never edited by hand."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from eniadmin.inventory.models import Instance, NetworkInterface, SyncRun, WorkerHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = ("instance_id", "name", "region_id", "status", "private_ips", "changed_at")
    list_filter = ("status", "region_id")
    search_fields = ("instance_id", "name", "private_ips", "public_ips")
    list_per_page = 50


@admin.register(NetworkInterface)
class NetworkInterfaceAdmin(ReadOnlyAdmin):
    list_display = ("eni_id", "name", "type", "status", "attached_instance_id", "primary_ip")
    list_filter = ("status", "type", "service_managed", "region_id")
    search_fields = ("eni_id", "name", "primary_ip", "attached_instance_id")
    list_per_page = 50


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "status", "trigger", "created_at", "finished_at", "pages_done",
                    "error_code")  # fmt: skip
    list_filter = ("status", "trigger")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("worker", "started_at", "seen_at")
