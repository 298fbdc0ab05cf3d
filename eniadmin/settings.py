"""Settings for eniadmin: one file, every difference between machines comes from the environment.

Each variable is documented in README.md and .env.example.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
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
    "csp",
    "axes",
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
    "eniadmin.accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
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
                "eniadmin.context_processors.csp_nonce",
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

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inventory:instance-list"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

# Lock-out after repeated failed logins (django-axes), per username and, separately, per client
# address; every lock-out is an audit event. A success resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# A try during a lock must not lengthen it: one wrong password every few minutes would otherwise
# keep any known username (the only Approver's) locked for as long as an attacker likes.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "eniadmin.audit.context.client_ip_of"
AXES_USERNAME_CALLABLE = "eniadmin.accounts.lockout.attempted_username"
AXES_VERBOSE = False

# HTTPS and browser protections. Production (DEBUG off) gets the strict values by default; a
# TLS-terminating reverse proxy is trusted only when TRUSTED_PROXY_COUNT says how many there are
# (README, "Deploying"): then X-Forwarded-Proto and X-Forwarded-For are believed, never otherwise.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe the backends over plain HTTP: the health check answers, not redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# Pages read the CSRF token from the template (hx-headers), never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style and no eval: scripts come from our origin or carry the per-request
# nonce ({% htmx_script %} adds it); htmx's eval features are off in base.html.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
# `collectstatic` writes compressed files with hashed names that WhiteNoise serves with a
# far-future cache header.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

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
