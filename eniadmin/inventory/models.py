"""The fleet mirror: what ENS said about regions, instances and ENIs at the last sync.

Rows are never deleted: one that vanishes from the cloud is marked gone. `changed_at` is when a
mirrored field last changed; "last seen" is the latest successful SyncRun, not a per-row write,
so a sync that finds nothing new writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class InstanceStatus(models.TextChoices):
    RUNNING = "Running"
    STOPPED = "Stopped"
    EXPIRED = "Expired"
    STARTING = "Starting"
    STOPPING = "Stopping"


class EniStatus(models.TextChoices):
    AVAILABLE = "Available"
    ATTACHING = "Attaching"
    IN_USE = "InUse", "InUse"
    DETACHING = "Detaching"
    DELETING = "Deleting"


class EniType(models.TextChoices):
    PRIMARY = "Primary"
    SECONDARY = "Secondary"


class EdgeRegion(models.Model):
    region_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)
    en_name = models.CharField(max_length=128, blank=True)
    area = models.CharField(max_length=64, blank=True)
    province = models.CharField(max_length=64, blank=True)
    fingerprint = models.CharField(max_length=32, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    MIRRORED = ("name", "en_name", "area", "province")
    LINKS = ()

    class Meta:
        ordering = ["region_id"]

    def __str__(self) -> str:
        return f"{self.region_id} ({self.en_name})" if self.en_name else self.region_id


class InstanceQuerySet(models.QuerySet["Instance"]):
    def present(self) -> InstanceQuerySet:
        return self.filter(gone_at__isnull=True)


class Instance(models.Model):
    instance_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    host_name = models.CharField(max_length=255, blank=True)
    region_id = models.CharField(max_length=64)
    status = models.CharField(max_length=32, choices=InstanceStatus.choices)
    spec_name = models.CharField(max_length=64, blank=True)
    image_id = models.CharField(max_length=64, blank=True)
    network_id = models.CharField(max_length=64, blank=True)
    vswitch_id = models.CharField(max_length=64, blank=True)
    # Space-separated, so that searching by IP is one icontains on every database.
    private_ips = models.TextField(blank=True)
    public_ips = models.TextField(blank=True)
    security_group_ids = models.TextField(blank=True)
    cloud_created_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A digest of the MIRRORED values: the sync compares it instead of every column.
    fingerprint = models.CharField(max_length=32, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    MIRRORED = (
        "name", "host_name", "region_id", "status", "spec_name", "image_id", "network_id",
        "vswitch_id", "private_ips", "public_ips", "security_group_ids", "cloud_created_at",
        "expires_at",
    )  # fmt: skip
    LINKS = ()

    objects = InstanceQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "instance_id"]
        # Declared here rather than with unique=True or db_index=True on the fields: for those,
        # PostgreSQL also gets a second, pattern-matching copy of each index (for LIKE 'x%',
        # which nothing here runs), and every row a sync inserts must go into it as well.
        constraints = [models.UniqueConstraint(fields=["instance_id"], name="instance_id_unique")]
        indexes = [
            models.Index(fields=["region_id"], name="instance_region"),
            models.Index(fields=["status"], name="instance_status"),
            # The list's order over the present instances only: a page is read from the index
            # and the total counted from it, without sorting or scanning the gone rows.
            models.Index(
                fields=["region_id", "instance_id"],
                condition=models.Q(gone_at__isnull=True),
                name="instance_present_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.instance_id

    @property
    def is_stopped(self) -> bool:
        return self.status == InstanceStatus.STOPPED


class NetworkInterfaceQuerySet(models.QuerySet["NetworkInterface"]):
    def present(self) -> NetworkInterfaceQuerySet:
        return self.filter(gone_at__isnull=True)

    def unattached(self) -> NetworkInterfaceQuerySet:
        return self.filter(attached_instance_id="")


class NetworkInterface(models.Model):
    eni_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    region_id = models.CharField(max_length=64)
    # What ENS says the ENI is attached to ("" when not attached), and that instance's row when
    # the mirror knows it.
    attached_instance_id = models.CharField(max_length=64, blank=True)
    instance = models.ForeignKey(
        Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="interfaces"
    )
    status = models.CharField(max_length=32, choices=EniStatus.choices)
    type = models.CharField(max_length=16, choices=EniType.choices)
    # Searched by icontains, which no index serves: an index would only slow the sync's writes.
    primary_ip = models.CharField(max_length=64, blank=True)
    primary_ip_type = models.CharField(max_length=16, blank=True)
    mac_address = models.CharField(max_length=32, blank=True)
    network_id = models.CharField(max_length=64, blank=True)
    vswitch_id = models.CharField(max_length=64, blank=True)
    security_group_ids = models.TextField(blank=True)
    private_ips = models.TextField(blank=True)
    ipv6_addresses = models.TextField(blank=True)
    cloud_created_at = models.DateTimeField(null=True, blank=True)
    # ENS exposes no such field: the dashboard learns it from an
    # InvalidParameter.EniServiceManaged answer and remembers it.
    service_managed = models.BooleanField(default=False)
    status_changed_at = models.DateTimeField(default=timezone.now)
    fingerprint = models.CharField(max_length=32, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    MIRRORED = (
        "name", "description", "region_id", "attached_instance_id", "status", "type",
        "primary_ip", "primary_ip_type", "mac_address", "network_id", "vswitch_id",
        "security_group_ids", "private_ips", "ipv6_addresses", "cloud_created_at",
    )  # fmt: skip
    # Set from attached_instance_id when a row is written, not compared.
    LINKS = ("instance_id",)

    objects = NetworkInterfaceQuerySet.as_manager()

    class Meta:
        ordering = ["type", "eni_id"]
        # Not unique=True or db_index=True on the fields: see Instance.Meta.
        constraints = [models.UniqueConstraint(fields=["eni_id"], name="eni_id_unique")]
        # No index on region_id or type: the list reaches ENIs through their instance or the
        # unattached ones through attached_instance_id, and every index slows the sync's writes.
        indexes = [
            models.Index(fields=["attached_instance_id"], name="eni_attached_instance"),
            models.Index(fields=["status"], name="eni_status"),
        ]

    def __str__(self) -> str:
        return self.eni_id

    @property
    def is_primary(self) -> bool:
        return self.type == EniType.PRIMARY

    @property
    def is_transitional(self) -> bool:
        return self.status in (EniStatus.ATTACHING, EniStatus.DETACHING, EniStatus.DELETING)


class SyncRunQuerySet(models.QuerySet["SyncRun"]):
    def open(self) -> SyncRunQuerySet:
        return self.filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])

    def closed(self) -> SyncRunQuerySet:
        return self.exclude(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])


class SyncRun(models.Model):
    """One walk of the cloud's instances and ENIs, for the worker or in the foreground."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Sync now"
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "sync_inventory"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched after every page: a running sync whose worker died stops being touched.
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=128, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    pages_expected = models.PositiveIntegerField(null=True, blank=True)
    instances_created = models.PositiveIntegerField(default=0)
    instances_updated = models.PositiveIntegerField(default=0)
    instances_gone = models.PositiveIntegerField(default=0)
    enis_created = models.PositiveIntegerField(default=0)
    enis_updated = models.PositiveIntegerField(default=0)
    enis_gone = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    error_request_id = models.CharField(max_length=128, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Every page's header reads the newest run and the latest success: a run every few
        # minutes is a hundred thousand rows a year.
        indexes = [
            models.Index(fields=["-created_at"]),
            models.Index(fields=["status", "-finished_at"]),
        ]
        constraints = [
            # One queued and one running at most: a second "Sync now" joins the queued one.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="inventory_syncrun_one_per_open_status",
            )
        ]

    def __str__(self) -> str:
        return f"sync #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent_done(self) -> int:
        if not self.pages_expected:
            return 0
        return min(100, round(100 * self.pages_done / self.pages_expected))


# A worker writes its heartbeat every HEARTBEAT_SECONDS; it counts as alive for three of them.
HEARTBEAT_SECONDS = 10


class WorkerHeartbeatQuerySet(models.QuerySet["WorkerHeartbeat"]):
    def alive(self) -> WorkerHeartbeatQuerySet:
        return self.filter(seen_at__gte=timezone.now() - timedelta(seconds=3 * HEARTBEAT_SECONDS))


class WorkerHeartbeat(models.Model):
    """Each run_worker process writes its row every few seconds; the header reads the newest."""

    worker = models.CharField(max_length=128, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WorkerHeartbeatQuerySet.as_manager()

    def __str__(self) -> str:
        return self.worker
