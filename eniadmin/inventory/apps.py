from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "eniadmin.inventory"
    verbose_name = "Inventory"
