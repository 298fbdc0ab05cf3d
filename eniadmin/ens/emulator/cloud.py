"""The emulated cloud: fleet state, the ENS actions and their state machine.

One lock guards everything. Time moves by itself: a started transition (Detaching, Attaching,
Starting, Stopping) is due at a clock time, and every call first applies the transitions that
are due, in due order, from a heap. Nothing runs in the background, so an injected clock
controls it all.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eniadmin.ens.emulator.fleet import (
    ENI_STATUSES,
    INSTANCE_STATUSES,
    Fleet,
    Instance,
    NetworkInterface,
    generate_fleet,
    record_to_dict,
)

Params = Mapping[str, str]
Body = dict[str, Any]

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_LIST_ITEMS = 100
MAX_ENIS_PER_INSTANCE = 10
JITTER = 0.1
STATE_FORMAT = 1

ENI_COMPLETIONS = {"Detaching": "Available", "Attaching": "InUse"}
INSTANCE_COMPLETIONS = {"Starting": "Running", "Stopping": "Stopped"}


class ApiError(Exception):
    """An error answer in the gateway's shape; the server adds RequestId, HostId, Recommend."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.headers = dict(headers or {})


class ControlError(Exception):
    """A refused control-API call: bad input (400) or an unknown id (404)."""

    def __init__(self, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not '
        "supplied.",
    )


def invalid_parameter(name: str) -> ApiError:
    return ApiError(
        f"InvalidParameter.{name}", f"The specified field {name} invalid. Please check it again."
    )


ENI_NOT_FOUND = ("InvalidEniId.NotFound", "The specified NetworkInterfaceId does not exist.")
ENI_SERVICE_MANAGED = ("InvalidParameter.EniServiceManaged", "The eni is managed by service.")
ENI_BAD_TYPE = (
    "InvalidOperation.InvalidEniType",
    "The type of eni does not support this operation.",
)
ENI_BAD_STATUS = (
    "InvalidOperation.InvalidEniStatus",
    "Current eni status does not support this operation.",
)
INSTANCE_BAD_STATUS = (
    "InvalidOperation.InvalidEnsStatus",
    "Current instance status does not support this operation.",
)
# The typo "instancdId" is the documented message (ens-api.md 2.2).
INSTANCE_NOT_FOUND = ("InstanceNotFound", "The input parameter instancdId that is not found.")
INSTANCE_NOT_SUPPORTED = (
    "InvalidOperation.InstanceNotSupport",
    "The specified instance does not support this operation.",
)
# Inferred: the docs promise at most 10 ENIs per instance but their error table is cut off after
# "InvalidOper…"; ENS names precondition failures InvalidOperation.*, so we follow that pattern.
ENI_LIMIT_EXCEEDED = (
    "InvalidOperation.EniCountExceeded",
    "The number of ENIs attached to the instance exceeds the limit.",
)


@dataclass(slots=True)
class Pending:
    due: float
    status: str


