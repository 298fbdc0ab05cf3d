"""Django admin shows audit events read-only, and only to those allowed to view them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from eniadmin.audit.models import Action, AuditEvent
from tests.audit.conftest import record_now

CHANGELIST = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("sophie", password="sophie-pass-4829")


@pytest.fixture
def event(operator) -> AuditEvent:
    return record_now(Action.DETACH_REQUESTED, actor=operator, eni_id="eni-admin1")


def test_superuser_can_list_and_filter_events(client, superuser, event):
    client.force_login(superuser)

    response = client.get(CHANGELIST, {"action__exact": "detach_requested"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "eni-admin1" in html
    assert "Add audit event" not in html


def test_event_page_is_read_only(client, superuser, event):
    client.force_login(superuser)

    response = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in html
    assert "eni-admin1" in html


def test_changing_an_event_through_admin_is_refused(client, superuser, event):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"comment": "edited"}
    )

    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).comment == ""


@pytest.mark.parametrize("name", ["admin:audit_auditevent_add", "admin:audit_auditevent_delete"])
def test_adding_and_deleting_through_admin_are_refused(client, superuser, event, name):
    client.force_login(superuser)
    args = [event.pk] if name.endswith("delete") else []

    assert client.get(reverse(name, args=args)).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_staff_without_the_view_permission_is_refused(client, event):
    staff = User.objects.create_user("stan", password="stan-pass-4829", is_staff=True)
    client.force_login(staff)

    assert client.get(CHANGELIST).status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(CHANGELIST)}"
