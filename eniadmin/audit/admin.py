from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from eniadmin.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit events are written by record() and removed only by purge_audit."""

    list_display = (
        "id",
        "created",
        "actor_name",
        "on_behalf_of_name",
        "action",
        "eni_id",
        "instance_id",
        "outcome",
        "client_ip",
    )
    list_filter = ("action", "outcome", "created", "region_id")
    search_fields = ("comment", "eni_id", "instance_id", "region_id", "request_id", "actor_name")
    date_hierarchy = "created"
    ordering = ("-id",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