class Cloud:
    def __init__(
        self,
        fleet: Fleet,
        *,
        detach_seconds: float = 3.0,
        instance_transition_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
        pending: Mapping[str, Pending] | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.detach_seconds = detach_seconds
        self.instance_transition_seconds = instance_transition_seconds
        self.version = 0
        self._install(fleet, pending or {})

    @classmethod
    def generate(cls, *, seed: int, instances: int, **settings: Any) -> Cloud:
        return cls(generate_fleet(seed=seed, instances=instances), **settings)

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any], **settings: Any) -> Cloud:
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported state format {data.get('format')!r}")
        pending = {key: Pending(*value) for key, value in data["pending"].items()}
        return cls(Fleet.from_dict(data["fleet"]), pending=pending, **settings)

    def _install(self, fleet: Fleet, pending: Mapping[str, Pending]) -> None:
        self.fleet = fleet
        self.instances = {i.instance_id: i for i in fleet.instances}
        self.enis = {e.network_interface_id: e for e in fleet.network_interfaces}
        self.eni_rank = {e.network_interface_id: n for n, e in enumerate(fleet.network_interfaces)}
        self.enis_by_instance: dict[str, list[NetworkInterface]] = {}
        for eni in fleet.network_interfaces:
            if eni.instance_id:
                self.enis_by_instance.setdefault(eni.instance_id, []).append(eni)
        # Seeded so a run can be repeated; nothing here is a secret.
        self.jitter_rng = random.Random(fleet.seed)  # noqa: S311
        self.pending: dict[str, Pending] = {}
        self.heap: list[tuple[float, int, str, Pending]] = []
        self.heap_sequence = 0
        for record_id, transition in pending.items():
            self._schedule(record_id, transition)

    # Time --------------------------------------------------------------------------------------

    def _schedule(self, record_id: str, pending: Pending) -> None:
        self.pending[record_id] = pending
        self.heap_sequence += 1
        heapq.heappush(self.heap, (pending.due, self.heap_sequence, record_id, pending))

    def _start_transition(self, record: Instance | NetworkInterface) -> None:
        """Schedule the natural end of a transitional status; a stuck detach never ends."""
        if isinstance(record, NetworkInterface):
            record_id, target = record.network_interface_id, ENI_COMPLETIONS.get(record.status)
            base = self.detach_seconds
            if record.status == "Detaching" and record.stuck_on_detach:
                target = None
        else:
            record_id, target = record.instance_id, INSTANCE_COMPLETIONS.get(record.status)
            base = self.instance_transition_seconds
        self.pending.pop(record_id, None)
        if target:
            duration = base * (1 + self.jitter_rng.uniform(-JITTER, JITTER))
            self._schedule(record_id, Pending(self.clock() + duration, target))

    def _settle(self) -> None:
        now = self.clock()
        while self.heap and self.heap[0][0] <= now:
            _, _, record_id, pending = heapq.heappop(self.heap)
            if self.pending.get(record_id) is not pending:
                continue  # superseded by a later change
            del self.pending[record_id]
            if record_id in self.enis:
                eni = self.enis[record_id]
                eni.status = pending.status
                if pending.status == "Available":
                    self._set_eni_instance(eni, "")
            else:
                self.instances[record_id].status = pending.status

    def _set_eni_instance(self, eni: NetworkInterface, instance_id: str) -> None:
        if eni.instance_id:
            self.enis_by_instance[eni.instance_id].remove(eni)
        eni.instance_id = instance_id
        if instance_id:
            attached = self.enis_by_instance.setdefault(instance_id, [])
            attached.append(eni)
            attached.sort(key=lambda e: self.eni_rank[e.network_interface_id])

    # Actions -----------------------------------------------------------------------------------

    def describe_ens_regions(self, params: Params) -> Body:
        wanted = params.get("EnsRegionId", "")
        with self.lock:
            regions = [r for r in self.fleet.regions if not wanted or r.ens_region_id == wanted]
        return {
            "Code": 0,
            "EnsRegions": {
                "EnsRegions": [
                    {
                        "EnsRegionId": region.ens_region_id,
                        "Name": region.name,
                        "EnName": region.en_name,
                        "Area": region.area,
                        "Province": region.province,
                    }
                    for region in regions
                ]
            },
        }

    def describe_instances(self, params: Params) -> Body:
        instance_ids = json_list_param(params, "InstanceIds")
        region_ids = json_list_param(params, "EnsRegionIds")
        page_number, page_size = page_params(params)
        checks = instance_checks(params, region_ids)
        with self.lock:
            self._settle()
            if instance_ids is None:
                candidates: Iterable[Instance] = self.fleet.instances
            else:
                wanted = set(instance_ids)
                candidates = [i for i in self.fleet.instances if i.instance_id in wanted]
            matches = _filtered(candidates, checks)
            start = (page_number - 1) * page_size
            page = matches[start : start + page_size]
            return {
                "Code": 0,
                "TotalCount": len(matches),
                "PageNumber": page_number,
                "PageSize": page_size,
                "Instances": {"Instance": [self._instance_view(i) for i in page]},
            }

    def describe_network_interfaces(self, params: Params) -> Body:
        eni_ids = repeat_list_param(params, "NetworkInterfaceIds")
        page_number, page_size = page_params(params)
        checks = eni_checks(params, eni_ids)
        with self.lock:
            self._settle()
            matches = _filtered(self._eni_candidates(params, eni_ids), checks)
            start = (page_number - 1) * page_size
            page = matches[start : start + page_size]
            return {
                "TotalCount": len(matches),
                "PageNumber": page_number,
                "PageSize": page_size,
                "NetworkInterfaceSets": {"NetworkInterfaceSet": [eni_view(e) for e in page]},
            }

    def _eni_candidates(
        self, params: Params, eni_ids: list[str] | None
    ) -> Iterable[NetworkInterface]:
        """A cheap superset of the matches, in creation order; the checks then narrow it."""
        if params.get("NetworkInterfaceId"):
            eni = self.enis.get(params["NetworkInterfaceId"])
            return [eni] if eni else []
        if eni_ids is not None:
            known = {i for i in eni_ids if i in self.enis}
            return [self.enis[i] for i in sorted(known, key=self.eni_rank.__getitem__)]
        if params.get("InstanceId"):
            return list(self.enis_by_instance.get(params["InstanceId"], []))
        return self.fleet.network_interfaces

    def detach_network_interface(self, params: Params) -> Body:
        eni_id = required_param(params, "NetworkInterfaceId")
        with self.lock:
            self._settle()
            eni = self.enis.get(eni_id)
            if eni is None:
                raise ApiError(*ENI_NOT_FOUND)
            if eni.service_managed:
                raise ApiError(*ENI_SERVICE_MANAGED)
            if eni.type == "Primary":
                raise ApiError(*ENI_BAD_TYPE)
            if eni.status != "InUse":
                raise ApiError(*ENI_BAD_STATUS)
            if self.instances[eni.instance_id].status != "Stopped":
                raise ApiError(*INSTANCE_BAD_STATUS)
            eni.status = "Detaching"
            self._start_transition(eni)
            self.version += 1
        return {}

    def attach_network_interface(self, params: Params) -> Body:
        instance_id = required_param(params, "InstanceId")
        eni_id = required_param(params, "NetworkInterfaceId")
        with self.lock:
            self._settle()
            eni = self.enis.get(eni_id)
            if eni is None:
                raise ApiError(*ENI_NOT_FOUND)
            if eni.service_managed:
                raise ApiError(*ENI_SERVICE_MANAGED)
            if eni.status != "Available":
                raise ApiError(*ENI_BAD_STATUS)
            instance = self.instances.get(instance_id)
            if instance is None:
                raise ApiError(*INSTANCE_NOT_FOUND)
            if instance.status != "Stopped":
                raise ApiError(*INSTANCE_BAD_STATUS)
            # The docs require the same zone and VPC; the fleet has one network per edge node.
            if (eni.ens_region_id, eni.network_id) != (instance.ens_region_id, instance.network_id):
                raise ApiError(*INSTANCE_NOT_SUPPORTED)
            if len(self.enis_by_instance.get(instance_id, [])) >= MAX_ENIS_PER_INSTANCE:
                raise ApiError(*ENI_LIMIT_EXCEEDED)
            eni.status = "Attaching"
            self._set_eni_instance(eni, instance_id)
            self._start_transition(eni)
            self.version += 1
        return {}

    def start_instance(self, params: Params) -> Body:
        return self._change_power(params, required="Stopped", transitional="Starting")

    def stop_instance(self, params: Params) -> Body:
        return self._change_power(params, required="Running", transitional="Stopping")

    def _change_power(self, params: Params, *, required: str, transitional: str) -> Body:
        instance_id = required_param(params, "InstanceId")
        with self.lock:
            self._settle()
            instance = self.instances.get(instance_id)
            if instance is None:
                raise ApiError(*INSTANCE_NOT_FOUND)
            if instance.status != required:
                raise ApiError(*INSTANCE_BAD_STATUS)
            instance.status = transitional
            self._start_transition(instance)
            self.version += 1
        # The SDK's StartInstance/StopInstance models carry Code like the describe calls.
        return {"Code": 0}

    def _instance_view(self, instance: Instance) -> Body:
        isp = instance.ens_region_id.rsplit("-", 1)[-1]
        return {
            "InstanceId": instance.instance_id,
            "InstanceName": instance.instance_name,
            "HostName": instance.instance_name,
            "EnsRegionId": instance.ens_region_id,
            "ImageId": instance.image_id,
            "OSName": instance.os_name,
            "SpecName": instance.spec_name,
            "InstanceTypeFamily": "x86_vm",
            "InstanceResourceType": "EnsInstance",
            "Status": instance.status,
            "ServiceStatus": "",
            "SpotStrategy": "NoSpot",
            "Cpu": str(instance.cpu),
            "Memory": instance.memory_mb,
            "Disk": (SYSTEM_DISK_GB + DATA_DISK_GB) * 1024,
            "CreationTime": instance.creation_time,
            "ExpiredTime": instance.expired_time,
            "AutoReleaseTime": "",
            "InternetMaxBandwidthIn": 100,
            "InternetMaxBandwidthOut": 100,
            "KeyPairName": "",
            "DeletionProtection": False,
            "NetworkInterfaces": {
                "NetworkInterfaces": [
                    instance_eni_view(e)
                    for e in self.enis_by_instance.get(instance.instance_id, [])
                ]
            },
            "NetworkAttributes": {
                "NetworkId": instance.network_id,
                "VSwitchId": instance.vswitch_id,
                "PrivateIpAddress": {"IpAddress": [instance.private_ip]},
            },
            "InnerIpAddress": {"IpAddress": [instance.private_ip]},
            "PublicIpAddress": {"IpAddress": [instance.public_ip]},
            "PrivateIpAddresses": {
                "PrivateIpAddress": [
                    {"Ip": instance.private_ip, "GateWay": gateway(instance.private_ip), "Isp": ""}
                ]
            },
            "PublicIpAddresses": {
                "PublicIpAddress": [
                    {"Ip": instance.public_ip, "GateWay": gateway(instance.public_ip), "Isp": isp}
                ]
            },
            "SecurityGroupIds": {"SecurityGroupId": [instance.security_group_id]},
            "SystemDisk": disk_view(instance.system_disk_id, "system", SYSTEM_DISK_GB),
            "DataDisk": {
                "DataDisk": [
                    {
                        **disk_view(instance.data_disk_id, "data", DATA_DISK_GB),
                        "DiskSize": DATA_DISK_GB,
                        "Encrypted": False,
                        "EncryptKeyId": "",
                    }
                ]
            },
            "Tags": {"Tags": []},
        }

    # Control -----------------------------------------------------------------------------------

    def reset(self, *, seed: int, instances: int) -> None:
        fleet = generate_fleet(seed=seed, instances=instances)
        with self.lock:
            self._install(fleet, pending={})
            self.version += 1

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        """(version, JSON-ready state); pending transitions keep their absolute due times."""
        with self.lock:
            self._settle()
            pending = {key: [p.due, p.status] for key, p in self.pending.items()}
            data = {"format": STATE_FORMAT, "fleet": self.fleet.to_dict(), "pending": pending}
            return self.version, data

    def summary(self) -> Body:
        with self.lock:
            self._settle()
            instances = self.fleet.instances
            enis = self.fleet.network_interfaces
            return {
                "seed": self.fleet.seed,
                "detach_seconds": self.detach_seconds,
                "instance_transition_seconds": self.instance_transition_seconds,
                "regions": [r.ens_region_id for r in self.fleet.regions],
                "instances": {
                    "total": len(instances),
                    "by_status": dict(Counter(i.status for i in instances)),
                },
                "network_interfaces": {
                    "total": len(enis),
                    "by_status": dict(Counter(e.status for e in enis)),
                    "by_type": dict(Counter(e.type for e in enis)),
                    "service_managed": sum(e.service_managed for e in enis),
                    "stuck_on_detach": sum(e.stuck_on_detach for e in enis),
                },
                "demo_notes": self._demo_notes(),
            }

    def demo_notes(self) -> Body:
        with self.lock:
            self._settle()
            return self._demo_notes()

    def _demo_notes(self, limit: int = 10) -> Body:
        """Ids worth trying from the dashboard, computed from the current state."""

        def first(items: Iterable[str]) -> list[str]:
            return [item for _, item in zip(range(limit), items, strict=False)]

        def on_stopped(eni: NetworkInterface) -> bool:
            return bool(eni.instance_id) and self.instances[eni.instance_id].status == "Stopped"

        enis = self.fleet.network_interfaces
        secondaries_in_use = [e for e in enis if e.type == "Secondary" and e.status == "InUse"]
        return {
            "detach_candidates": first(
                e.network_interface_id
                for e in secondaries_in_use
                if on_stopped(e) and not e.service_managed and not e.stuck_on_detach
            ),
            "stuck_on_detach": first(e.network_interface_id for e in enis if e.stuck_on_detach),
            "service_managed": first(e.network_interface_id for e in enis if e.service_managed),
            "primary_on_stopped_instance": first(
                e.network_interface_id for e in enis if e.type == "Primary" and on_stopped(e)
            ),
            "secondary_on_running_instance": first(
                e.network_interface_id
                for e in secondaries_in_use
                if self.instances[e.instance_id].status == "Running" and not e.service_managed
            ),
            "running_with_secondaries": first(
                dict.fromkeys(
                    e.instance_id
                    for e in secondaries_in_use
                    if self.instances[e.instance_id].status == "Running"
                )
            ),
            "attach_candidates": self._attach_candidates(limit),
        }

    def _attach_candidates(self, limit: int) -> list[dict[str, str]]:
        stopped_by_region: dict[str, list[Instance]] = {}
        for instance in self.fleet.instances:
            if instance.status == "Stopped":
                stopped_by_region.setdefault(instance.ens_region_id, []).append(instance)
        pairs = []
        for eni in self.fleet.network_interfaces:
            if eni.status != "Available" or eni.service_managed:
                continue
            for instance in stopped_by_region.get(eni.ens_region_id, []):
                attached = self.enis_by_instance.get(instance.instance_id, [])
                if len(attached) < MAX_ENIS_PER_INSTANCE:
                    pairs.append(
                        {
                            "network_interface_id": eni.network_interface_id,
                            "instance_id": instance.instance_id,
                        }
                    )
                    break
            if len(pairs) == limit:
                break
        return pairs

    def instance_record(self, instance_id: str) -> Body:
        with self.lock:
            self._settle()
            return self._instance_record(self._control_instance(instance_id))

    def set_instance_status(self, instance_id: str, status: str) -> Body:
        if status not in INSTANCE_STATUSES:
            raise ControlError(f"status must be one of {', '.join(INSTANCE_STATUSES)}")
        with self.lock:
            self._settle()
            instance = self._control_instance(instance_id)
            instance.status = status
            self._start_transition(instance)
            self.version += 1
            return self._instance_record(instance)

    def eni_record(self, eni_id: str) -> Body:
        with self.lock:
            self._settle()
            return self._eni_record(self._control_eni(eni_id))

    def change_eni(self, eni_id: str, changes: Mapping[str, Any]) -> Body:
        """Change an ENI as someone outside the dashboard would; transitions run their course."""
        unknown = set(changes) - ENI_CONTROL_FIELDS
        if unknown:
            raise ControlError(
                f"unknown fields {sorted(unknown)}; allowed: {sorted(ENI_CONTROL_FIELDS)}"
            )
        with self.lock:
            self._settle()
            eni = self._control_eni(eni_id)
            status = changes.get("status", eni.status)
            default_instance = "" if status == "Available" else eni.instance_id
            instance_id = changes.get("instance_id", default_instance)
            self._validate_eni_change(eni, status, instance_id)
            flags = {
                attribute: _control_bool(name, changes[name])
                for name, attribute in ENI_CONTROL_FLAGS.items()
                if name in changes
            }
            for name in ("name", "description"):
                if name in changes:
                    setattr(eni, name, str(changes[name]))
            for attribute, value in flags.items():
                setattr(eni, attribute, value)
            eni.status = status
            if instance_id != eni.instance_id:
                self._set_eni_instance(eni, instance_id)
            # A rename must not restart a running detach; a new status or stuck flag does.
            if {"status", "stuck"} & set(changes):
                self._start_transition(eni)
            self.version += 1
            return self._eni_record(eni)

    def _validate_eni_change(self, eni: NetworkInterface, status: str, instance_id: str) -> None:
        if status not in ENI_STATUSES:
            raise ControlError(f"status must be one of {', '.join(ENI_STATUSES)}")
        if instance_id and instance_id not in self.instances:
            raise ControlError(f"unknown instance {instance_id}")
        if status in ("InUse", "Attaching", "Detaching") and not instance_id:
            raise ControlError(f"an ENI in status {status} needs an instance_id")
        if status == "Available" and instance_id:
            raise ControlError("an Available ENI is attached to no instance")
        if eni.type == "Primary" and instance_id != eni.instance_id:
            raise ControlError("a Primary ENI stays with its instance")

    def _control_instance(self, instance_id: str) -> Instance:
        try:
            return self.instances[instance_id]
        except KeyError:
            raise ControlError(f"unknown instance {instance_id}", 404) from None

    def _control_eni(self, eni_id: str) -> NetworkInterface:
        try:
            return self.enis[eni_id]
        except KeyError:
            raise ControlError(f"unknown network interface {eni_id}", 404) from None

    def _instance_record(self, instance: Instance) -> Body:
        return {**record_to_dict(instance), "pending": self._pending_view(instance.instance_id)}

    def _eni_record(self, eni: NetworkInterface) -> Body:
        record = record_to_dict(eni)
        record["stuck"] = record.pop("stuck_on_detach")
        return {**record, "pending": self._pending_view(eni.network_interface_id)}

    def _pending_view(self, record_id: str) -> Body | None:
        pending = self.pending.get(record_id)
        if pending is None:
            return None
        return {"status": pending.status, "due_in_seconds": round(pending.due - self.clock(), 3)}


