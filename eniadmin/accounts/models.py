from __future__ import annotations

from django.db import models


class Access(models.Model):
    """Holds the dashboard's own permissions; it has no table.

    Roles are groups holding these permissions (see roles.py), so views check
    `user.has_perm("accounts.request_detach")` and never a group name.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("browse", "Browse instances, ENIs and the audit history"),
            ("request_detach", "Request the detach of a secondary ENI"),
            ("decide_detach", "Approve or reject detach requests of others"),
            ("export_audit", "Export the audit history"),
            ("request_sync", "Ask for an inventory sync now"),
        ]

    def __str__(self) -> str:
        return "eniadmin access"
