from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.urls import reverse


def test_login_page_renders_for_anonymous(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_operator_logs_in_and_sees_their_role(client, operator):
    response = client.post(
        reverse("login"), {"username": "olivia", "password": "olivia-pass-4829"}, follow=True
    )
    assert response.redirect_chain == [(reverse("inventory:instance-list"), 302)]
    html = response.content.decode()
    assert "olivia" in html
    assert '<span class="badge badge-role">Operator</span>' in html
    assert "Instances and network interfaces" in html


def test_wrong_password_is_refused_with_a_clear_error(client, operator):
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_redirects_to_next_page(client, viewer):
    response = client.post(
        reverse("login") + "?next=/",
        {"username": "victor", "password": "victor-pass-4829", "next": "/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_signed_in_user_sent_back_to_the_login_page_goes_to_the_start_page(client, viewer):
    client.force_login(viewer)
    for next_url in ("/login/", "/login/?next=/login/"):
        response = client.get(reverse("login"), {"next": next_url})
        assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get(reverse("login"), {"next": "/audit/"})["Location"] == "/audit/"


def test_logout_by_get_is_refused(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("logout"))
    assert response.status_code == 405
    assert SESSION_KEY in client.session


def test_logout_by_post_ends_the_session(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert SESSION_KEY not in client.session


def test_user_without_role_is_told_to_ask_for_one(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("inventory:instance-list"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "no role" in html
    assert "Your account holds no role yet" in html
