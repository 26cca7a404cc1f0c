"""Calibration: fit the generator's settings to real images (`layersim calibrate`).

`calibrate` (in `calibrate`) runs the stages: `roles` (apps cut into base, runtime and own
layers), `set_statistics` (what an image set measures), `fit` (each role's keys, with the
`inversions` of the generator's draws) and `check` (the fitted config generated and measured).
"""

from layersim.calibration.calibrate import Calibration, calibrate

__all__ = ["Calibration", "calibrate"]
