"""The list page: what each persona sees, filters, search, pagination, htmx and no-JS use."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eniadmin.inventory.models import Instance, NetworkInterface

LIST = reverse("inventory:instance-list")

# Session, user, roles with permissions (one query), the page with its total, its ENIs with
# their newest detach requests and the unattached ones, the fleet status for the header.
FULL_PAGE_QUERIES = 6


def eni_ids(html: str) -> set[str]:
    return set(re.findall(r'id="eni-(eni-[a-z0-9]+)"', html))


def instance_ids(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="mono">(i-[a-z0-9]+)</th>', html)


def reasons_for(html: str, eni_id: str) -> str:
    match = re.search(rf'<ul class="reasons" id="why-{eni_id}">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def test_viewer_sees_instances_with_their_enis_nested(client, viewer, synced):
    client.force_login(viewer)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert len(instance_ids(html)) == 24
    candidate = NetworkInterface.objects.get(eni_id=synced["detach_candidates"][0])
    row = html[html.index(f'id="eni-{candidate.eni_id}"') :]
    row = row[: row.index("</tr>")]
    for value in (
        candidate.primary_ip,
        candidate.mac_address,
        candidate.vswitch_id,
        "Secondary",
        "InUse",
    ):
        assert value in row
    group = html[html.index(candidate.attached_instance_id) :]
    assert group.index(candidate.eni_id) < group.index("</tbody>"), "nested under its instance"


def test_an_empty_inventory_says_what_to_do(client, operator, db):
    client.force_login(operator)
    html = client.get(LIST).content.decode()
    assert "No instances yet" in html
    assert "Sync now" in html


def test_filters_narrow_the_list_and_live_in_the_url(client, viewer, synced):
    client.force_login(viewer)
    html = client.get(LIST, {"status": "Stopped"}).content.decode()
    stopped = set(Instance.objects.filter(status="Stopped").values_list("instance_id", flat=True))
    assert set(instance_ids(html)) == stopped

    html = client.get(LIST, {"eni_type": "Primary", "status": "Stopped"}).content.decode()
    shown = eni_ids(html)
    assert shown and all(NetworkInterface.objects.get(eni_id=e).type == "Primary" for e in shown)
    assert 'value="Stopped" selected' in html


def test_region_filter(client, viewer, synced):
    client.force_login(viewer)
    region = Instance.objects.first().region_id
    html = client.get(LIST, {"region": region}).content.decode()
    assert set(instance_ids(html)) == set(
        Instance.objects.filter(region_id=region).values_list("instance_id", flat=True)
    )


@pytest.mark.parametrize("field", ["eni_id", "primary_ip"])
def test_search_by_eni_id_or_ip_finds_its_instance(client, viewer, synced, field):
    client.force_login(viewer)
    eni = NetworkInterface.objects.get(eni_id=synced["detach_candidates"][0])
    html = client.get(LIST, {"q": getattr(eni, field)}).content.decode()
    assert eni.attached_instance_id in instance_ids(html)
    assert eni.eni_id in eni_ids(html)


def test_search_by_instance_name(client, viewer, synced):
    client.force_login(viewer)
    instance = Instance.objects.exclude(name="").first()
    html = client.get(LIST, {"q": instance.name}).content.decode()
    assert instance.instance_id in instance_ids(html)


def test_a_search_matching_nothing_says_so(client, viewer, synced):
    client.force_login(viewer)
    html = client.get(LIST, {"q": "no-such-thing"}).content.decode()
    assert "No instance matches these filters" in html


def test_invalid_filter_values_are_refused_clearly_and_ignored(client, viewer, synced):
    client.force_login(viewer)
    response = client.get(LIST, {"status": "<script>x</script>", "page": "abc"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This filter was ignored." in html
    assert "<script>x</script>" not in html
    assert len(instance_ids(html)) == 24


def test_pagination_is_50_instances_per_page(client, viewer, db, ens_client, emulator):
    from tests.inventory.conftest import sync

    emulator.control.reset(instances=60)
    sync(ens_client)
    client.force_login(viewer)
    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()
    assert len(instance_ids(first)) == 50 and len(instance_ids(second)) == 10
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert not set(instance_ids(first)) & set(instance_ids(second))


def test_htmx_gets_only_the_table(client, viewer, synced):
    client.force_login(viewer)
    response = client.get(
        LIST, {"status": "Stopped"}, headers={"HX-Request": "true", "HX-Target": "instance-table"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="instance-table"')
    assert response["Vary"].count("HX-Request") == 1


def test_without_javascript_the_form_is_a_plain_get(client, viewer, synced):
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert f'<form class="filters" method="get" action="{LIST}"' in html
    assert "<html" in html


def test_eligibility_reasons_are_visible_for_each_rule(client, operator, synced):
    client.force_login(operator)
    NetworkInterface.objects.filter(eni_id=synced["service_managed"][0]).update(
        service_managed=True
    )
    html = client.get(LIST).content.decode()

    assert "primary network interface" in reasons_for(
        html, synced["primary_on_stopped_instance"][0]
    )
    assert "Its instance is Running; it must be Stopped." in reasons_for(
        html, synced["secondary_on_running_instance"][0]
    )
    assert "managed by a cloud service" in reasons_for(html, synced["service_managed"][0])
    available = synced["attach_candidates"][0]["network_interface_id"]
    assert "Its status is Available; it must be InUse." in reasons_for(html, available)
    candidate = synced["detach_candidates"][0]
    assert reasons_for(html, candidate) == ""
    # The Detach control opens the request's confirmation step (the detach app provides it).
    assert f'href="{reverse("detach:request-create")}?eni={candidate}">Detach…</a>' in html
    assert f'aria-describedby="why-{synced["primary_on_stopped_instance"][0]}"' in html


def test_viewers_see_the_reasons_but_no_detach_control(client, viewer, synced):
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert "Detach…" not in html
    assert "primary network interface" in html


def test_the_header_shows_last_sync_and_worker_state(client, viewer, synced):
    client.force_login(viewer)
    html = client.get(LIST).content.decode()
    assert "synced 0" in html and "minutes ago" in html
    assert "worker down" in html


def test_a_permission_given_to_the_user_alone_counts_as_much_as_a_role(client, outsider, db):
    """Roles and permissions are read in one query: the user's own permissions are in it too."""
    outsider.user_permissions.add(Permission.objects.get(codename="browse"))
    client.force_login(outsider)
    response = client.get(LIST)
    assert response.status_code == 200
    assert '<span class="badge badge-muted">no role</span>' in response.content.decode()


