"""The one way to write the audit history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from eniadmin.audit.chain import hash_of
from eniadmin.audit.context import current_context
from eniadmin.audit.models import (
    ANONYMOUS_ACTOR_NAME,
    OUTCOME_OK,
    SYSTEM_ACTOR_NAME,
    Action,
    AuditEvent,
)

# Key of the PostgreSQL advisory lock that serialises appends: the bytes of "eniaudit".
CHAIN_LOCK_KEY = int.from_bytes(b"eniaudit", "big")

JsonState = dict[str, Any] | list[Any] | str | int | bool | None


class RecordOutsideTransaction(RuntimeError):
    """record() ran in autocommit mode, where the event could outlive a rolled-back change."""


def record(
    action: Action | str,
    *,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    on_behalf_of: AbstractBaseUser | None = None,
    eni_id: str = "",
    instance_id: str = "",
    region_id: str = "",
    request_id: str = "",
    outcome: str = OUTCOME_OK,
    before: JsonState = None,
    after: JsonState = None,
    comment: str = "",
) -> AuditEvent:
    """Append one event to the audit chain, inside the caller's transaction.

    `actor` None means the system (background work; pass the approver as `on_behalf_of` when
    carrying out their decision); an anonymous user records "anonymous". Client IP, user agent
    and correlation id come from the request's or job's audit context.

    `before` and `after` hold JSON made of objects, lists, strings, integers, booleans and null.
    Floats are refused: their text form differs between databases, and the hash depends on it.
    """
    if not connection.in_atomic_block:
        raise RecordOutsideTransaction(
            "audit.record() must run inside the transaction.atomic() block of the change it "
            "describes, so that both commit or roll back together."
        )
    _check_json_state(before, "before")
    _check_json_state(after, "after")
    context = current_context()
    event = AuditEvent(
        action=Action(action).value,
        on_behalf_of=on_behalf_of,
        on_behalf_of_name=on_behalf_of.get_username() if on_behalf_of else "",
        eni_id=eni_id,
        instance_id=instance_id,
        region_id=region_id,
        request_id=request_id,
        outcome=outcome,
        before=before,
        after=after,
        comment=comment,
        # Hash exactly what the database will store: the field normalises IPv6 addresses.
        client_ip=AuditEvent._meta.get_field("client_ip").get_prep_value(context.client_ip),
        user_agent=context.user_agent,
        correlation_id=context.correlation_id,
    )
    _set_actor(event, actor)
    # The user foreign keys are skipped: they come from the caller's own objects, and checking
    # them would cost a query each.
    event.full_clean(
        exclude=["actor", "on_behalf_of", "created", "previous_hash", "hash"],
        validate_unique=False,
    )

    serialise_appends()
    # Read the tip and the clock only while holding the append lock, so that ids, times and
    # links all follow the same order.
    event.created = timezone.now()
    event.previous_hash = (
        AuditEvent.objects.newest_first().values_list("hash", flat=True).first() or ""
    )
    event.hash = hash_of(event)
    event.save(force_insert=True)
    return event


def _set_actor(event: AuditEvent, actor: AbstractBaseUser | AnonymousUser | None) -> None:
    if actor is None:
        event.actor_name = SYSTEM_ACTOR_NAME
    elif actor.is_authenticated:
        event.actor = actor
        event.actor_name = actor.get_username()
    else:
        event.actor_name = ANONYMOUS_ACTOR_NAME


def serialise_appends() -> None:
    """Make concurrent writers append one after the other, so the chain never forks.

    The lock lasts until the caller's transaction ends. The unique constraint on previous_hash
    is the backstop: a writer that slipped past would fail instead of forking the chain.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    elif connection.vendor == "sqlite":
        # BEGIN IMMEDIATE takes SQLite's single write lock when the transaction starts.
        if connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
            raise ImproperlyConfigured(
                "The audit chain needs SQLite's transaction_mode IMMEDIATE (see settings.py)."
            )
    else:
        raise ImproperlyConfigured(f"The audit chain has no append lock for {connection.vendor}.")


def _check_json_state(value: object, name: str) -> None:
    if isinstance(value, float):
        raise TypeError(f"audit {name} must not contain floats; record them as strings.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit {name} keys must be strings, not {key!r}.")
            _check_json_state(item, name)
    elif isinstance(value, list):
        for item in value:
            _check_json_state(item, name)
    elif not isinstance(value, str | int | bool | None):
        raise TypeError(f"audit {name} holds {type(value).__name__}, which is not plain JSON.")
