from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from eniadmin.audit.models import Action, AuditEventQuerySet

PLAIN_ID = RegexValidator(
    r"^[A-Za-z0-9._:-]+$", "Use only letters, digits, dots, colons, dashes and underscores."
)


class HistoryFilterForm(forms.Form):
    """The history page's filters, search and page number, all read from GET parameters."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "comment, ENI, instance, RequestId, user"}
        ),
    )
    actor = forms.CharField(
        label="User",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "exact username"}),
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    eni = forms.CharField(label="ENI", required=False, max_length=64, validators=[PLAIN_ID])
    instance = forms.CharField(
        label="Instance", required=False, max_length=64, validators=[PLAIN_ID]
    )
    region = forms.CharField(label="Region", required=False, max_length=64, validators=[PLAIN_ID])
    outcome = forms.CharField(
        label="Outcome",
        required=False,
        max_length=64,
        validators=[PLAIN_ID],
        widget=forms.TextInput(attrs={"placeholder": "ok, error or a code"}),
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(label="Page", required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The “From” date must not be after the “To” date.")
        return cleaned

    def filter_events(self, events: AuditEventQuerySet) -> AuditEventQuerySet:
        data = self.cleaned_data
        if data["q"]:
            events = events.search(data["q"])
        if data["actor"]:
            events = events.by_actor(data["actor"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["eni"]:
            events = events.filter(eni_id=data["eni"])
        if data["instance"]:
            events = events.filter(instance_id=data["instance"])
        if data["region"]:
            events = events.filter(region_id=data["region"])
        if data["outcome"]:
            events = events.with_outcome(data["outcome"])
        return events.created_between(data["since"], data["until"])

    def active_filters(self) -> dict[str, str]:
        """The filters in use, as they appear in the URL (for the export's own audit event)."""
        return {
            name: str(value)
            for name, value in self.cleaned_data.items()
            if name != "page" and value not in (None, "")
        }

    def error_summary(self) -> list[str]:
        summary = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else None
            summary.extend(f"{label}: {error}" if label else error for error in errors)
        return summary
