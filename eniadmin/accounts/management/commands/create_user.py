from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from eniadmin.accounts.roles import Role, roles_of, set_roles


class Command(BaseCommand):
    help = (
        "Create a user, or update an existing one, with the given roles. "
        "The password is read from an environment variable so it never appears in shell history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            dest="roles",
            action="append",
            choices=Role.values,
            required=True,
            help="A role to hold; repeat for several.",
        )
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            required=True,
            help="Name of the environment variable holding the password.",
        )
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: object) -> None:
        username = str(options["username"])
        variable = str(options["password_from_env"])
        password = os.environ.get(variable)
        if not password:
            raise CommandError(f"The environment variable {variable} is not set or empty.")
        roles = [Role(value) for value in dict.fromkeys(options["roles"])]

        User = get_user_model()
        user = User.objects.filter(username=username).first() or User(username=username)
        user.email = str(options["email"]) or user.email
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from error
        user.set_password(password)
        created = user.pk is None
        with transaction.atomic():
            user.save()
            set_roles(user, roles)

        verb = "Created" if created else "Updated"
        labels = ", ".join(role.label for role in roles_of(user))
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with roles: {labels}"))
