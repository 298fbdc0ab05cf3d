"""Settings for eniadmin: one file, every difference between machines comes from the environment.

Each variable is documented in README.md and .env.example.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (or .env); "
            "only DEBUG=True runs with the built-in development key."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "eniadmin",
    "eniadmin.accounts",
    "eniadmin.audit",
    "eniadmin.inventory",
    "eniadmin.detach",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "eniadmin.audit.context.AuditContextMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "eniadmin.urls"
WSGI_APPLICATION = "eniadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        # template_partials replaces APP_DIRS with its own cached loader chain.
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eniadmin.accounts.context_processors.roles",
                "eniadmin.inventory.context_processors.fleet_status",
                "eniadmin.detach.context_processors.review_queue",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# The web process and the worker share one SQLite file: wait for the lock instead of failing,
# and take the write lock when a transaction starts so that two writers never deadlock.
_default_sqlite = f"sqlite:///{VAR_DIR / 'eniadmin.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_default_sqlite)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] == str(VAR_DIR / "eniadmin.sqlite3"):
        VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inventory:instance-list"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

# The Alibaba Cloud ENS API, or the bundled emulator (see README, "The ENS emulator").
ENS_ENDPOINT = env.str("ENS_ENDPOINT", default="")
ENS_ACCESS_KEY_ID = env.str("ENS_ACCESS_KEY_ID", default="")
ENS_ACCESS_KEY_SECRET = env.str("ENS_ACCESS_KEY_SECRET", default="")
ENS_SECURITY_TOKEN = env.str("ENS_SECURITY_TOKEN", default="")
ENS_SIGNATURE_VERSION = env.str("ENS_SIGNATURE_VERSION", default="v3")
ENS_CONNECT_TIMEOUT = env.float("ENS_CONNECT_TIMEOUT", default=3.05)
ENS_READ_TIMEOUT = env.float("ENS_READ_TIMEOUT", default=15.0)

# Seconds between the worker's scheduled inventory syncs.
INVENTORY_SYNC_SECONDS = env.int("INVENTORY_SYNC_SECONDS", default=300)

# The detach workflow, in seconds: how long a pending request waits for a decision, how long an
# approved one waits for the worker, how long an ENI may stay Detaching before the request is
# stuck, and how often at most the cloud is asked about one ENI whatever the number of watchers.
DETACH_REQUEST_TTL = env.int("DETACH_REQUEST_TTL", default=24 * 60 * 60)
DETACH_EXECUTE_WINDOW = env.int("DETACH_EXECUTE_WINDOW", default=15 * 60)
DETACH_STUCK_AFTER = env.int("DETACH_STUCK_AFTER", default=5 * 60)
ENS_REFRESH_SECONDS = env.float("ENS_REFRESH_SECONDS", default=2.0)

# E-mail: EMAIL_URL (smtp://user:password@host:587, smtp+tls://…) wins; otherwise EMAIL_BACKEND,
# the console by default. SITE_URL makes the links in e-mails absolute.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="eniadmin@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Audit events older than this are purged by `manage.py purge_audit`; never less than 180.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
if AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 180.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "eniadmin": {
            "handlers": ["console"],
            "level": env.str("LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
    },
}
