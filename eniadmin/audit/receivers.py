"""Login, failed login and logout, recorded from Django's auth signals (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest

from eniadmin.accounts.lockout import USERNAME_MAX_LENGTH
from eniadmin.audit.events import record
from eniadmin.audit.models import Action


def record_login(sender: object, request: HttpRequest, user: AbstractBaseUser, **_: Any) -> None:
    with transaction.atomic():
        record(Action.LOGIN, actor=user)


def record_login_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    # Django has already masked the password in `credentials`; only the username is kept, no
    # longer than a username can be (one typed into the wrong field can be a password).
    username = str(credentials.get("username", ""))[:USERNAME_MAX_LENGTH]
    with transaction.atomic():
        record(
            Action.LOGIN_FAILED, actor=AnonymousUser(), comment=f"Attempted username: {username}"
        )


def record_locked_out(sender: object, username: str | None = None, **_: Any) -> None:
    with transaction.atomic():
        record(
            Action.LOGIN_LOCKED_OUT,
            actor=AnonymousUser(),
            comment=f"Attempted username: {str(username or '')[:USERNAME_MAX_LENGTH]}",
        )


def record_logout(
    sender: object, request: HttpRequest, user: AbstractBaseUser | None, **_: Any
) -> None:
    # Logging out without a session fires the signal with no user: nobody to record.
    if user is None:
        return
    with transaction.atomic():
        record(Action.LOGOUT, actor=user)
