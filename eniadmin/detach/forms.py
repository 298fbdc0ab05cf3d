from __future__ import annotations

from typing import Any

from django import forms

from eniadmin.detach.models import (
    COMMENT_MAX_LENGTH,
    REASON_MAX_LENGTH,
    REASON_MIN_LENGTH,
    Status,
)
from eniadmin.inventory.models import NetworkInterface

# One confirmation page lists every selected ENI; more than a page's worth is a mistake.
MAX_SELECTED = 50


def storable_ids(values: list[str]) -> list[str]:
    """The values that could be ids in the mirror at all: PostgreSQL refuses a NUL byte in a
    query parameter outright, so a tampered value must never reach a lookup."""
    return [value for value in values if "\x00" not in value]


class RequestFilterForm(forms.Form):
    """The request list's filter, from the URL."""

    status = forms.ChoiceField(
        label="Status", choices=[("", "Any"), *Status.choices], required=False
    )

    def status_filter(self) -> str:
        """The valid status asked for, or "" (an invalid one shows as an error and is ignored)."""
        return self.cleaned_data["status"] if self.is_valid() else ""


class DetachRequestForm(forms.Form):
    """Which ENIs (one request each) and why; the ENI choices are the ids the mirror knows."""

    eni = forms.MultipleChoiceField(
        label="Network interfaces",
        error_messages={
            "required": "Select at least one network interface.",
            "invalid_choice": "The dashboard does not know the network interface %(value)s.",
        },
    )
    reason = forms.CharField(
        min_length=REASON_MIN_LENGTH,
        max_length=REASON_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"Why it should be detached ({REASON_MIN_LENGTH} to {REASON_MAX_LENGTH} characters): "
            "shown to the Approver and kept in the audit history."
        ),
    )
    remedy_for = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, eni_ids: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wanted = eni_ids if eni_ids is not None else self.data.getlist("eni")
        known = NetworkInterface.objects.filter(eni_id__in=storable_ids(wanted[:MAX_SELECTED]))
        self.fields["eni"].choices = [
            (eni_id, eni_id) for eni_id in known.values_list("eni_id", flat=True)
        ]

    def clean_eni(self) -> list[str]:
        eni_ids = self.cleaned_data["eni"]
        if len(eni_ids) > MAX_SELECTED:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED} network interfaces.")
        return eni_ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The page has no place for a hidden field's error: without this, a tampered
        # remedy_for re-rendered the form with no message at all.
        if "remedy_for" in self.errors:
            self.add_error(
                None, "The request to retry was not understood: go back to it and retry from there."
            )
        return data


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to reject.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == "reject" and not data.get("comment"):
            self.add_error("comment", "Say why you reject it: the requester reads this.")
        return data
