"""Fault injection: rules that make real actions slow, fail or vanish, for resilience tests.

A rule matches a request when its action is unset or equal to the request's action and it is not
spent; `count` limits how many matching requests it sees. `rate` is the chance that a matching
request gets the fault, drawn from a seeded random so a run can be repeated. Latency rules add up
and let the request go on; of the other kinds the first one drawn decides the answer.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eniadmin.ens.emulator.cloud import ApiError

LATENCY = "latency"
DROP = "drop"
ERRORS = {
    # kind: (code, message, HTTP status). Throttling's status is unconfirmed (ens-api.md 5); 400
    # plus x-acs-retry-after is what the SDKs handle.
    "throttle": ("Throttling.User", "Request was denied due to user flow control.", 400),
    "interface_error": ("ens.interface.error", "An error occurred while call the API.", 400),
    "internal_error": (
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
        500,
    ),
    "service_unavailable": (
        "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
        503,
    ),
    "no_permission": ("NoPermission", "Permission denied.", 400),
}
KINDS = (*ERRORS, LATENCY, DROP)
RULE_FIELDS = frozenset({"kind", "action", "rate", "count", "ms", "retry_after_ms", "when"})


@dataclass
class FaultRule:
    kind: str
    action: str | None = None
    rate: float = 1.0
    count: int | None = None
    ms: int = 0
    retry_after_ms: int = 1000
    when: str = "before"
    matched: int = field(default=0, compare=False)

    @property
    def spent(self) -> bool:
        return self.count is not None and self.matched >= self.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "rate": self.rate,
            "count": self.count,
            "ms": self.ms,
            "retry_after_ms": self.retry_after_ms,
            "when": self.when,
            "matched": self.matched,
            "spent": self.spent,
        }

    def error(self) -> ApiError:
        code, message, status = ERRORS[self.kind]
        headers = {"x-acs-retry-after": str(self.retry_after_ms)} if self.kind == "throttle" else {}
        return ApiError(code, message, status, headers)


def parse_rules(raw: Any, actions: Collection[str]) -> list[FaultRule]:
    """Rules from decoded JSON (a list of objects); ValueError names the first problem."""
    if not isinstance(raw, list):
        raise ValueError("faults must be a JSON list of rule objects")
    return [_parse_rule(item, position, actions) for position, item in enumerate(raw)]


def _parse_rule(raw: Any, position: int, actions: Collection[str]) -> FaultRule:
    where = f"fault rule {position}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not an object")
    if unknown := set(raw) - RULE_FIELDS:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
    action = raw.get("action")
    if action is not None and not (isinstance(action, str) and action in actions):
        raise ValueError(f"{where}: unknown action {action!r}")
    rate = raw.get("rate", 1.0)
    if not _is_number(rate) or not 0 <= rate <= 1:
        raise ValueError(f"{where}: rate must be a number from 0 to 1")
    count = raw.get("count")
    if count is not None and not (_is_int(count) and count >= 1):
        raise ValueError(f"{where}: count must be a positive integer")
    if kind == LATENCY and "ms" not in raw:
        raise ValueError(f"{where}: a latency rule needs ms")
    ms = raw.get("ms", 0)
    retry_after_ms = raw.get("retry_after_ms", 1000)
    for name, value in (("ms", ms), ("retry_after_ms", retry_after_ms)):
        if not (_is_int(value) and value >= 0):
            raise ValueError(f"{where}: {name} must be a non-negative integer")
    when = raw.get("when", "before")
    if when not in ("before", "after"):
        raise ValueError(f"{where}: when must be before or after")
    return FaultRule(kind, action, float(rate), count, ms, retry_after_ms, when)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: wait latency_ms, then apply `fault` if there is one."""

    latency_ms: int = 0
    fault: FaultRule | None = None


class FaultInjector:
    def __init__(self, rules: Iterable[FaultRule] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules = list(rules)
        self._seed = seed
        # Seeded so a failing run can be repeated; nothing here is a secret.
        self._rng = random.Random(seed)  # noqa: S311

    def replace(self, rules: Iterable[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._rng = random.Random(self._seed)  # noqa: S311 - see __init__

    def clear(self) -> None:
        self.replace(())

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def plan(self, action: str) -> FaultPlan:
        latency_ms = 0
        fault = None
        with self._lock:
            for rule in self._rules:
                if rule.spent or rule.action not in (None, action):
                    continue
                rule.matched += 1
                if self._rng.random() >= rule.rate:
                    continue
                if rule.kind == LATENCY:
                    latency_ms += rule.ms
                elif fault is None:
                    fault = rule
        return FaultPlan(latency_ms, fault)
