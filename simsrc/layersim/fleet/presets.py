"""The fleet's presets: base families, runtimes, package ecosystems and the model's spreads.

Public constants, each citing its source (docs/anchors.md) or saying "assumption": the
generator draws from them and calibration inverts them, so both read the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE

# Content classes by code, in the order of the compression model's table.
CLASS_NAMES: tuple[str, ...] = tuple(DEFAULT_CLASS_RATIOS_PERMILLE)
TEXT, BINARY, ARCHIVE = (CLASS_NAMES.index(c) for c in ("text", "binary", "archive"))


class ImageKind(IntEnum):
    BASE = 0
    RUNTIME = 1
    APP = 2


class LayerKind(IntEnum):
    BASE = 0
    RUNTIME = 1
    DEPS = 2
    WASTE = 3
    CODE = 4


@dataclass(frozen=True)
class BasePreset:
    """A base family: one layer of `file_bytes` (the "on disk" figure) whose class mix is set
    so that it compresses to about `compressed_bytes`. `files` is an assumption (scaled by
    `bases.file_scale`); `roots` spread the files over top directories by weight."""

    name: str
    file_bytes: int
    compressed_bytes: int
    files: int
    roots: tuple[tuple[str, float], ...]


_BASE_ROOTS = (
    ("etc", 0.05),
    ("usr/bin", 0.15),
    ("usr/lib", 0.5),
    ("usr/share", 0.25),
    ("var/lib", 0.05),
)
BASE_PRESETS: dict[str, BasePreset] = {
    # ANCHORS "Real images": alpine:3.22, 1 layer, 3.79 MB compressed, 8.3 MB on disk.
    "alpine": BasePreset("alpine", 8_300_000, 3_790_000, 400, _BASE_ROOTS),
    # ANCHORS "Real images": debian:bookworm, 1 layer, 48.5 MB compressed, 116.57 MB on disk.
    "debian": BasePreset("debian", 116_570_000, 48_500_000, 2_000, _BASE_ROOTS),
    # ANCHORS "Real images": ubuntu:24.04, 1 layer, 29.76 MB compressed, 78.16 MB on disk.
    "ubuntu": BasePreset("ubuntu", 78_160_000, 29_760_000, 1_500, _BASE_ROOTS),
}


@dataclass(frozen=True)
class RuntimePreset:
    """A runtime: layers of `layer_compressed_bytes` over its base family, each holding
    `ratio` times as many file bytes; file counts are assumptions (`runtimes.file_scale`)."""

    name: str
    base: str
    ecosystem: str
    layer_compressed_bytes: tuple[int, ...]
    ratio: float
    layer_files: tuple[int, ...]
    root: str


RUNTIME_PRESETS: dict[str, RuntimePreset] = {
    # ANCHORS "Real images": python:3.12-bookworm, 7 layers 48.5 (the debian base) / 24.1 / 64.4 /
    # 211.7 / 6.2 / 25.7 MB / 249 B compressed, 380.6 MB compressed, 1.02 GB on disk: the six
    # runtime layers hold (1020 - 116.57) / (380.6 - 48.5) = 2.72 bytes per compressed byte.
    "python": RuntimePreset(
        "python",
        "debian",
        "python",
        (24_100_000, 64_400_000, 211_700_000, 6_200_000, 25_700_000, 249),
        2.72,
        (120, 240, 1_000, 40, 500, 1),
        "usr/local/py",
    ),
    # ANCHORS "Real images": node:24-trixie, 8 layers 49.3 (base) / 25.6 / 67.8 / 236.3 MB /
    # 3.3 KB / 59.1 MB / 1.3 MB / 448 B compressed; on-disk ratio assumed as python's.
    "node": RuntimePreset(
        "node",
        "debian",
        "node",
        (25_600_000, 67_800_000, 236_300_000, 3_300, 59_100_000, 1_300_000, 448),
        2.72,
        (120, 240, 1_000, 2, 600, 8, 1),
        "usr/local/nd",
    ),
    # Assumption (no ANCHORS row): a JRE over ubuntu, certificates/locales then the JRE, jars
    # and a modules image that compress about 2x.
    "jvm": RuntimePreset(
        "jvm",
        "ubuntu",
        "jvm",
        (16_000_000, 55_000_000, 10_000),
        2.0,
        (60, 60, 2),
        "opt/jvm",
    ),
}


@dataclass(frozen=True)
class EcosystemPreset:
    """A package ecosystem: where its packages install, and what their files look like
    (all assumptions: typical apt, pip, npm and maven packages, scaled down in count)."""

    name: str
    prefix: str
    files_factor: float  # times `packages.files_mean`
    file_bytes_median: int
    file_bytes_sigma: float
    class_mix: tuple[float, float, float]  # text, binary, archive (probabilities per file)
    # Does a rebuild that is not reproducible rewrite some files (`apps.rebuild_noise_*`)?
    # Assumption: apt writes dpkg status, logs and caches, pip compiles .pyc at install time;
    # npm and maven unpack files as published (only the tar's mtimes differ, not contents).
    rebuild_noise: bool = True


ECOSYSTEMS: dict[str, EcosystemPreset] = {
    "system": EcosystemPreset("system", "usr/lib/pkgs", 1.0, 32_000, 1.5, (0.4, 0.6, 0.0)),
    "python": EcosystemPreset(
        "python", "usr/local/lib/python3.12/site-packages", 1.5, 16_000, 1.5, (0.8, 0.2, 0.0)
    ),
    "node": EcosystemPreset(
        "node", "app/node_modules", 1.5, 8_000, 1.5, (0.95, 0.05, 0.0), rebuild_noise=False
    ),
    "jvm": EcosystemPreset(
        "jvm", "app/lib", 0.15, 800_000, 1.0, (0.05, 0.0, 0.95), rebuild_noise=False
    ),
}
BASE_FILE_SIGMA = 2.0  # assumption: log-normal spread of file sizes in a base layer
RUNTIME_FILE_SIGMA = 1.5  # assumption: log-normal spread of file sizes in a runtime layer
CODE_CLASS_MIX = (0.9, 0.1, 0.0)  # assumption: sources, configs, a few compiled files
CODE_FILE_SIGMA = 1.2  # assumption: log-normal spread of code file sizes
CODE_COUNT_SIGMA = 0.5  # assumption: log-normal spread of code file counts between apps
WASTE_SIGMA = 0.8  # assumption: log-normal spread of add-then-delete archive sizes
WRITE_SIGMA = 1.5  # assumption: spread of container-written file sizes
CHANGED_BYTES_MEDIAN = 4096  # assumption: bytes a modify changes (block drivers)
CHANGED_BYTES_SIGMA = 1.0  # assumption: log-normal spread of the bytes a modify changes


def class_mix_for_ratio(ratio: float) -> tuple[float, float, float]:
    """Byte shares (text, binary, archive) that compress `ratio`:1 with the class ratios of
    `sizes`: text+binary above the binary ratio, binary+archive below it. From
    `1/ratio = sum(share_c / ratio_c)`."""
    r_text, r_bin, r_arch = (DEFAULT_CLASS_RATIOS_PERMILLE[c] / 1000 for c in CLASS_NAMES)
    if ratio >= r_bin:
        text = min(1.0, (1 / r_bin - 1 / ratio) / (1 / r_bin - 1 / r_text))
        return (text, 1.0 - text, 0.0)
    archive = min(1.0, (1 / ratio - 1 / r_bin) / (1 / r_arch - 1 / r_bin))
    return (0.0, 1.0 - archive, archive)
