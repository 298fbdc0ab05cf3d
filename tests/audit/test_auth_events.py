"""Login, failed login and logout land in the audit history with where they came from."""

from __future__ import annotations

from django.urls import reverse

from eniadmin.audit.models import Action, AuditEvent

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) eniadmin-test"


def test_login_is_recorded_with_ip_agent_and_correlation_id(client, operator):
    response = client.post(
        reverse("login"),
        {"username": "olivia", "password": "olivia-pass-4829"},
        headers={"user-agent": BROWSER},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert event.action == Action.LOGIN
    assert event.actor == operator
    assert event.actor_name == "olivia"
    assert event.client_ip == "127.0.0.1"
    assert event.user_agent == BROWSER
    assert event.correlation_id is not None


def test_failed_login_records_the_attempted_username_but_never_the_password(client, operator):
    response = client.post(
        reverse("login"), {"username": "olivia", "password": "guessed-secret-77"}
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert event.action == Action.LOGIN_FAILED
    assert event.actor is None
    assert event.actor_name == "anonymous"
    assert event.comment == "Attempted username: olivia"
    assert event.client_ip == "127.0.0.1"
    stored_text = " ".join(str(value) for value in AuditEvent.objects.values().get().values())
    assert "guessed-secret-77" not in stored_text


def test_a_failed_login_under_a_name_that_is_no_user_keeps_no_text_of_it(client, operator):
    # A password typed into the username field must not end up in the history.
    client.post(reverse("login"), {"username": "Hunter2-Secret!", "password": "whatever-1"})
    event = AuditEvent.objects.get()
    assert event.action == Action.LOGIN_FAILED
    assert "one that names no user" in event.comment
    stored_text = " ".join(str(value) for value in AuditEvent.objects.values().get().values())
    assert "Hunter2" not in stored_text


def test_logout_is_recorded_once(client, viewer):
    client.force_login(viewer)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    login, logout = AuditEvent.objects.order_by("id")
    assert logout.action == Action.LOGOUT
    assert logout.actor == viewer
    assert logout.client_ip == "127.0.0.1"
    assert logout.correlation_id != login.correlation_id


def test_logout_by_get_is_refused_and_not_recorded(client, viewer):
    client.force_login(viewer)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action=Action.LOGOUT).exists()


def test_user_without_role_is_recorded_logging_in_and_refused_the_history(client, outsider):
    client.post(reverse("login"), {"username": "oscar", "password": "oscar-pass-4829"})

    assert AuditEvent.objects.get().actor_name == "oscar"
    assert client.get(reverse("audit:history")).status_code == 403


def test_each_request_has_its_own_correlation_id(client, operator):
    client.post(reverse("login"), {"username": "olivia", "password": "wrong-1"})
    client.post(reverse("login"), {"username": "olivia", "password": "olivia-pass-4829"})

    failed, succeeded = AuditEvent.objects.order_by("id")
    assert failed.correlation_id != succeeded.correlation_id
