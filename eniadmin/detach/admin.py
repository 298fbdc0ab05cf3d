"""Read-only: requests change only through the workflow, which writes the audit trail."""

from __future__ import annotations

from django.contrib import admin

from eniadmin.detach.models import DetachRequest
from eniadmin.inventory.admin import ReadOnlyAdmin


@admin.register(DetachRequest)
class DetachRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "eni_id", "instance_id", "status", "requester", "approver", "created_at")
    list_filter = ("status",)
    search_fields = ("eni_id", "instance_id", "ens_request_id")
    list_select_related = ("requester", "approver")
