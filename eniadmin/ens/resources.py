"""What the ENS API returns, as small typed objects holding every field the dashboard shows.

Parsing is strict about shape (a list where a list belongs) and lenient about absent optional
fields, which the API omits freely; a wrong shape raises MalformedResponse.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MalformedResponse(ValueError):
    """The body is JSON, but not of the shape the action documents."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    raise MalformedResponse(f"{key} should be a string, got {type(value).__name__}")


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"{key} should be an object, got {type(value).__name__}")
    return value


def _list(data: Mapping[str, Any], outer: str, inner: str) -> list[Any]:
    """ENS nests every list one level down: {"Outer": {"Inner": [...]}}."""
    value = _mapping(data, outer).get(inner)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"{outer}.{inner} should be a list, got {type(value).__name__}")
    return value


def _objects(data: Mapping[str, Any], outer: str, inner: str) -> Iterator[Mapping[str, Any]]:
    for item in _list(data, outer, inner):
        if not isinstance(item, Mapping):
            raise MalformedResponse(f"{outer}.{inner} should hold objects")
        yield item


def _strings(data: Mapping[str, Any], outer: str, inner: str) -> tuple[str, ...]:
    return tuple(str(item) for item in _list(data, outer, inner) if item not in (None, ""))


def parse_time(value: str) -> datetime | None:
    """ENS writes 2022-01-01T00:00:00Z, and its docs also show yyyy-MM-ddThh:mmZ."""
    if not value:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EnsRegion:
    region_id: str
    name: str
    en_name: str
    area: str
    province: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> EnsRegion:
        return cls(
            region_id=_text(data, "EnsRegionId"),
            name=_text(data, "Name"),
            en_name=_text(data, "EnName"),
            area=_text(data, "Area"),
            province=_text(data, "Province"),
        )


@dataclass(frozen=True, slots=True)
class InstanceInterface:
    """An ENI as DescribeInstances lists it under its instance: no status there."""

    eni_id: str
    type: str
    mac_address: str
    primary_ip: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> InstanceInterface:
        return cls(
            eni_id=_text(data, "NetworkInterfaceId"),
            type=_text(data, "Type"),
            mac_address=_text(data, "MacAddress"),
            primary_ip=_text(data, "PrimaryIpAddress"),
        )


@dataclass(frozen=True, slots=True)
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
    interfaces: tuple[InstanceInterface, ...]
    creation_time: datetime | None
    expired_time: datetime | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Instance:
        network = _mapping(data, "NetworkAttributes")
        private_ips = _strings(data, "InnerIpAddress", "IpAddress") or tuple(
            _text(item, "Ip") for item in _objects(data, "PrivateIpAddresses", "PrivateIpAddress")
        )
        public_ips = _strings(data, "PublicIpAddress", "IpAddress") or tuple(
            _text(item, "Ip") for item in _objects(data, "PublicIpAddresses", "PublicIpAddress")
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
            interfaces=tuple(
                InstanceInterface.from_api(item)
                for item in _objects(data, "NetworkInterfaces", "NetworkInterfaces")
            ),
            creation_time=parse_time(_text(data, "CreationTime")),
            expired_time=parse_time(_text(data, "ExpiredTime")),
        )


@dataclass(frozen=True, slots=True)
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
    def from_api(cls, data: Mapping[str, Any]) -> NetworkInterface:
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
            private_ips=tuple(
                _text(item, "PrivateIpAddress")
                for item in _objects(data, "PrivateIpSets", "PrivateIpSet")
            ),
            ipv6_addresses=tuple(
                _text(item, "Ipv6Address") for item in _objects(data, "Ipv6Sets", "Ipv6Set")
            ),
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
