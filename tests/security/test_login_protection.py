"""Logins lock after repeated failures, per username and per address; sessions expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from eniadmin.audit.models import Action, AuditEvent


def attempt(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail_until_locked(client, username: str, address: str, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, username, "wrong-password", address)


def test_username_locks_after_the_limit_even_with_the_right_password(client, operator, settings):
    fail_until_locked(client, "olivia", "203.0.113.7", settings)

    # From another address too: the lock is on the account.
    response = attempt(client, "olivia", "olivia-pass-4829", "198.51.100.20")

    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html
    assert "locked for 15 minutes" in html
    assert SESSION_KEY not in client.session
    locked = AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT)
    assert locked.exists()
    assert "olivia" in locked.first().comment


def test_address_locks_after_failures_across_usernames(client, operator, viewer, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{number}", "wrong-password", "203.0.113.9")

    assert attempt(client, "victor", "victor-pass-4829", "203.0.113.9").status_code == 429
    # Another address and another user are not affected.
    response = attempt(client, "olivia", "olivia-pass-4829", "198.51.100.21")
    assert response.status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "olivia", "wrong-password")
    assert attempt(client, "olivia", "olivia-pass-4829").status_code == 302
    client.post(reverse("logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "olivia", "wrong-password")
    assert attempt(client, "olivia", "olivia-pass-4829").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, operator, settings):
    fail_until_locked(client, "olivia", "203.0.113.7", settings)
    assert attempt(client, "olivia", "olivia-pass-4829").status_code == 429

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)):
        assert attempt(client, "olivia", "olivia-pass-4829").status_code == 302


def test_tries_during_a_lock_do_not_lengthen_it(client, operator, settings):
    fail_until_locked(client, "olivia", "203.0.113.7", settings)
    halfway = timezone.now() + settings.AXES_COOLOFF_TIME / 2
    with time_machine.travel(halfway):
        assert attempt(client, "olivia", "wrong-password", "203.0.113.8").status_code == 429

    after_the_first_lock = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    with time_machine.travel(after_the_first_lock):
        assert attempt(client, "olivia", "olivia-pass-4829", "198.51.100.20").status_code == 302


def test_behind_a_proxy_the_address_is_the_one_it_saw(rf, settings):
    from eniadmin.audit.context import client_ip_of

    settings.TRUSTED_PROXY_COUNT = 1
    forwarded = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
    assert client_ip_of(forwarded) == "203.0.113.5"
    # Without the header (a request that did not come through the proxy): the peer itself.
    assert client_ip_of(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip_of(forwarded) == "10.0.0.2"


def test_session_expires_after_its_age(client, viewer, settings):
    client.post(reverse("login"), {"username": "victor", "password": "victor-pass-4829"})
    assert client.get("/").status_code == 200

    later = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    with time_machine.travel(later):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("password", ["password123", "victor", "12345678901", "short"])
def test_weak_passwords_are_refused(db, monkeypatch, password):
    monkeypatch.setenv("NEW_USER_PASSWORD", password)
    with pytest.raises(CommandError):
        call_command(
            "create_user", "victor", "--role", "viewer", "--password-from-env", "NEW_USER_PASSWORD"
        )
