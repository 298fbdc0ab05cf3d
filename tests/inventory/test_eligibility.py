from __future__ import annotations

from dataclasses import replace

import pytest

from eniadmin.inventory.eligibility import DetachState, detach_blockers

ELIGIBLE = DetachState(
    eni_status="InUse", eni_type="Secondary", attached_instance_id="i-1", instance_status="Stopped"
)


def _replace(**changes) -> DetachState:
    return replace(ELIGIBLE, **changes)


def test_a_secondary_in_use_on_a_stopped_instance_may_be_detached():
    assert detach_blockers(ELIGIBLE) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"eni_type": "Primary"}, "primary network interface, which cannot be detached"),
        ({"eni_status": "Available"}, "Its status is Available; it must be InUse."),
        ({"eni_status": "Detaching"}, "Its status is Detaching; it must be InUse."),
        ({"instance_status": "Running"}, "Its instance is Running; it must be Stopped."),
        ({"instance_status": ""}, "Its instance is unknown to the dashboard; it must be Stopped."),
        ({"attached_instance_id": ""}, "It is not attached to any instance."),
        ({"service_managed": True}, "managed by a cloud service"),
        ({"has_open_request": True}, "A detach request for it is already open."),
        ({"gone": True}, "ENS no longer lists this network interface."),
    ],
)
def test_each_rule_gives_its_reason_in_operator_words(changes, reason):
    reasons = detach_blockers(_replace(**changes))
    assert len(reasons) == 1
    assert reason in reasons[0]


def test_every_reason_is_given_not_only_the_first():
    reasons = detach_blockers(
        _replace(
            eni_type="Primary",
            eni_status="Available",
            instance_status="Running",
            service_managed=True,
        )
    )
    assert len(reasons) == 4
