"""Operators and Approvers may ask for an inventory sync now."""

from django.db import migrations

ROLES = ["Operator", "Approver"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="access")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="request_sync",
        defaults={"name": "Ask for an inventory sync now"},
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="accounts", codename="request_sync").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles")]

    operations = [
        migrations.AlterModelOptions(
            name="access",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("browse", "Browse instances, ENIs and the audit history"),
                    ("request_detach", "Request the detach of a secondary ENI"),
                    ("decide_detach", "Approve or reject detach requests of others"),
                    ("export_audit", "Export the audit history"),
                    ("request_sync", "Ask for an inventory sync now"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
