"""Whether a detach may be requested for an ENI, and if not, every reason in operator words.

The one place these rules live: the list page, the request, the approval and the worker (right
before it calls ENS) all ask this module. It is plain Python over plain values, so the detach
workflow can feed it fresh cloud state instead of the cached mirror.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from eniadmin.ens.client import EnsClient
from eniadmin.inventory.models import EniStatus, EniType, InstanceStatus, NetworkInterface


@dataclass(frozen=True, slots=True)
class DetachState:
    """What the rules look at, from the mirror or read fresh from ENS."""

    eni_status: str
    eni_type: str
    attached_instance_id: str
    instance_status: str  # "" when the instance is unknown
    service_managed: bool = False
    gone: bool = False
    has_open_request: bool = False
    # A new request offered as the remedy for a stuck one: the ENI is still Detaching, and the
    # documented remedy is to issue the detach again.
    retrying_stuck: bool = False

    def facts(self) -> dict[str, str]:
        """The live facts a detach decision rests on: a change in any of them voids it."""
        return {
            "eni_status": self.eni_status,
            "eni_type": self.eni_type,
            "attached_instance_id": self.attached_instance_id,
            "instance_status": self.instance_status,
        }


def detach_blockers(state: DetachState) -> list[str]:
    """Every reason a detach may not be requested now; empty when it may."""
    if state.gone:
        return ["ENS no longer lists this network interface."]
    reasons = []
    if state.eni_type == EniType.PRIMARY:
        reasons.append("It is the instance's primary network interface, which cannot be detached.")
    elif state.eni_type != EniType.SECONDARY:
        reasons.append(
            f"Its type is {state.eni_type or 'unknown'}; only Secondary can be detached."
        )
    stuck_again = state.retrying_stuck and state.eni_status == EniStatus.DETACHING
    if state.eni_status != EniStatus.IN_USE and not stuck_again:
        reasons.append(f"Its status is {state.eni_status or 'unknown'}; it must be InUse.")
    if not state.attached_instance_id:
        if state.eni_status == EniStatus.IN_USE or stuck_again:
            reasons.append("It is not attached to any instance.")
    elif state.instance_status != InstanceStatus.STOPPED:
        status = state.instance_status or "unknown to the dashboard"
        reasons.append(f"Its instance is {status}; it must be Stopped.")
    if state.service_managed:
        reasons.append(
            "It is managed by a cloud service (ENS refused a change for that reason); "
            "change it through that service."
        )
    if state.has_open_request:
        reasons.append("A detach request for it is already open.")
    return reasons


def mirror_state(
    eni: NetworkInterface, *, has_open_request: bool = False, retrying_stuck: bool = False
) -> DetachState:
    """The state as the inventory last saw it (the ENI's instance must be loaded with it)."""
    instance = eni.instance
    return DetachState(
        eni_status=eni.status,
        eni_type=eni.type,
        attached_instance_id=eni.attached_instance_id,
        instance_status=instance.status if instance and not instance.gone_at else "",
        service_managed=eni.service_managed,
        gone=eni.gone_at is not None,
        has_open_request=has_open_request,
        retrying_stuck=retrying_stuck,
    )


def mirror_blockers(eni: NetworkInterface, *, has_open_request: bool) -> tuple[str, ...]:
    """detach_blockers() of the state the inventory last saw, for the list and its rows."""
    return _remembered_blockers(mirror_state(eni, has_open_request=has_open_request))


@functools.lru_cache(maxsize=256)
def _remembered_blockers(state: DetachState) -> tuple[str, ...]:
    # A page's hundreds of rows share a few states: the rules answer each once.
    return tuple(detach_blockers(state))


def fresh_state(
    client: EnsClient,
    eni_id: str,
    *,
    service_managed: bool = False,
    has_open_request: bool = False,
    retrying_stuck: bool = False,
) -> DetachState:
    """The state read from ENS now, by id: DescribeNetworkInterfaces, then DescribeInstances.

    ENS never says whether an ENI is service-managed, so that comes from the mirror. Raises the
    client's EnsError when ENS cannot be read.
    """
    eni = client.get_network_interface(eni_id)
    if eni is None:
        return DetachState("", "", "", "", service_managed=service_managed, gone=True)
    instance = client.get_instance(eni.instance_id) if eni.instance_id else None
    return DetachState(
        eni_status=eni.status,
        eni_type=eni.type,
        attached_instance_id=eni.instance_id,
        instance_status=instance.status if instance else "",
        service_managed=service_managed,
        has_open_request=has_open_request,
        retrying_stuck=retrying_stuck,
    )
