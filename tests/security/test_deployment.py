"""The documented production environment: `check --deploy` is clean, and gunicorn serves the app
and its static files (through WhiteNoise) behind a TLS-terminating proxy."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = ROOT / "docs" / "production.env"
BIN = Path(sys.executable).parent


def documented_environment() -> dict[str, str]:
    lines = PRODUCTION_ENV.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dict(pairs)


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    """The documented values, with a real key, a scratch database and this machine's host."""
    return {
        "PATH": "/usr/bin:/bin",
        **documented_environment(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path}/eniadmin.sqlite3",
        "STATIC_ROOT": str(tmp_path / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
    }


def manage(env: dict[str, str], *arguments: str) -> str:
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout + finished.stderr


def test_readme_shows_the_documented_environment():
    readme = (ROOT / "README.md").read_text()
    for name, value in documented_environment().items():
        assert f"{name}={value}" in readme, name


def test_check_deploy_is_clean(production_env):
    output = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues (0 silenced)." in output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(production_env) -> Iterator[str]:
    manage(production_env, "migrate", "--noinput")
    manage(production_env, "collectstatic", "--noinput")
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(BIN / "gunicorn"), "eniadmin.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=production_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def through_proxy(url: str) -> requests.Response:
    """As the TLS-terminating proxy forwards it."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    return requests.get(url, headers=headers, allow_redirects=False, timeout=10)


def test_gunicorn_serves_the_login_page_and_static_files(gunicorn):
    login = through_proxy(gunicorn + "/login/")

    assert login.status_code == 200
    assert 'name="password"' in login.text
    assert "'nonce-" in login.headers["Content-Security-Policy"]
    assert login.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert login.headers["X-Frame-Options"] == "DENY"
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    assert login.headers["Referrer-Policy"] == "same-origin"
    cookie = login.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', login.text).group(1)
    css = through_proxy(gunicorn + stylesheet)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "immutable" in css.headers["Cache-Control"]


def test_plain_http_is_sent_to_https(gunicorn):
    response = requests.get(gunicorn + "/login/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == gunicorn.replace("http:", "https:") + "/login/"


def test_health_check_answers_plain_http_without_login(gunicorn):
    # As a load balancer probes a backend: no proxy headers, no redirect to HTTPS.
    response = requests.get(gunicorn + "/healthz", allow_redirects=False, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
