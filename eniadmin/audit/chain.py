"""The hash chain that makes the audit history tamper-evident.

Each event's hash is SHA-256 over the previous event's hash followed by the event's canonical
content, so changing, deleting or inserting a row breaks the chain from that row on. These are
pure functions over anything shaped like an event, shared by `events.record()`, `verify_audit`
and the tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# Every stored field except the id (assigned by the database) and the hash itself. The user
# foreign keys are left out on purpose: ON DELETE SET NULL clears them when a user is deleted,
# which must not break the chain; the hashed name copies keep who it was.
HASHED_FIELDS = (
    "created",
    "actor_name",
    "on_behalf_of_name",
    "action",
    "eni_id",
    "instance_id",
    "region_id",
    "request_id",
    "outcome",
    "before",
    "after",
    "comment",
    "client_ip",
    "user_agent",
    "correlation_id",
    "previous_hash",
)


class ChainedEvent(Protocol):
    id: int
    hash: str
    previous_hash: str


def canonical_content(event: object) -> str:
    """The hashed fields as JSON with sorted keys and UTC ISO times: byte-for-byte stable."""
    values: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        elif name == "correlation_id":
            value = str(value)
        values[name] = value
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def chain_hash(previous_hash: str, content: str) -> str:
    return hashlib.sha256((previous_hash + content).encode("utf-8")).hexdigest()


def hash_of(event: ChainedEvent) -> str:
    return chain_hash(event.previous_hash, canonical_content(event))


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str

    def __str__(self) -> str:
        return f"event #{self.event_id}: {self.problem}"


def first_break(
    events: Iterable[ChainedEvent],
    *,
    purge_checkpoints: Mapping[str, int],
    event_id_with_hash: Callable[[str], int | None],
) -> ChainBreak | None:
    """Walk the events in id order and return the first place where the chain does not hold.

    `purge_checkpoints` maps the hash of the last event each purge removed to that event's id:
    the oldest remaining event may link to such a hash, and only to one of those (or to "" when
    nothing was ever purged). `event_id_with_hash` is asked only once something is wrong, to
    tell a deleted predecessor from an inserted row. The problem named is the likeliest cause.
    """
    previous: ChainedEvent | None = None
    for event in events:
        content_holds = hash_of(event) == event.hash
        link_holds = _links_to(event, previous, purge_checkpoints)
        if not content_holds and not link_holds:
            return ChainBreak(
                event.id, "inserted row: neither its hash nor its link to the event before match"
            )
        if not content_holds:
            return ChainBreak(event.id, "content changed: its hash does not match its content")
        if not link_holds:
            return _explain_broken_link(event, previous, event_id_with_hash)
        previous = event
    return None


def _links_to(
    event: ChainedEvent, previous: ChainedEvent | None, purge_checkpoints: Mapping[str, int]
) -> bool:
    if previous is not None:
        return event.previous_hash == previous.hash
    if not event.previous_hash:
        return True
    purged_through = purge_checkpoints.get(event.previous_hash)
    return purged_through is not None and purged_through < event.id


def _explain_broken_link(
    event: ChainedEvent,
    previous: ChainedEvent | None,
    event_id_with_hash: Callable[[str], int | None],
) -> ChainBreak:
    if previous is None:
        return ChainBreak(
            event.id,
            "missing link: the events before it were deleted, and no purge checkpoint records "
            "that removal",
        )
    linked_id = event_id_with_hash(event.previous_hash)
    if linked_id is None:
        return ChainBreak(
            event.id,
            f"missing link: it does not follow #{previous.id}; the event it followed was "
            f"deleted, or #{previous.id} was rewritten with a new hash",
        )
    if event.previous_hash == previous.previous_hash:
        return ChainBreak(
            previous.id, f"inserted row: event #{event.id} links past it, to #{linked_id}"
        )
    return ChainBreak(
        event.id,
        f"inserted row: it links back to #{linked_id}, which already has a successor, "
        f"instead of to #{previous.id}",
    )
