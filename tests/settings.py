"""Settings for the test suite: the project's settings with a test key and a fast hasher."""

import logging
import os
import sys
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from eniadmin.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class CurrentStderrHandler(logging.StreamHandler):
    """Logs to sys.stderr as it is when a record comes. pytest swaps sys.stderr for each test
    and closes the old one; a thread that outlives its test (the browser tests' worker) would
    otherwise write into a closed stream."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


LOGGING["handlers"]["console"]["class"] = "tests.settings.CurrentStderrHandler"  # noqa: F405

# The suite does not run collectstatic; let WhiteNoise find files where they are written.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None

# Tests speak plain HTTP to the test client and the live server; the production posture
# (HTTPS redirect, Secure cookies, hashed static names) is tested on its own in tests/security.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# On SQLite the suite uses a file, one per test process, not pytest-django's shared-cache
# in-memory database: threads (the live server, a worker) then wait for the write lock through
# the busy timeout, as the demo's processes do, instead of failing with "table is locked".
# NAME too: the live server shares (and closes) the main thread's connection whenever NAME
# still looks in-memory when it starts.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _test_database = os.path.join(tempfile.gettempdir(), f"eniadmin-tests-{os.getpid()}.sqlite3")
    DATABASES["default"]["NAME"] = _test_database  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": _test_database}  # noqa: F405
