"""A clock the emulator tests move by hand (the `emulator` fixture lives in tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from eniadmin.ens.emulator.server import EmulatorServer


class FakeClock:
    """Wall-clock time that only moves when told; starts at the real now so signatures pass."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_emulator(clock: FakeClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(clock=clock) as server:
        yield server
