from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "eniadmin.audit"
    verbose_name = "Audit history"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth import signals

        from eniadmin.audit import receivers

        signals.user_logged_in.connect(receivers.record_login, dispatch_uid="audit-login")
        signals.user_login_failed.connect(
            receivers.record_login_failed, dispatch_uid="audit-login-failed"
        )
        signals.user_logged_out.connect(receivers.record_logout, dispatch_uid="audit-logout")
        user_locked_out.connect(receivers.record_locked_out, dispatch_uid="audit-locked-out")
