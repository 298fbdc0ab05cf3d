from django.apps import AppConfig


class EniadminConfig(AppConfig):
    """The project package is an app too: it owns the cross-app commands (demo, run_worker)."""

    name = "eniadmin"
    verbose_name = "eniadmin"