ENI_CONTROL_FLAGS = {"service_managed": "service_managed", "stuck": "stuck_on_detach"}
ENI_CONTROL_FIELDS = frozenset({"status", "instance_id", "name", "description", *ENI_CONTROL_FLAGS})
SYSTEM_DISK_GB = 40
DATA_DISK_GB = 100


def _control_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ControlError(f"{name} must be true or false")
    return value


# Request parameters ----------------------------------------------------------------------------


def required_param(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise missing_parameter(name)
    return value


def page_params(params: Params) -> tuple[int, int]:
    number = _positive_int(params, "PageNumber", default=1)
    size = _positive_int(params, "PageSize", default=DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise invalid_parameter("PageSize")
    return number, size


def _positive_int(params: Params, name: str, *, default: int) -> int:
    raw = params.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(name) from None
    if value < 1:
        raise invalid_parameter(name)
    return value


def json_list_param(params: Params, name: str) -> list[str] | None:
    """DescribeInstances' lists are JSON arrays in one string; `[]` is a real, empty filter."""
    raw = params.get(name, "")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid_parameter(name) from None
    if (
        not isinstance(value, list)
        or len(value) > MAX_LIST_ITEMS
        or not all(isinstance(item, str) for item in value)
    ):
        raise invalid_parameter(name)
    return value


def repeat_list_param(params: Params, name: str) -> list[str] | None:
    """DescribeNetworkInterfaces' lists are Name.1, Name.2, …, ordered by N."""
    prefix = f"{name}."
    numbered = []
    for key, value in params.items():
        if key.startswith(prefix):
            suffix = key[len(prefix) :]
            if not suffix.isdigit() or int(suffix) < 1:
                raise invalid_parameter(name)
            numbered.append((int(suffix), value))
    if not numbered:
        return None
    if len(numbered) > MAX_LIST_ITEMS:
        raise invalid_parameter(name)
    return [value for _, value in sorted(numbered)]


Check = Callable[[Any], bool]


def _filtered(candidates: Iterable[Any], checks: list[Check]) -> list[Any]:
    if not checks:
        # The unfiltered case stays a slice of the ordered list: no scan of the fleet.
        return candidates if isinstance(candidates, list) else list(candidates)
    return [item for item in candidates if all(check(item) for check in checks)]


def _equals(attribute: str, value: str) -> Check:
    return lambda record: getattr(record, attribute) == value


def instance_checks(params: Params, region_ids: list[str] | None) -> list[Check]:
    """AND of every non-empty filter (ens-api.md 2.4); other filters are accepted and ignored."""
    scalars = {
        "EnsRegionId": "ens_region_id",
        "InstanceId": "instance_id",
        "InstanceName": "instance_name",
        "Status": "status",
        "NetworkId": "network_id",
        "VSwitchId": "vswitch_id",
        "SecurityGroupId": "security_group_id",
        "IntranetIp": "private_ip",
    }
    checks = [
        _equals(attribute, params[name]) for name, attribute in scalars.items() if params.get(name)
    ]
    if region_ids is not None:
        wanted_regions = set(region_ids)
        checks.append(lambda i: i.ens_region_id in wanted_regions)
    if search_key := params.get("SearchKey"):
        checks.append(
            lambda i: (
                search_key in i.instance_name
                or search_key in i.instance_id
                or search_key in (i.private_ip, i.public_ip)
            )
        )
    return checks


def eni_checks(params: Params, eni_ids: list[str] | None) -> list[Check]:
    scalars = {
        "EnsRegionId": "ens_region_id",
        "InstanceId": "instance_id",
        "NetworkInterfaceId": "network_interface_id",
        "NetworkInterfaceName": "name",
        "NetworkId": "network_id",
        "PrimaryIpAddress": "primary_ip",
        "Status": "status",
        "Type": "type",
        "VSwitchId": "vswitch_id",
    }
    checks = [
        _equals(attribute, params[name]) for name, attribute in scalars.items() if params.get(name)
    ]
    if eni_ids is not None:
        wanted_enis = set(eni_ids)
        checks.append(lambda e: e.network_interface_id in wanted_enis)
    region_ids = repeat_list_param(params, "EnsRegionIds")
    if region_ids is not None:
        wanted_regions = set(region_ids)
        checks.append(lambda e: e.ens_region_id in wanted_regions)
    ipv6 = repeat_list_param(params, "Ipv6Address")
    if ipv6 is not None:
        wanted_ipv6 = set(ipv6)
        checks.append(lambda e: not wanted_ipv6.isdisjoint(e.ipv6_addresses))
    if security_group := params.get("SecurityGroupId"):
        checks.append(lambda e: security_group in e.security_group_ids)
    return checks


# Response shapes -------------------------------------------------------------------------------


def eni_view(eni: NetworkInterface) -> Body:
    """One NetworkInterfaceSet entry; the emulator-only flags never appear here."""
    return {
        "CreationTime": eni.creation_time,
        "Description": eni.description,
        "EnsRegionId": eni.ens_region_id,
        "InstanceId": eni.instance_id,
        "NetworkInterfaceId": eni.network_interface_id,
        "NetworkInterfaceName": eni.name,
        "MacAddress": eni.mac_address,
        "NetworkId": eni.network_id,
        "VSwitchId": eni.vswitch_id,
        "PrimaryIp": eni.primary_ip,
        "PrimaryIpType": "Private",
        "Status": eni.status,
        "Type": eni.type,
        "VmncLearn": False,
        "SecurityGroupIds": {"SecurityGroup": list(eni.security_group_ids)},
        "PrivateIpSets": {
            "PrivateIpSet": [
                {
                    "Primary": True,
                    "PrivateIpAddress": eni.primary_ip,
                    "PrivateIpStatus": "Available",
                }
            ]
        },
        "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": address} for address in eni.ipv6_addresses]},
    }


