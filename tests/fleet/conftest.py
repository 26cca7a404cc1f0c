"""Fixtures of the fleet tests."""

from __future__ import annotations

import pytest

from layersim.fleet import Fleet
from tests.fleet.fleets import tiny_fleet


@pytest.fixture(scope="module")
def tiny() -> Fleet:
    """The TINY fleet with seed 42 (one per test module)."""
    return tiny_fleet()
