"""What the mirror keeps of each ENS item: its column values by field name, keyed by its id,
with a fingerprint of them that the sync compares with the row's instead of every column.

Free of Django, so that the sync's page walker process (eniadmin.ens.walker) can shape each
page before sending it: dicts of strings cross the pipe in half the time the client's objects
take, and this work, fingerprints included, is then off the process that writes to the
database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from eniadmin.ens import resources

Values = dict[str, dict[str, object]]


def instance_values(items: list[resources.Instance]) -> Values:
    return {
        item.instance_id: fingerprinted(
            {
                "name": item.name,
                "host_name": item.host_name,
                "region_id": item.region_id,
                "status": item.status,
                "spec_name": item.spec_name,
                "image_id": item.image_id,
                "network_id": item.network_id,
                "vswitch_id": item.vswitch_id,
                "private_ips": _spaced(item.private_ips),
                "public_ips": _spaced(item.public_ips),
                "security_group_ids": _spaced(item.security_group_ids),
                "cloud_created_at": item.creation_time,
                "expires_at": item.expired_time,
            }
        )
        for item in items
    }


def network_interface_values(items: list[resources.NetworkInterface]) -> Values:
    return {
        item.eni_id: fingerprinted(
            {
                "name": item.name,
                "description": item.description,
                "region_id": item.region_id,
                "attached_instance_id": item.instance_id,
                "status": item.status,
                "type": item.type,
                "primary_ip": item.primary_ip,
                "primary_ip_type": item.primary_ip_type,
                "mac_address": item.mac_address,
                "network_id": item.network_id,
                "vswitch_id": item.vswitch_id,
                "security_group_ids": _spaced(item.security_group_ids),
                "private_ips": _spaced(item.private_ips),
                "ipv6_addresses": _spaced(item.ipv6_addresses),
                "cloud_created_at": item.creation_time,
            }
        )
        for item in items
    }


def region_values(items: list[resources.EnsRegion]) -> Values:
    return {
        item.region_id: fingerprinted(
            {
                "name": item.name,
                "en_name": item.en_name,
                "area": item.area,
                "province": item.province,
            }
        )
        for item in items
    }


def fingerprinted(values: dict[str, object]) -> dict[str, object]:
    """The values, and under "fingerprint" a digest of them all, in order."""
    text = "\x1f".join(
        [
            value
            if value.__class__ is str  # nearly all of them: skip the checks below
            else value.isoformat()
            if isinstance(value, datetime)
            else str(value)
            for value in values.values()
        ]
    )
    values["fingerprint"] = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return values


def _spaced(values: Iterable[str]) -> str:
    return " ".join(values)