def instance_eni_view(eni: NetworkInterface) -> Body:
    """The per-instance ENI entry of DescribeInstances: no Status there (ens-api.md 2.4)."""
    return {
        "NetworkInterfaceId": eni.network_interface_id,
        "MacAddress": eni.mac_address,
        "PrimaryIpAddress": eni.primary_ip,
        "Type": eni.type,
        "VpdId": "",
        "VpdVSwitchId": "",
        "PrivateIpSets": {"PrivateIpSet": [{"Primary": True, "PrivateIpAddress": eni.primary_ip}]},
        "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": address} for address in eni.ipv6_addresses]},
    }


def disk_view(disk_id: str, kind: str, size_gb: int) -> Body:
    # The snake_case keys are real: the SDK model has them (ens-api.md 2.4).
    return {
        "DiskId": disk_id,
        "DiskName": f"{kind}-{disk_id}",
        "Category": "pangu",
        "Size": size_gb,
        "device_type": "",
        "disk_type": kind,
        "name": f"{kind}-{disk_id}",
        "storage": size_gb,
        "uuid": disk_id,
    }


def gateway(ip: str) -> str:
    return ip.rsplit(".", 1)[0] + ".1"


# State file ------------------------------------------------------------------------------------


def load_state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def save_state(path: Path, data: Mapping[str, Any]) -> None:
    """Write a sibling temporary file, then rename: a crash never leaves half a state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
