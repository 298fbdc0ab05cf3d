from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "eniadmin.accounts"
    verbose_name = "Accounts and roles"
