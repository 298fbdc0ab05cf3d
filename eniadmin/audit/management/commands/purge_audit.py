from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from eniadmin.audit.context import job_context
from eniadmin.audit.retention import purge_before, purge_plan


class Command(BaseCommand):
    help = (
        "Remove audit events older than AUDIT_RETENTION_DAYS and record a checkpoint event, "
        "so that verify_audit still verifies the remaining chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be removed; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.AUDIT_RETENTION_DAYS
        cutoff = timezone.now() - timedelta(days=days)
        if options["dry_run"]:
            plan = purge_plan(cutoff)
            self.stdout.write(f"Dry run, retention {days} days: would remove {plan.describe()}.")
            return
        with job_context("purge_audit"):
            plan, checkpoint = purge_before(cutoff)
        if checkpoint is None:
            self.stdout.write(f"Nothing to purge: {plan.describe()}.")
            return
        self.stdout.write(
            f"Removed {plan.describe()}; checkpoint event #{checkpoint.pk} links the rest."
        )
