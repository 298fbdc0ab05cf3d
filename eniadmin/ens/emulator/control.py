"""A small client for the emulator's control API (/_emulator/), for tests and scripts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests

TIMEOUT_SECONDS = 30


class EmulatorControlError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class EmulatorControl:
    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first; only one action's entries when `action` is given."""
        params = {"action": action} if action else None
        return self._call("GET", "requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def reset(self, **options: int) -> dict[str, Any]:
        """Regenerate the fleet (seed=, instances=), clear faults and the request log."""
        return self._call("POST", "reset", json=options)

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self._call("GET", f"instances/{instance_id}")

    def set_instance_status(self, instance_id: str, status: str) -> dict[str, Any]:
        return self._call("POST", f"instances/{instance_id}", json={"status": status})

    def eni(self, eni_id: str) -> dict[str, Any]:
        return self._call("GET", f"enis/{eni_id}")

    def change_eni(self, eni_id: str, **fields: Any) -> dict[str, Any]:
        """Fields: status, instance_id, name, description, service_managed, stuck."""
        return self._call("POST", f"enis/{eni_id}", json=fields)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def set_faults(self, rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self._call("POST", "faults", json={"faults": list(rules)})["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def add_key(self, key_id: str, secret: str, deny: Iterable[str] = ()) -> None:
        self._call("POST", "keys", json={"id": key_id, "secret": secret, "deny": list(deny)})

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(
            method, f"{self.url}/_emulator/{path}", timeout=TIMEOUT_SECONDS, **kwargs
        )
        if not response.ok:
            raise EmulatorControlError(response.status_code, response.json().get("error", ""))
        return response.json()
