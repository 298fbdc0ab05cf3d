from django.apps import AppConfig


class DetachConfig(AppConfig):
    name = "eniadmin.detach"
    verbose_name = "Detach workflow"
