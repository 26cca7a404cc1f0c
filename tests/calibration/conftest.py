"""Fixtures of the calibration tests: the hand-made set (`image_sets.build_set`) written once
per session, and its calibration without a check."""

from __future__ import annotations

from pathlib import Path

import pytest

from layersim.calibration import Calibration, calibrate
from layersim.model import Image
from layersim.readers import read_images
from tests.calibration.image_sets import build_set


@pytest.fixture(scope="session")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_set(tmp_path_factory.mktemp("calibrate-set"))


@pytest.fixture(scope="session")
def fitted(hand_made: list[Path]) -> tuple[list[Image], Calibration]:
    images = read_images(hand_made)
    return images, calibrate(images, sources=[str(p) for p in hand_made], check_seeds=0)


def keys(result: Calibration) -> dict[str, object]:
    """The fitted values by key (`section.key`)."""
    return {f.dotted: f.value for f in result.fitted}
