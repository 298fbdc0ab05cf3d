from __future__ import annotations

from collections.abc import Callable

from django import forms

from eniadmin.inventory.models import EniStatus, EniType, InstanceStatus


def _any(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "Any"), *choices]


class InventoryFilterForm(forms.Form):
    """The list page's filters; every value lives in the URL."""

    region = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        label="Instance status", choices=_any(InstanceStatus.choices), required=False
    )
    eni_status = forms.ChoiceField(
        label="ENI status", choices=_any(EniStatus.choices), required=False
    )
    eni_type = forms.ChoiceField(label="ENI type", choices=_any(EniType.choices), required=False)
    q = forms.CharField(label="Search", max_length=100, required=False, strip=True)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)

    def __init__(
        self,
        *args: object,
        regions: Callable[[], list[tuple[str, str]]],
        **kwargs: object,
    ) -> None:
        """`regions` gives the region choices, asked only when needed: to validate a region
        and to render the select."""
        super().__init__(*args, **kwargs)
        self.set_regions(regions)

    def set_regions(self, regions: Callable[[], list[tuple[str, str]]]) -> None:
        self.fields["region"].choices = lambda: _any(regions())

    def filters(self) -> dict[str, str]:
        """The valid filters, dropping any value that failed validation."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "page" and value not in (None, "")
        }

    def page_number(self) -> int:
        if not self.is_bound:
            return 1
        self.is_valid()
        return self.cleaned_data.get("page") or 1
