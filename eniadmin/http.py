from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AppRequest(HttpRequest):
    """What our views receive once the middleware ran (for type checkers and readers)."""

    user: User
    htmx: HtmxDetails