def test_outsider_is_refused(client, outsider, db):
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403


def test_post_is_not_allowed(client, viewer, db):
    client.force_login(viewer)
    assert client.post(LIST).status_code == 405


def _fleet(count: int) -> None:
    now = timezone.now()
    instances = Instance.objects.bulk_create(
        Instance(instance_id=f"i-{n:05d}", region_id="cn-a", status="Stopped", changed_at=now)
        for n in range(count)
    )
    NetworkInterface.objects.bulk_create(
        NetworkInterface(
            eni_id=f"eni-{n:05d}{kind}",
            region_id="cn-a",
            instance=instance,
            attached_instance_id=instance.instance_id,
            status="InUse",
            type=kind,
        )
        for n, instance in enumerate(instances)
        for kind in ("Primary", "Secondary")
    )


def test_the_query_count_does_not_grow_with_the_fleet(client, viewer, db):
    client.force_login(viewer)
    client.get(LIST)  # warm the session
    _fleet(10)
    with CaptureQueriesContext(connection) as small:
        client.get(LIST)
    NetworkInterface.objects.all().delete()
    Instance.objects.all().delete()
    _fleet(500)
    with CaptureQueriesContext(connection) as large:
        response = client.get(LIST)
    with CaptureQueriesContext(connection) as later_page:
        client.get(LIST, {"page": 7})
    assert len(instance_ids(response.content.decode())) == 50
    assert len(small.captured_queries) == FULL_PAGE_QUERIES
    assert len(large.captured_queries) == FULL_PAGE_QUERIES
    assert len(later_page.captured_queries) == FULL_PAGE_QUERIES


@pytest.mark.parametrize("persona", ["viewer", "operator", "approver", "auditor"])
def test_every_role_gets_the_full_page_in_six_queries(client, request, persona, synced):
    client.force_login(request.getfixturevalue(persona))
    client.get(LIST)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, {"status": "Stopped"})
    assert response.status_code == 200
    assert len(queries.captured_queries) == FULL_PAGE_QUERIES, [
        query["sql"] for query in queries.captured_queries
    ]


def test_the_htmx_table_needs_no_fleet_status(client, viewer, synced):
    client.force_login(viewer)
    client.get(LIST)
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST, headers={"HX-Request": "true", "HX-Target": "instance-table"})
    assert len(queries.captured_queries) == FULL_PAGE_QUERIES - 1


def test_a_page_past_the_last_shows_the_last_page(client, viewer, db):
    _fleet(60)
    client.force_login(viewer)
    html = client.get(LIST, {"page": 9}).content.decode()
    assert "Page 2 of 2" in html
    assert len(instance_ids(html)) == 10


def test_each_eni_row_links_to_its_page(client, viewer, synced):
    client.force_login(viewer)
    eni_id = synced["detach_candidates"][0]
    html = client.get(reverse("inventory:instance-list")).content.decode()
    assert f'<a href="{reverse("inventory:eni-detail", args=[eni_id])}">{eni_id}</a>' in html


def test_eni_detail_shows_state_and_reasons(client, viewer, synced):
    client.force_login(viewer)
    eni_id = synced["secondary_on_running_instance"][0]
    response = client.get(reverse("inventory:eni-detail", args=[eni_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert eni_id in html
    assert html.count("Its instance is Running; it must be Stopped.") == 1


def test_eni_detail_ties_the_reasons_to_the_disabled_detach(client, operator, synced):
    client.force_login(operator)
    eni_id = synced["primary_on_stopped_instance"][0]
    html = client.get(reverse("inventory:eni-detail", args=[eni_id])).content.decode()
    assert f'aria-describedby="why-{eni_id}"' in html
    assert html.count("primary network interface, which cannot be detached") == 1


def test_an_eni_id_with_dots_or_underscores_is_listed_and_linked(client, viewer, synced):
    eni = NetworkInterface.objects.filter(status="InUse").first()
    NetworkInterface.objects.filter(pk=eni.pk).update(eni_id="eni-odd_id.1", status="Detaching")
    client.force_login(viewer)
    response = client.get(reverse("inventory:instance-list"), {"q": "eni-odd_id.1"})
    assert response.status_code == 200
    assert reverse("inventory:eni-detail", args=["eni-odd_id.1"]) in response.content.decode()
    detail = client.get(reverse("inventory:eni-detail", args=["eni-odd_id.1"]))
    assert detail.status_code == 200


def test_eni_detail_of_an_unknown_eni_is_404(client, viewer, db):
    client.force_login(viewer)
    assert client.get(reverse("inventory:eni-detail", args=["eni-nope"])).status_code == 404
