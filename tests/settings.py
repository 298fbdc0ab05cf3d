"""Settings for the test suite: the project's settings with a test key and a fast hasher."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from eniadmin.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The suite does not run collectstatic; let WhiteNoise find files where they are written.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
