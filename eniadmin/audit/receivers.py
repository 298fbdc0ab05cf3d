"""Login, failed login and logout, recorded from Django's auth signals (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
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
    # Django has already masked the password in `credentials`.
    attempted = _attempted(credentials.get("username"))
    with transaction.atomic():
        record(Action.LOGIN_FAILED, actor=AnonymousUser(), comment=attempted)


def record_locked_out(sender: object, username: str | None = None, **_: Any) -> None:
    with transaction.atomic():
        record(Action.LOGIN_LOCKED_OUT, actor=AnonymousUser(), comment=_attempted(username))


def _attempted(username: object) -> str:
    """The username tried, when it names a user. Any other text is not kept: it may be a
    password typed into the wrong field, and the history is read by every role and kept for
    a year."""
    username = str(username or "")[:USERNAME_MAX_LENGTH]
    User = get_user_model()
    if username and User._default_manager.filter(**{User.USERNAME_FIELD: username}).exists():
        return f"Attempted username: {username}"
    return "Attempted username: one that names no user (not kept: it may be a password)"


def record_logout(
    sender: object, request: HttpRequest, user: AbstractBaseUser | None, **_: Any
) -> None:
    # Logging out without a session fires the signal with no user: nobody to record.
    if user is None:
        return
    with transaction.atomic():
        record(Action.LOGOUT, actor=user)
