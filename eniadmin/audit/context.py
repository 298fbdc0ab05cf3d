"""Where an action comes from (client IP, user agent, correlation id), set once per request or job.

`events.record()` reads it, so callers never pass the request down to the audit code.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

USER_AGENT_MAX_LENGTH = 256


@dataclass(frozen=True)
class AuditContext:
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    client_ip: str | None = None
    user_agent: str = ""


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_context() -> AuditContext:
    """The context of the running request or job; outside both, a fresh one per event."""
    return _current.get() or AuditContext()


@contextmanager
def audit_context(context: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def job_context(name: str) -> Iterator[AuditContext]:
    """Give every event of one worker job or command the same correlation id, no IP or agent."""
    with audit_context(AuditContext()) as context:
        # The log line ties the job's name to its events, which store only the correlation id;
        # at DEBUG, because the worker opens a job every tick, mostly to find nothing to do.
        logger.debug("job %s started, audit correlation id %s", name, context.correlation_id)
        yield context


def client_ip_of(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
    address the outermost of them saw. Also the address django-axes locks out.

    X-Forwarded-For is read from the right: each trusted proxy appends the address it received
    the request from, so the entries to the left of theirs are whatever the client chose to send.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class AuditContextMiddleware:
    """Bind an audit context to each request: a new correlation id, the client IP and agent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        context = AuditContext(
            client_ip=client_ip_of(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
        )
        with audit_context(context):
            return self.get_response(request)
