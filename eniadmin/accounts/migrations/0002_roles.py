"""Create the four role groups with their permissions.

The permission rows are created here rather than left to post_migrate, which runs only after
every migration: the groups need them now.
"""

from django.db import migrations

PERMISSIONS = {
    "browse": "Browse instances, ENIs and the audit history",
    "request_detach": "Request the detach of a secondary ENI",
    "decide_detach": "Approve or reject detach requests of others",
    "export_audit": "Export the audit history",
}
ROLES = {
    "Viewer": ["browse"],
    "Operator": ["browse", "request_detach"],
    "Approver": ["browse", "decide_detach"],
    "Auditor": ["browse", "export_audit"],
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="access")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSIONS.items()
    }
    for group_name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set([permissions[codename] for codename in codenames])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
