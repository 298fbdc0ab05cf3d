from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "eniadmin.audit"
    verbose_name = "Audit history"
