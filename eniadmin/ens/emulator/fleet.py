"""The emulated ENS fleet: its records and their deterministic generation from a seed.

The same (seed, instances) always yields the same ids, addresses and states, so a demo or a test
can name an id it saw yesterday. The first few instances follow fixed profiles (DEMO_PROFILES) so
every fleet, whatever its seed, holds the cases a demo needs: detach candidates, a Running
instance with secondaries, a service-managed ENI, one that gets stuck, and one to attach.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, fields
from typing import Any

INSTANCE_STATUSES = ("Running", "Stopped", "Expired", "Starting", "Stopping")
ENI_STATUSES = ("Available", "Attaching", "InUse", "Detaching", "Deleting")

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# Random bytes mapped onto the id alphabet: ten times faster than random.choices for 50,000 ids.
ID_BYTE_TABLE = bytes(ord(ID_ALPHABET[b % len(ID_ALPHABET)]) for b in range(256))
FLEET_EPOCH = 1_677_657_600  # 2023-03-01T08:00:00Z, so creation times look like a real fleet's
ALIBABA_MAC_PREFIX = "00:16:3e"


@dataclass(slots=True)
class Region:
    ens_region_id: str
    name: str
    en_name: str
    area: str
    province: str
    public_ip_prefix: str
    network_id: str = ""
    vswitch_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Instance:
    instance_id: str
    instance_name: str
    ens_region_id: str
    status: str
    creation_time: str
    expired_time: str
    spec_name: str
    cpu: int
    memory_mb: int
    image_id: str
    os_name: str
    network_id: str
    vswitch_id: str
    security_group_id: str
    private_ip: str
    public_ip: str
    system_disk_id: str
    data_disk_id: str


@dataclass(slots=True)
class NetworkInterface:
    network_interface_id: str
    name: str
    description: str
    ens_region_id: str
    instance_id: str
    type: str
    status: str
    mac_address: str
    network_id: str
    vswitch_id: str
    primary_ip: str
    ipv6_addresses: list[str]
    security_group_ids: list[str]
    creation_time: str
    # Hidden from every API response: ENS exposes no such field (ens-api.md 3.4).
    service_managed: bool = False
    # Emulator-only: a detach of this ENI never completes, to demo a stuck operation.
    stuck_on_detach: bool = False


@dataclass(slots=True)
class Fleet:
    seed: int
    regions: list[Region]
    instances: list[Instance]  # creation order
    network_interfaces: list[NetworkInterface]  # creation order

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "regions": [record_to_dict(region) for region in self.regions],
            "instances": [record_to_dict(instance) for instance in self.instances],
            "network_interfaces": [record_to_dict(eni) for eni in self.network_interfaces],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fleet:
        return cls(
            seed=data["seed"],
            regions=[Region(**region) for region in data["regions"]],
            instances=[Instance(**instance) for instance in data["instances"]],
            network_interfaces=[NetworkInterface(**eni) for eni in data["network_interfaces"]],
        )


def record_to_dict(record: Region | Instance | NetworkInterface) -> dict[str, Any]:
    # Shallow on purpose: dataclasses.asdict deep-copies, which is slow for 40,000 ENIs.
    return {f.name: getattr(record, f.name) for f in fields(record)}


# ENS edge nodes: id, Chinese name, English name, area, province, a carrier-like public prefix.
REGIONS = (
    ("cn-beijing-cmcc", "北京移动", "Beijing CMCC", "华北", "北京", "111.13"),
    ("cn-tianjin-cmcc", "天津移动", "Tianjin CMCC", "华北", "天津", "111.31"),
    ("cn-suzhou-telecom", "苏州电信", "Suzhou Telecom", "华东", "江苏", "58.211"),
    ("cn-chengdu-telecom", "成都电信", "Chengdu Telecom", "西南", "四川", "125.69"),
    ("cn-guangzhou-unicom", "广州联通", "Guangzhou Unicom", "华南", "广东", "157.122"),
    ("cn-wuhan-cmcc", "武汉移动", "Wuhan CMCC", "华中", "湖北", "111.47"),
    ("cn-xian-unicom", "西安联通", "Xi'an Unicom", "西北", "陕西", "123.139"),
    ("cn-shenyang-telecom", "沈阳电信", "Shenyang Telecom", "东北", "辽宁", "59.46"),
)
SPECS = (
    ("ens.sn1.small", 1, 2048),
    ("ens.sn1.medium", 2, 4096),
    ("ens.sn1.large", 4, 8192),
    ("ens.sn1.xlarge", 8, 16384),
)
IMAGES = (
    ("centos_7_9_x64_20G_alibase_20230919.vhd", "CentOS 7.9 64位"),
    ("ubuntu_22_04_x64_20G_alibase_20231221.vhd", "Ubuntu 22.04 64位"),
    ("m-5w0ce8y1oq8mjd9xqm8y", "cdn-edge-custom-image"),
)
ROLES = ("cdn-edge", "live-push", "game-relay", "iot-gateway", "video-transcode")
SECONDARY_DESCRIPTIONS = ("", "", "storage network", "management plane", "customer VLAN uplink")
RANDOM_STATUSES = (("Running", 0.6), ("Stopped", 0.3), ("Expired", 0.1))
# Secondary ENIs per instance, 0..4: with the primary about 4 ENIs per instance on average.
SECONDARY_COUNT_WEIGHTS = (0.04, 0.08, 0.18, 0.3, 0.4)
SPARE_ENI_RATE = 0.1
SERVICE_MANAGED_RATE = 0.03
IPV6_RATE = 0.2


@dataclass(frozen=True)
class SecondarySpec:
    service_managed: bool = False
    stuck_on_detach: bool = False


@dataclass(frozen=True)
class InstanceProfile:
    status: str
    secondaries: tuple[SecondarySpec, ...]
    spare_eni: bool = False


PLAIN = SecondarySpec()
DEMO_PROFILES = (
    InstanceProfile("Stopped", (PLAIN, PLAIN, PLAIN)),  # detach candidates
    InstanceProfile("Running", (PLAIN, PLAIN)),  # detach refused: instance not Stopped
    InstanceProfile("Stopped", (SecondarySpec(service_managed=True), PLAIN)),
    InstanceProfile("Stopped", (SecondarySpec(stuck_on_detach=True), PLAIN)),
    InstanceProfile("Stopped", (PLAIN,), spare_eni=True),  # the spare can be attached here
    InstanceProfile("Running", (PLAIN,)),
    InstanceProfile("Expired", (PLAIN,)),
)


def generate_fleet(*, seed: int, instances: int) -> Fleet:
    return _FleetBuilder(seed).build(instances)


class _FleetBuilder:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - determinism is the point; no secrets
        self.used_ids: set[str] = set()
        self.regions = [self._region(*row) for row in REGIONS]
        self.region_number = {row[0]: number for number, row in enumerate(REGIONS, start=1)}
        self.next_ip_offset: dict[str, int] = {}
        self.public_ips_used: dict[str, int] = {}
        self.instances: list[Instance] = []
        self.enis: list[NetworkInterface] = []

    def build(self, count: int) -> Fleet:
        clock = FLEET_EPOCH
        for index in range(count):
            # Secondaries and spares are created within 30 s of their instance, so a step of at
            # least a minute keeps creation times in the same order as the lists.
            clock += self.rng.randint(60, 3600)
            profile = DEMO_PROFILES[index] if index < len(DEMO_PROFILES) else self._profile()
            self._add_instance(index, profile, clock)
        return Fleet(self.seed, self.regions, self.instances, self.enis)

    def _profile(self) -> InstanceProfile:
        statuses, weights = zip(*RANDOM_STATUSES, strict=True)
        status = self.rng.choices(statuses, weights)[0]
        count = self.rng.choices(range(5), SECONDARY_COUNT_WEIGHTS)[0]
        secondaries = tuple(
            SecondarySpec(service_managed=self.rng.random() < SERVICE_MANAGED_RATE)
            for _ in range(count)
        )
        return InstanceProfile(status, secondaries, self.rng.random() < SPARE_ENI_RATE)

    def _region(self, region_id: str, *descriptive: str) -> Region:
        region = Region(region_id, *descriptive)
        region.network_id = self._new_id("n-", 21)
        region.vswitch_ids = [self._new_id("vsw-", 21) for _ in range(2)]
        region.security_group_ids = [self._new_id("sg-", 20) for _ in range(2)]
        return region

    def _add_instance(self, index: int, profile: InstanceProfile, created: int) -> None:
        region = self.rng.choice(self.regions)
        spec_name, cpu, memory_mb = self.rng.choice(SPECS)
        image_id, os_name = self.rng.choice(IMAGES)
        city = region.ens_region_id.split("-")[1]
        name = f"{self.rng.choice(ROLES)}-{city}-{index + 1:05d}"
        vswitch_id = self.rng.choice(region.vswitch_ids)
        security_group_id = self.rng.choice(region.security_group_ids)
        # Expired instances ran out a month after creation; the rest are paid well ahead.
        lifetime_days = 30 if profile.status == "Expired" else 5 * 365
        instance = Instance(
            instance_id=self._new_id("i-", 18),
            instance_name=name,
            ens_region_id=region.ens_region_id,
            status=profile.status,
            creation_time=iso_time(created),
            expired_time=iso_time(created + lifetime_days * 86400),
            spec_name=spec_name,
            cpu=cpu,
            memory_mb=memory_mb,
            image_id=image_id,
            os_name=os_name,
            network_id=region.network_id,
            vswitch_id=vswitch_id,
            security_group_id=security_group_id,
            private_ip=self._private_ip(region, vswitch_id),
            public_ip=self._public_ip(region),
            system_disk_id=self._new_id("d-", 18),
            data_disk_id=self._new_id("d-", 18),
        )
        self.instances.append(instance)
        self._add_eni(
            region,
            instance_id=instance.instance_id,
            name=f"{name}-eth0",
            type="Primary",
            vswitch_id=vswitch_id,
            primary_ip=instance.private_ip,
            security_group_id=security_group_id,
            created=created,
        )
        for number, spec in enumerate(profile.secondaries, start=1):
            vswitch = self.rng.choice(region.vswitch_ids)
            self._add_eni(
                region,
                instance_id=instance.instance_id,
                name=f"{name}-eth{number}",
                type="Secondary",
                vswitch_id=vswitch,
                primary_ip=self._private_ip(region, vswitch),
                security_group_id=security_group_id,
                created=created + 5 * number,
                description=self.rng.choice(SECONDARY_DESCRIPTIONS),
                service_managed=spec.service_managed,
                stuck_on_detach=spec.stuck_on_detach,
            )
        if profile.spare_eni:
            vswitch = self.rng.choice(region.vswitch_ids)
            self._add_eni(
                region,
                instance_id="",
                name=f"spare-{city}-{index + 1:05d}",
                type="Secondary",
                vswitch_id=vswitch,
                primary_ip=self._private_ip(region, vswitch),
                security_group_id=self.rng.choice(region.security_group_ids),
                created=created + 30,
            )

    def _add_eni(
        self,
        region: Region,
        *,
        instance_id: str,
        name: str,
        type: str,
        vswitch_id: str,
        primary_ip: str,
        security_group_id: str,
        created: int,
        description: str = "",
        service_managed: bool = False,
        stuck_on_detach: bool = False,
    ) -> None:
        number = len(self.enis)
        ipv6 = []
        if type == "Secondary" and self.rng.random() < IPV6_RATE:
            ipv6 = [f"2408:8000:{self.region_number[region.ens_region_id]:x}:{number:x}::1"]
        self.enis.append(
            NetworkInterface(
                network_interface_id=self._new_id("eni-", 17),
                name=name,
                description=description,
                ens_region_id=region.ens_region_id,
                instance_id=instance_id,
                type=type,
                status="InUse" if instance_id else "Available",
                mac_address=self._mac(number),
                network_id=region.network_id,
                vswitch_id=vswitch_id,
                primary_ip=primary_ip,
                ipv6_addresses=ipv6,
                security_group_ids=[security_group_id],
                creation_time=iso_time(created),
                service_managed=service_managed,
                stuck_on_detach=stuck_on_detach,
            )
        )

    def _new_id(self, prefix: str, length: int) -> str:
        while True:
            candidate = prefix + self.rng.randbytes(length).translate(ID_BYTE_TABLE).decode()
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def _private_ip(self, region: Region, vswitch_id: str) -> str:
        # Each region is 10.<n>.0.0/16 split into two /17 vSwitches; .0 and .255 are skipped.
        region_number = self.region_number[region.ens_region_id]
        half = region.vswitch_ids.index(vswitch_id)
        offset = self.next_ip_offset.get(vswitch_id, 10)
        self.next_ip_offset[vswitch_id] = offset + 1
        third = (half * 128 + offset // 254) % 256
        return f"10.{region_number}.{third}.{1 + offset % 254}"

    def _public_ip(self, region: Region) -> str:
        offset = self.public_ips_used.get(region.ens_region_id, 0)
        self.public_ips_used[region.ens_region_id] = offset + 1
        return f"{region.public_ip_prefix}.{(offset // 254) % 256}.{1 + offset % 254}"

    def _mac(self, number: int) -> str:
        # An odd multiplier is a bijection modulo 2**24: unique MACs for the first 16M ENIs.
        value = ((number + 1) * 2_654_435_761 + self.seed) & 0xFFFFFF
        return (
            f"{ALIBABA_MAC_PREFIX}:{value >> 16:02x}:{(value >> 8) & 0xFF:02x}:{value & 0xFF:02x}"
        )


def iso_time(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))
