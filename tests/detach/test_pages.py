"""The read-only pages: the request list, a request, the review queue."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eniadmin.detach import workflow
from eniadmin.ens.errors import EnsError
from tests.detach.conftest import approved_request, open_request

LIST = reverse("detach:request-list")
REVIEW = reverse("detach:review")


def test_request_list_shows_requests_and_filters(client, viewer, operator, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert f"#{detach_request.pk}" in html and candidate.eni_id in html
    assert candidate.eni_id not in client.get(LIST, {"status": "failed"}).content.decode()
    table = {"HX-Request": "true", "HX-Target": "request-table"}
    fragment = client.get(LIST, headers=table).content.decode()
    assert "<html" not in fragment and 'id="request-table"' in fragment
    restoring = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in client.get(LIST, headers=restoring).content.decode()


def test_an_unknown_status_filter_is_reported_and_ignored(
    client, viewer, operator, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(viewer)
    response = client.get(LIST, {"status": "<b>sideways</b>"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Status: Select a valid choice. &lt;b&gt;sideways&lt;/b&gt; is not one of the" in html
    assert "This filter was ignored." in html and 'aria-invalid="true"' in html
    assert f"#{detach_request.pk}" in html, "every request is still listed"


def test_request_pages_refuse_post_anonymous_and_no_role(
    client, outsider, operator, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    detail = reverse("detach:request-detail", args=[detach_request.pk])
    for url in (LIST, detail):
        assert client.get(url).status_code == 302
    client.force_login(outsider)
    for url in (LIST, detail, REVIEW):
        assert client.get(url).status_code == 403
    client.force_login(operator)
    assert client.post(LIST).status_code == 405
    assert client.post(detail).status_code == 405
    assert client.get(reverse("detach:request-detail", args=[9999])).status_code == 404


def test_review_lists_others_pending_requests_with_fresh_state(
    client, operator, approver, candidate, ens_client
):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(approver)
    response = client.get(REVIEW)
    html = response.content.decode()
    assert f'id="review-{detach_request.pk}"' in html
    assert "Unchanged since the request." in html
    assert 'value="approve"' in html
    assert '<span class="badge badge-warn nav-count" aria-label="1 pending">1</span>' in html
    assert client.post(REVIEW).status_code == 405
    client.force_login(operator)
    assert client.get(REVIEW).status_code == 403


def test_the_list_shows_the_approvers_badge_within_its_six_queries(
    client, operator, approver, candidate, ens_client
):
    """The badge's count is read with the header's status, not in a query of its own."""
    open_request(candidate, operator, ens_client)
    client.force_login(approver)
    instances = reverse("inventory:instance-list")
    client.get(instances)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(instances).content.decode()
    assert '<span class="badge badge-warn nav-count" aria-label="1 pending">1</span>' in html
    assert len(queries.captured_queries) == 6, [query["sql"] for query in queries.captured_queries]


def test_the_requester_sees_cancel_not_approve(client, operator, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(operator)
    html = client.get(reverse("detach:request-detail", args=[detach_request.pk])).content.decode()
    assert "Cancel this request" in html and 'value="approve"' not in html


@pytest.mark.parametrize(
    "code",
    [
        "ens.interface.error",
        "InvalidEniId.NotFound",
        "InvalidParameter.EniServiceManaged",
        "InvalidOperation.InvalidEniStatus",
        "InvalidOperation.InvalidEniType",
        "InvalidOperation.InvalidEnsStatus",
        "NoPermission",
        "InvalidParameter.NetworkInterfaceId",
    ],
)
def test_every_detach_error_code_is_shown_with_sentence_code_and_request_id(
    code, client, operator, approver, candidate, ens_client
):
    """The eight codes of ens-api.md 2.1 as the failed request's page shows them."""
    detach_request = approved_request(candidate, operator, approver, ens_client)
    detach_request.claim(worker="w1")
    error = EnsError(
        code=code,
        message="as ENS said it",
        request_id="REQ-1234",
        http_status=400,
        action="DetachNetworkInterface",
    )
    from django.db import transaction

    with transaction.atomic():
        detach_request.mark_failed(
            code=error.code,
            sentence=error.operator_message,
            detail=error.message,
            request_id=error.request_id,
        )
    client.force_login(operator)
    html = client.get(reverse("detach:request-detail", args=[detach_request.pk])).content.decode()
    from django.utils.html import escape

    assert escape(error.operator_message) in html
    assert f"ENS code {code}" in html and "RequestId REQ-1234" in html
    if code == "NoPermission":
        assert "ens:DetachNetworkInterface" in html


def test_eni_page_shows_the_open_request(client, operator, candidate, ens_client):
    detach_request = open_request(candidate, operator, ens_client)
    client.force_login(operator)
    html = client.get(reverse("inventory:eni-detail", args=[candidate.eni_id])).content.decode()
    assert f"Request #{detach_request.pk}</a>" in html
    assert "A detach request for it is already open." in html
    assert workflow.DetachRefused  # the module is the workflow's public face
