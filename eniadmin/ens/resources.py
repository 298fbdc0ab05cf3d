"""What the ENS API returns, as small typed objects holding every field the dashboard shows.

Parsing is strict about shape (a list where a list belongs) and lenient about absent optional
fields, which the API omits freely; a wrong shape raises MalformedResponse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MalformedResponse(ValueError):
    """The body is JSON, but not of the shape the action documents."""


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value.__class__ is str:  # the common case first: a page holds thousands of these
        return value
    if value is None:
        return ""
    if isinstance(value, int | float | bool):
        return str(value)
    raise MalformedResponse(f"{key} should be a string, got {type(value).__name__}")


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if value.__class__ is not dict:
        raise MalformedResponse(f"{key} should be an object, got {type(value).__name__}")
    return value


def nested_list(data: dict[str, Any], outer: str, inner: str) -> list[Any]:
    """ENS nests every list one level down: {"Outer": {"Inner": [...]}}."""
    container = data.get(outer)
    if not container:
        return []
    if container.__class__ is not dict:
        raise MalformedResponse(f"{outer} should be an object, got {type(container).__name__}")
    value = container.get(inner)
    if value is None:
        return []
    if value.__class__ is not list:
        raise MalformedResponse(f"{outer}.{inner} should be a list, got {type(value).__name__}")
    return value


def nested_objects(data: dict[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    items = nested_list(data, outer, inner)
    for item in items:
        if item.__class__ is not dict:
            raise MalformedResponse(f"{outer}.{inner} should hold objects")
    return items


def _strings(data: dict[str, Any], outer: str, inner: str) -> tuple[str, ...]:
    items = nested_list(data, outer, inner)
    return tuple([str(item) for item in items if item]) if items else ()


def _field_of_each(data: dict[str, Any], outer: str, inner: str, key: str) -> tuple[str, ...]:
    items = nested_objects(data, outer, inner)
    return tuple([_text(item, key) for item in items]) if items else ()


def parse_time(value: str) -> datetime | None:
    """ENS writes 2022-01-01T00:00:00Z, and its docs also show yyyy-MM-ddThh:mmZ."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EnsRegion:
    region_id: str
    name: str
    en_name: str
    area: str
    province: str

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> EnsRegion:
        return cls(
            region_id=_text(data, "EnsRegionId"),
            name=_text(data, "Name"),
            en_name=_text(data, "EnName"),
            area=_text(data, "Area"),
            province=_text(data, "Province"),
        )


@dataclass(slots=True)
class Instance:
    instance_id: str
    name: str
    host_name: str
    region_id: str
    status: str
    spec_name: str
    image_id: str
    network_id: str
    vswitch_id: str
    private_ips: tuple[str, ...]
    public_ips: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    creation_time: datetime | None
    expired_time: datetime | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Instance:
        network = _object(data, "NetworkAttributes")
        private_ips = _strings(data, "InnerIpAddress", "IpAddress") or _field_of_each(
            data, "PrivateIpAddresses", "PrivateIpAddress", "Ip"
        )
        public_ips = _strings(data, "PublicIpAddress", "IpAddress") or _field_of_each(
            data, "PublicIpAddresses", "PublicIpAddress", "Ip"
        )
        return cls(
            instance_id=_text(data, "InstanceId"),
            name=_text(data, "InstanceName"),
            host_name=_text(data, "HostName"),
            region_id=_text(data, "EnsRegionId"),
            status=_text(data, "Status"),
            spec_name=_text(data, "SpecName"),
            image_id=_text(data, "ImageId"),
            network_id=_text(network, "NetworkId"),
            vswitch_id=_text(network, "VSwitchId"),
            private_ips=private_ips,
            public_ips=public_ips,
            security_group_ids=_strings(data, "SecurityGroupIds", "SecurityGroupId"),
            creation_time=parse_time(_text(data, "CreationTime")),
            expired_time=parse_time(_text(data, "ExpiredTime")),
        )


@dataclass(slots=True)
class NetworkInterface:
    eni_id: str
    name: str
    description: str
    region_id: str
    instance_id: str  # "" when not attached
    status: str
    type: str
    primary_ip: str
    primary_ip_type: str
    mac_address: str
    network_id: str
    vswitch_id: str
    security_group_ids: tuple[str, ...]
    private_ips: tuple[str, ...]
    ipv6_addresses: tuple[str, ...]
    creation_time: datetime | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> NetworkInterface:
        return cls(
            eni_id=_text(data, "NetworkInterfaceId"),
            name=_text(data, "NetworkInterfaceName"),
            description=_text(data, "Description"),
            region_id=_text(data, "EnsRegionId"),
            instance_id=_text(data, "InstanceId"),
            status=_text(data, "Status"),
            type=_text(data, "Type"),
            primary_ip=_text(data, "PrimaryIp"),
            primary_ip_type=_text(data, "PrimaryIpType"),
            mac_address=_text(data, "MacAddress"),
            network_id=_text(data, "NetworkId"),
            vswitch_id=_text(data, "VSwitchId"),
            security_group_ids=_strings(data, "SecurityGroupIds", "SecurityGroup"),
            private_ips=_field_of_each(data, "PrivateIpSets", "PrivateIpSet", "PrivateIpAddress"),
            ipv6_addresses=_field_of_each(data, "Ipv6Sets", "Ipv6Set", "Ipv6Address"),
            creation_time=parse_time(_text(data, "CreationTime")),
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a Describe* answer."""

    items: list[T]
    total_count: int
    page_number: int
    page_size: int
    request_id: str


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The answer to a write: ENS acknowledges it and works asynchronously."""

    request_id: str
    action: str = field(default="")
