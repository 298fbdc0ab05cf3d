from __future__ import annotations

import socket

from django.core import mail

from eniadmin.detach import workflow
from tests.detach.conftest import REASON, open_request


def test_rejection_mails_the_requester_with_the_comment(
    operator, approver, candidate, ens_client, django_capture_on_commit_callbacks
):
    operator.email = "olivia@example.com"
    operator.save()
    detach_request = open_request(candidate, operator, ens_client)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.reject_detach(
            detach_request=detach_request, approver=approver, comment="Not this week."
        )
    (message,) = mail.outbox
    assert message.to == ["olivia@example.com"]
    assert message.subject.endswith(": rejected")
    assert "Not this week." in message.body
    assert detach_request.get_absolute_url() in message.body


def test_the_requester_is_not_mailed_as_an_approver(
    candidate, ens_client, django_capture_on_commit_callbacks
):
    from eniadmin.accounts.roles import Role
    from tests.conftest import make_user

    both = make_user("bob", Role.OPERATOR, Role.APPROVER)
    both.email = "bob@example.com"
    both.save()
    with django_capture_on_commit_callbacks(execute=True):
        open_request(candidate, both, ens_client)
    assert mail.outbox == []


def test_a_mail_server_that_is_down_changes_nothing(
    operator, approver, candidate, ens_client, settings, django_capture_on_commit_callbacks
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    approver.email = "arthur@example.com"
    approver.save()
    with django_capture_on_commit_callbacks(execute=True):
        detach_request = workflow.request_detach(
            eni=candidate, requester=operator, reason=REASON, client=ens_client
        )
    detach_request.refresh_from_db()
    assert detach_request.status == "pending"
