"""Every page runs under a Content Security Policy without unsafe-inline or eval.

What the policy forbids is also absent from the markup: every <script> carries the response's
nonce, and no page has an inline style, a <style> element or an on* handler attribute.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from eniadmin.detach import workflow
from eniadmin.inventory.models import NetworkInterface


class MarkupScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.script_nonces: list[str | None] = []
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []
        self.style_elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.script_nonces.append(attributes.get("nonce"))
        if tag == "style":
            self.style_elements += 1
        if "style" in attributes:
            self.inline_styles.append(f"<{tag} style={attributes['style']!r}>")
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("on")]
        # hx-on runs code through Function(), which the policy's missing unsafe-eval forbids.
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("hx-on")]


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def assert_strict_page(response) -> None:
    assert response.status_code == 200, response.status_code
    policy = policy_of(response)
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in policy.get(directive, [])
        assert "'unsafe-eval'" not in policy.get(directive, [])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    nonce = next(v for v in policy["script-src"] if v.startswith("'nonce-"))[len("'nonce-") : -1]

    scan = MarkupScan()
    scan.feed(response.content.decode())
    assert scan.script_nonces, "the page loads no script at all"
    assert scan.script_nonces == [nonce] * len(scan.script_nonces)
    assert scan.inline_styles == []
    assert scan.style_elements == 0
    assert scan.handlers == []


def test_login_page_is_strict(client, db):
    assert_strict_page(client.get(reverse("login")))


def test_each_page_is_strict(
    client, ens_client, cloud_settings, synced, operator, approver, auditor
):
    eni_id = synced["detach_candidates"][0]
    request = workflow.request_detach(
        eni=NetworkInterface.objects.get(eni_id=eni_id),
        requester=operator,
        reason="maintenance window",
        client=ens_client,
    )

    client.force_login(approver)
    for url in (
        reverse("inventory:instance-list"),
        reverse("inventory:instance-list") + "?status=Stopped",
        reverse("detach:review"),
        reverse("detach:request-list"),
        reverse("detach:request-detail", args=[request.pk]),
        reverse("inventory:eni-detail", args=[eni_id]),
    ):
        assert_strict_page(client.get(url))
    client.force_login(auditor)
    assert_strict_page(client.get(reverse("audit:history")))


def test_every_response_gets_a_fresh_nonce(client, viewer):
    client.force_login(viewer)
    nonces = {
        re.search(r"'nonce-([^']+)'", client.get("/")["Content-Security-Policy"]).group(1)
        for _ in range(3)
    }
    assert len(nonces) == 3


@pytest.mark.parametrize("setting", ["allowEval", "allowScriptTags", "includeIndicatorStyles"])
def test_htmx_eval_features_are_off(client, db, setting):
    html = client.get(reverse("login")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1)
    assert f'"{setting}": false' in config
