"""Calibration: fit the fleet generator's parameters to real images, and check the fit."""
