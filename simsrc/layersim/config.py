"""The experiment config: what fleet to generate and how to run its time simulation.

An experiment is a TOML file, a built-in scenario, or both, plus `--set section.key=value`
overrides and a seed. Layers of settings, each over the one before:

1. the defaults below, which *are* the `company` scenario;
2. a built-in scenario (`small`, `company`, `hub`; `list_scenarios()`), named by the `scenario`
   argument or by a top-level `scenario = "..."` key of the file;
3. the file's own keys;
4. the overrides, in order (each value is parsed as a TOML value; a bare word is a string);
5. typed values, in order (`load_config(values=...)`, as the CLI's `--seed`).

`apply_values(config, {"apps.count": 300, "seed": 7})` applies typed values to a config the
same way: callers that hold values (the seed, a calibration's fit) never format them as text
for the parser to read back.

Every key is validated through one field table, whatever the value came from: an unknown
section or key, a wrong type or an out-of-range value raises `ConfigError` with a one-line
message that starts with the key, e.g. `apps.count: must be a positive integer, got -3` (the
checks are `layersim.checks`').

Every default says where it comes from: a line of docs/anchors.md (the table and row, quoted), or
plainly "assumption" where no published figure fixes it. This module only reads and checks
settings; what they mean is `fleet` (generation) and `simulation`'s.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from layersim.checks import (
    AT_LEAST_ONE,
    BYTES_SCALE,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    Check,
    CheckFailed,
    a_table,
    boolean,
    checked,
    choice,
    distinct_names,
    integer,
    one_line_text,
    power_of_two,
)
from layersim.errors import ConfigError
from layersim.model import StorageDriver
from layersim.model.chunks import (
    CDC_AVG_RANGE,
    CDC_MAX_RANGE,
    CDC_MIN_RANGE,
    DEFAULT_CDC_AVG_BYTES,
    DEFAULT_CDC_MAX_BYTES,
    DEFAULT_CDC_MIN_BYTES,
    DEFAULT_FIXED_CHUNK_BYTES,
)
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE

DEFAULT_SCENARIO = "company"

# The presets a config may name; their figures live in `fleet.presets` (each cited there).
BASE_FAMILIES = ("alpine", "debian", "ubuntu")
RUNTIME_FAMILIES = ("python", "node", "jvm")
RUNTIME_BASE = {"python": "debian", "node": "debian", "jvm": "ubuntu"}
PLACEMENTS = ("spread", "binpack")


# --------------------------------------------------------------------------- value checks
# The checks are `layersim.checks`' (shared with the spec reader); `_checked` adds the key.

SEED = integer(0, 2**63 - 1, "an integer from 0 to 2**63-1")


INT64_MAX = 2**63 - 1


def _checked(key: str, check: Check, value: Any) -> Any:
    # a config value may be a list (families): the message shows it, not just "a list"
    result = checked(key, check, value, ConfigError, show_lists=True)
    # an integer the generator's numpy arrays cannot hold is refused too, after the key's own
    # check: `bases.release_every=2**63` would otherwise end in a ValueError in numpy
    if isinstance(result, int) and not isinstance(result, bool) and abs(result) > INT64_MAX:
        raise ConfigError(f"{key}: must fit in 64 bits (at most 2**63-1), got {result}")
    return result


# The data compression ratios a generated layer can have: its files' content classes mix
# between the least and the most compressible class of `sizes` (fleet.presets.class_mix_for_ratio).
MIN_CLASS_RATIO = min(DEFAULT_CLASS_RATIOS_PERMILLE.values()) / 1000
MAX_CLASS_RATIO = max(DEFAULT_CLASS_RATIOS_PERMILLE.values()) / 1000


def _preset_or_ratio(value: Any) -> float:
    what = f"0 (the preset's) or a number from {MIN_CLASS_RATIO:g} to {MAX_CLASS_RATIO:g}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise CheckFailed(f"must be {what}")
    ratio = float(value)
    if ratio != 0.0 and not MIN_CLASS_RATIO <= ratio <= MAX_CLASS_RATIO:
        raise CheckFailed(f"must be {what}")
    return ratio


FIXED_CHUNK_RANGE = (4096, 1 << 30)


def _within(bounds: tuple[int, int]) -> str:
    return f"an integer from {bounds[0]} to {bounds[1]} (bytes)"


def _option(check: Check, doc: str) -> dict[str, Any]:
    return {"check": check, "doc": doc}


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class TimeConfig:
    """The simulated horizon."""

    # Issue 3: "company ... a year of epochs"; one epoch is a week (assumption).
    epochs: int = field(default=52, metadata=_option(POSITIVE_INT, "number of epochs"))
    # Label only (tables say "epoch", docs say "week"). Assumption.
    epoch_days: int = field(default=7, metadata=_option(POSITIVE_INT, "days per epoch (label)"))
    # Stored bytes (registry, nodes) are computed every N epochs and at the last one; transfers
    # every epoch. A cost knob for large scenarios, not a model parameter.
    storage_every: int = field(
        default=1, metadata=_option(POSITIVE_INT, "compute stored bytes every N epochs")
    )


@dataclass(frozen=True)
class BasesConfig:
    """Base image families (one layer each, like the official base images)."""

    # ANCHORS "Real images": alpine:3.22, debian:bookworm, ubuntu:24.04 (sizes in fleet.presets).
    families: tuple[str, ...] = field(
        default=BASE_FAMILIES,
        metadata=_option(distinct_names(BASE_FAMILIES, allow_empty=False), "base families"),
    )
    # Issue 12: Debian's official images are republished under dated tags
    # (`debian:bookworm-YYYYMMDD`); those pinned in public Dockerfiles for the first half of
    # 2024 are 20240110, 20240130, 20240211, 20240311, 20240423, 20240513, 20240612, 20240701:
    # gaps of 12 to 43 days, median 20 to 29, about 3 weekly epochs. A sample found by code
    # search (docs/anchors.md "Cadences"), not docker-library's own list, which may be denser.
    release_every: int = field(
        default=3, metadata=_option(POSITIVE_INT, "epochs between patch releases")
    )
    # ANCHORS "Versions of one base": 10 ubuntu:jammy versions, 766.1 MiB as tars, 109.5 MiB
    # file-deduplicated: (109.5 - 76.6) / 9 = 3.7 MiB new per version of 76.6 MiB, about 5%.
    rewrite_fraction: float = field(
        default=0.05, metadata=_option(PROBABILITY, "share of files each release rewrites")
    )
    # Multiplies the preset file counts (assumptions, see fleet.presets); bytes stay calibrated.
    file_scale: float = field(default=1.0, metadata=_option(POSITIVE, "file count multiplier"))
    # 1.0: the presets' bytes (ANCHORS "Real images"). Set by `layersim calibrate` to fit the
    # base layers of analyzed images.
    bytes_scale: float = field(
        default=1.0, metadata=_option(BYTES_SCALE, "file bytes multiplier of every base family")
    )
    # 0: each family's preset (ANCHORS "Real images": on-disk / compressed, 2.2x to 2.6x). Set
    # by `layersim calibrate` from the base layers of analyzed images.
    compression_ratio: float = field(
        default=0.0,
        metadata=_option(_preset_or_ratio, "file bytes per compressed byte (0: preset)"),
    )


@dataclass(frozen=True)
class RuntimesConfig:
    """Language runtimes (python-like, node-like, jvm-like) built on base versions."""

    # ANCHORS "Real images": python:3.12-bookworm and node:24-trixie rows; jvm: assumption.
    families: tuple[str, ...] = field(
        default=RUNTIME_FAMILIES,
        metadata=_option(distinct_names(RUNTIME_FAMILIES, allow_empty=True), "runtime families"),
    )
    # Assumption: rebuilt on each new base (docker-library rebuilds an image when its parent
    # changes), so at the bases' cadence (3 weeks, above), with its own phase, not in lockstep
    # with it (ANCHORS "Real images": python and debian published on different days had
    # different base-layer digests).
    rebuild_every: int = field(default=3, metadata=_option(POSITIVE_INT, "epochs between rebuilds"))
    # Assumption fitted to flx42 (issue 12): a runtime rebuild rewrites a quarter of its files
    # (it also recompiles and updates its own packages, where a base release patches 5%). With
    # the bases' 5% a flx42-like node (every tag of 36 repositories of the hub) dedups 3.9x at
    # file level instead of flx42's 2.7x.
    rewrite_fraction: float = field(
        default=0.25, metadata=_option(PROBABILITY, "share of files each rebuild rewrites")
    )
    # Multiplies the preset file counts (assumptions, see fleet.presets); bytes stay calibrated.
    file_scale: float = field(default=1.0, metadata=_option(POSITIVE, "file count multiplier"))
    # 1.0: the presets' bytes (ANCHORS "Real images"). Set by `layersim calibrate`.
    bytes_scale: float = field(
        default=1.0, metadata=_option(BYTES_SCALE, "file bytes multiplier of every runtime layer")
    )
    # 0: each family's preset (python, node: 2.72, from ANCHORS "Real images"; jvm: 2.0,
    # assumption). Set by `layersim calibrate`.
    compression_ratio: float = field(
        default=0.0,
        metadata=_option(_preset_or_ratio, "file bytes per compressed byte (0: preset)"),
    )


@dataclass(frozen=True)
class PackagesConfig:
    """The shared package universe dependency layers draw from (one per ecosystem: system
    packages, python, node, jvm)."""

    # Assumption: distinct packages a company's apps draw from, per ecosystem.
    count: int = field(default=1000, metadata=_option(POSITIVE_INT, "packages per ecosystem"))
    # Assumption: ANCHORS "Docker Hub at scale" says popularity is "heavily skewed toward a few
    # images" without an exponent; the classic Zipf exponent 1 is used for packages too.
    zipf_exponent: float = field(default=1.0, metadata=_option(NON_NEGATIVE, "popularity skew"))
    # Assumption (scaled down to keep populations tractable; bytes per file scale up instead).
    files_mean: float = field(
        default=12.0, metadata=_option(AT_LEAST_ONE, "mean files per package")
    )
    # Assumption: a package releases a new version about twice a year.
    release_every: float = field(
        default=26.0, metadata=_option(AT_LEAST_ONE, "mean epochs between releases")
    )
    # Assumption: a new package version changes half of its files.
    rewrite_fraction: float = field(
        default=0.5, metadata=_option(PROBABILITY, "share of files a release rewrites")
    )
    # 1.0: the ecosystems' preset median file sizes (assumptions, see fleet.presets). Set by
    # `layersim calibrate` to fit the dependency layers of analyzed images.
    file_bytes_scale: float = field(
        default=1.0, metadata=_option(BYTES_SCALE, "package file size multiplier")
    )
    # Transitive dependencies (issue 12): a package depends on a few others, drawn (Zipf) from
    # the ecosystem's `core` most popular packages, so an app's dependency layer holds the
    # closure of its direct packages, much of it the same core packages as other apps'. Both
    # figures are assumptions: npm's packages reach dozens of others transitively, most of them
    # a small set of popular ones (Zimmermann et al., USENIX Security 2019, not read from the
    # primary source here: *unverified*), scaled down like the file counts.
    dependencies_mean: float = field(
        default=2.0, metadata=_option(NON_NEGATIVE, "mean dependencies of a package")
    )
    core: int = field(
        default=50, metadata=_option(POSITIVE_INT, "popular packages dependencies come from")
    )


@dataclass(frozen=True)
class AppsConfig:
    """The apps: a parent, dependency layers, code, and sometimes the add-then-delete waste."""

    # Issue 3: "company ... hundreds of apps".
    count: int = field(default=300, metadata=_option(POSITIVE_INT, "number of apps"))
    # Parents (runtimes in config order, then bases) by Zipf popularity. ANCHORS "Docker Hub at
    # scale": popularity "heavily skewed toward a few images"; the exponent is an assumption.
    parent_zipf_exponent: float = field(
        default=1.0, metadata=_option(NON_NEGATIVE, "parent popularity skew")
    )
    # Assumption: most apps track the newest parent; the others lag behind by a few versions.
    latest_share: float = field(
        default=0.7, metadata=_option(PROBABILITY, "share of apps on the newest parent")
    )
    lag_mean: float = field(
        default=2.0, metadata=_option(AT_LEAST_ONE, "mean lag in versions of the others")
    )
    # Assumption: an app rebuilds about every 2 weeks (geometric, per app).
    rebuild_every: float = field(
        default=2.0, metadata=_option(AT_LEAST_ONE, "mean epochs between rebuilds")
    )
    # Assumption: half the apps on a runtime also install system packages (`apt-get install`)
    # in a layer of their own; apps directly on a base always do.
    system_deps_probability: float = field(
        default=0.5, metadata=_option(PROBABILITY, "share of runtime apps with a system layer")
    )
    # Assumption.
    packages_per_layer: float = field(
        default=10.0, metadata=_option(AT_LEAST_ONE, "mean packages per dependency layer")
    )
    # Assumption: a build refreshes its dependency lock (newest package versions) 30% of the time.
    dep_update_probability: float = field(
        default=0.3, metadata=_option(PROBABILITY, "chance a build refreshes dependencies")
    )
    # Assumption: few build pipelines are reproducible; a reproducible app rebuilding unchanged
    # dependencies gets the same DiffID, any other build a new one (docs/design.md §2).
    reproducible_probability: float = field(
        default=0.1, metadata=_option(PROBABILITY, "share of apps with reproducible builds")
    )
    # Per-rebuild noise (issue 12): a build that is not reproducible re-installs the same
    # package versions and writes files of its own at install time that differ every build:
    # .pyc compiled by pip (about the size of the sources), apt lists, dpkg status and logs.
    # The layer's digest differs, its package files do not. Noise files: this share of the
    # layer's package files (at least one, at most 16), together this share of their bytes
    # (added to the layer). Both are assumptions (reproducible-builds.org names timestamps as
    # the first cause of unreproducible output; no published share per layer): few files
    # (Zhao's 3% distinct files on the latest tags leaves little room), many bytes (.pyc as
    # large as the sources, apt lists tens of MB), fitted so that the hub meets the Zhao,
    # DupHunter and flx42 rows. Only ecosystems that write at install time have noise
    # (`fleet.presets.EcosystemPreset.rebuild_noise`: system and python, not npm or maven).
    rebuild_noise_files: float = field(
        default=0.02, metadata=_option(PROBABILITY, "share of dep files a rebuild rewrites")
    )
    rebuild_noise_bytes: float = field(
        default=0.5, metadata=_option(PROBABILITY, "share of dep bytes a rebuild rewrites")
    )
    # Assumption.
    code_files: float = field(
        default=60.0, metadata=_option(AT_LEAST_ONE, "mean files of app code")
    )
    # Assumption: source files are a few KB.
    code_file_bytes: int = field(
        default=8192, metadata=_option(POSITIVE_INT, "median bytes of a code file")
    )
    # Assumption: one `COPY` of the code. More: the code files split in order over this many
    # layers (Dockerfile steps); `layersim calibrate` fits it to the analyzed images' layers.
    code_layers: int = field(
        default=1, metadata=_option(POSITIVE_INT, "layers the code files are split over")
    )
    # Assumption: a rebuild changes a fifth of the code files (at least one).
    code_change_fraction: float = field(
        default=0.2, metadata=_option(PROBABILITY, "share of code files a rebuild changes")
    )
    # Boilerplate (issue 12): this share of an app's code files (its first ones: licences,
    # ignore files, empty `__init__.py`, config and CI templates) are copies of one of
    # `boilerplate_variants` shared templates per file slot (Zipf by popularity), the same
    # contents in every app that picks the same template, until a rebuild edits them. Both
    # assumptions (Zhao et al. find most files duplicated across images; no share is published
    # for app code).
    boilerplate_fraction: float = field(
        default=0.3, metadata=_option(PROBABILITY, "share of code files from templates")
    )
    boilerplate_variants: int = field(
        default=20, metadata=_option(POSITIVE_INT, "templates per boilerplate file")
    )
    # Assumption: docs/design.md §8 "with some probability"; one app in five fetches an archive in one
    # step and deletes it in a later one (the pattern dive flags as wasted space).
    waste_probability: float = field(
        default=0.2, metadata=_option(PROBABILITY, "share of apps with add-then-delete")
    )
    # Assumption: a downloaded source archive of about 5 MB (median).
    waste_bytes: int = field(
        default=5_000_000, metadata=_option(POSITIVE_INT, "median bytes of that archive")
    )
    # Assumption: every app of a company runs on its nodes; on a hub most images never do.
    deployed_fraction: float = field(
        default=1.0, metadata=_option(PROBABILITY, "share of apps running on the nodes")
    )
    # Assumption: about three replicas per deployed app.
    replicas_mean: float = field(
        default=3.0, metadata=_option(AT_LEAST_ONE, "mean replicas of a deployed app")
    )


@dataclass(frozen=True)
class NodesConfig:
    """The machines that run app replicas, and their containers."""

    # Issue 3: "company ... tens of nodes".
    count: int = field(default=40, metadata=_option(POSITIVE_INT, "number of nodes"))
    # Issue 3: "spread" (least loaded) or "binpack" (by shared layers).
    placement: str = field(
        default="spread", metadata=_option(choice(PLACEMENTS), "replica placement policy")
    )
    # Assumption: a node keeps the running version and the one before (rollback).
    retention: int = field(
        default=2, metadata=_option(POSITIVE_INT, "versions of an app a node keeps")
    )
    # Assumption: three stopped containers in ten linger until their image is removed.
    linger_probability: float = field(
        default=0.3, metadata=_option(PROBABILITY, "chance a stopped container lingers")
    )
    # Assumption: a few files written per container (logs, caches, temp files).
    writes_mean: float = field(default=4.0, metadata=_option(NON_NEGATIVE, "mean files written"))
    # Assumption: 1 MB median per written file.
    write_bytes: int = field(
        default=1_000_000, metadata=_option(POSITIVE_INT, "median bytes of a written file")
    )
    # Assumption: about one image file modified per container (copied up whole by overlay2).
    modifies_mean: float = field(default=1.0, metadata=_option(NON_NEGATIVE, "mean files modified"))
    # 0: every node's stored bytes are exact; N > 0: only N evenly spaced nodes are measured and
    # the fleet totals are estimates with a 95% interval (docs/design.md §5). Cost knob.
    stats_sample: int = field(
        default=0, metadata=_option(NON_NEGATIVE_INT, "nodes measured per epoch (0: all)")
    )


@dataclass(frozen=True)
class RegistryConfig:
    """The registry every new image is pushed to."""

    # Assumption: a registry cleanup policy keeping the last 10 tags of each repository.
    retention: int = field(
        default=10, metadata=_option(POSITIVE_INT, "versions of a repository the registry keeps")
    )


@dataclass(frozen=True)
class TransferConfig:
    """The pull-time model: per node, `ceil(blobs / parallel_downloads) * blob_latency +
    bytes / bandwidth`; start-up = pull time + container start."""

    # Assumption: a 1 Gbit/s node link.
    bandwidth_mbit: float = field(
        default=1000.0, metadata=_option(POSITIVE, "node link bandwidth, Mbit/s")
    )
    # Assumption: 50 ms per blob (registry round trips: HEAD, token, GET redirect).
    blob_latency_ms: float = field(
        default=50.0, metadata=_option(NON_NEGATIVE, "latency per blob, ms")
    )
    # Docker's daemon default `max-concurrent-downloads` is 3 (issue 3).
    parallel_downloads: int = field(
        default=3, metadata=_option(POSITIVE_INT, "parallel blob downloads per node")
    )
    # Issue 12: a pull also decompresses and extracts what it downloads (containerd and Docker
    # gunzip and untar each layer; extraction is not overlapped with the download here, an
    # upper bound). Assumption: 60 MB of compressed blob per second (single-threaded gunzip
    # and untar of a layer compressing 2.5x: about 150 MB/s of tar written); no published
    # figure in docs/anchors.md.
    extract_mbyte_per_s: float = field(
        default=60.0, metadata=_option(POSITIVE, "decompress-and-extract MB/s (compressed)")
    )
    # Calibrated to ANCHORS "Transfer and start-up": pulling is 76% of start-up, the mean over
    # cold starts of 57 images (Slacker). Fitted over a population of cold pulls, not one image
    # (issue 12): the 40 cold pulls of the default scenario (each node's first pull, app
    # images of 231 MB compressed on average) give a mean share of 76% with 0.8 s
    # (tests/simulation/test_pulltime.py); the hub's cold pulls are the check.
    container_start_seconds: float = field(
        default=0.8,
        metadata=_option(NON_NEGATIVE, "start-up time besides the pull, s"),
    )


@dataclass(frozen=True)
class LazyConfig:
    """The lazy-pull model (eStargz, Nydus, Slacker; DESIGN.md §7, `simulation.lazy`): a
    container starts once it has fetched the share `read_fraction` of each layer blob its node
    lacks, in requests of `chunk_bytes`, `transfer.parallel_downloads` at a time, each paying
    `request_latency_ms`; the rest follows in the background (`background`) or never."""

    # ANCHORS "Transfer and start-up": 6.4% of the pulled data is read at start-up (Slacker,
    # FAST 2016, cold starts of 57 HelloBench images).
    read_fraction: float = field(
        default=0.064,
        metadata=_option(PROBABILITY, "share of an image's lacking bytes read at start-up"),
    )
    # Assumption: Nydus's default 1 MiB chunk as the request granularity (eStargz's default
    # chunk is 4 MiB; either is an option).
    chunk_bytes: int = field(
        default=1_048_576, metadata=_option(POSITIVE_INT, "bytes fetched per lazy request")
    )
    # Assumption: a range request costs a round trip like a blob request (`transfer`'s 50 ms).
    request_latency_ms: float = field(
        default=50.0, metadata=_option(NON_NEGATIVE, "latency per lazy request, ms")
    )
    # Assumption: eStargz and Nydus prefetch the rest of the image in the background by default.
    background: bool = field(
        default=True, metadata=_option(boolean, "fetch the rest in the background")
    )


@dataclass(frozen=True)
class StorageConfig:
    """How nodes store what they pull (`model.StorageOptions`)."""

    # docs/design.md §4: 4 KiB filesystem blocks by default.
    block_bytes: int = field(default=4096, metadata=_option(power_of_two(512), "filesystem block"))
    # docs/design.md §3: overlay2 copies a modified file up whole.
    driver: str = field(
        default="overlay2",
        metadata=_option(choice([d.value for d in StorageDriver]), "storage driver"),
    )
    # docs/design.md §5 / ANCHORS "How the real tools count": containerd keeps compressed blobs beside
    # the snapshots unless told not to; Docker's overlay2 store does not (default off).
    keep_compressed_blobs: bool = field(
        default=False, metadata=_option(boolean, "keep compressed blobs on nodes")
    )


@dataclass(frozen=True)
class ChunksConfig:
    """Chunk-level dedup in generated fleets (`fleet.lineage`, docs/semantics.md "Chunks in
    generated fleets"): the two chunkers' sizes, and the edit by which a new version of a file
    derives from the version before (the rest of its chunks shared with it)."""

    # Issue 13: pyfastcdc's FastCDC(avg_size=65536) defaults (min = avg / 4, max = avg * 4), as
    # `analyze` cuts real files; each within pyfastcdc's range.
    cdc_min_bytes: int = field(
        default=DEFAULT_CDC_MIN_BYTES,
        metadata=_option(integer(*CDC_MIN_RANGE, _within(CDC_MIN_RANGE)), "FastCDC minimum chunk"),
    )
    cdc_avg_bytes: int = field(
        default=DEFAULT_CDC_AVG_BYTES,
        metadata=_option(integer(*CDC_AVG_RANGE, _within(CDC_AVG_RANGE)), "FastCDC average chunk"),
    )
    cdc_max_bytes: int = field(
        default=DEFAULT_CDC_MAX_BYTES,
        metadata=_option(integer(*CDC_MAX_RANGE, _within(CDC_MAX_RANGE)), "FastCDC maximum chunk"),
    )
    # Issue 13 / ANCHORS: Nydus RAFS's default 1 MiB fixed-size chunk; at least Nydus's
    # smallest (4 KiB), which also bounds how many chunks a generated fleet's contents make.
    fixed_bytes: int = field(
        default=DEFAULT_FIXED_CHUNK_BYTES,
        metadata=_option(
            integer(*FIXED_CHUNK_RANGE, _within(FIXED_CHUNK_RANGE)), "fixed-size chunk bytes"
        ),
    )
    # Assumption: a new version of a file rewrites one contiguous tenth of its bytes (at least
    # one byte); a small file is then rewritten whole, as file-level dedup sees it.
    edit_fraction: float = field(
        default=0.1, metadata=_option(PROBABILITY, "share of a file's bytes an edit rewrites")
    )
    # Assumption: half of the edits insert bytes (shifting every fixed-size chunk after the
    # edit point; content-defined chunks resynchronise), half overwrite in place.
    insert_probability: float = field(
        default=0.5, metadata=_option(PROBABILITY, "probability that an edit is an insertion")
    )


SECTIONS: Mapping[str, type] = {
    "time": TimeConfig,
    "bases": BasesConfig,
    "runtimes": RuntimesConfig,
    "packages": PackagesConfig,
    "apps": AppsConfig,
    "nodes": NodesConfig,
    "registry": RegistryConfig,
    "transfer": TransferConfig,
    "lazy": LazyConfig,
    "storage": StorageConfig,
    "chunks": ChunksConfig,
}
TOP_KEYS = ("scenario", "description", "seed")


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment. `seed` seeds the one `numpy.random.Generator` of a run."""

    scenario: str = DEFAULT_SCENARIO
    description: str = ""
    seed: int = 42  # a modelling choice; any seed is as good
    time: TimeConfig = field(default_factory=TimeConfig)
    bases: BasesConfig = field(default_factory=BasesConfig)
    runtimes: RuntimesConfig = field(default_factory=RuntimesConfig)
    packages: PackagesConfig = field(default_factory=PackagesConfig)
    apps: AppsConfig = field(default_factory=AppsConfig)
    nodes: NodesConfig = field(default_factory=NodesConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    lazy: LazyConfig = field(default_factory=LazyConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    chunks: ChunksConfig = field(default_factory=ChunksConfig)


_TOP_CHECKS: Mapping[str, Check] = {
    "scenario": one_line_text,
    "description": one_line_text,
    "seed": SEED,
}


# --------------------------------------------------------------------------- scenarios


def _scenario_dir() -> Any:
    return resources.files("layersim") / "scenarios"


def scenario_names() -> tuple[str, ...]:
    """Names of the built-in scenarios, sorted."""
    return tuple(
        sorted(
            entry.name.removesuffix(".toml")
            for entry in _scenario_dir().iterdir()
            if entry.name.endswith(".toml")
        )
    )


def _scenario_document(name: str) -> dict[str, Any]:
    if name not in scenario_names():
        known = ", ".join(scenario_names())
        raise ConfigError(f"scenario: unknown scenario {name!r} (built-in: {known})")
    text = (_scenario_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return _parse_toml(text, f"scenario {name}")


def list_scenarios() -> list[tuple[str, str]]:
    """The built-in scenarios as (name, one-line description), sorted by name."""
    return [
        (name, str(_scenario_document(name).get("description", ""))) for name in scenario_names()
    ]


# --------------------------------------------------------------------------- loading


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}") from None


def _apply_document(config: ExperimentConfig, document: Mapping[str, Any]) -> ExperimentConfig:
    """`config` with every key of `document` (a file's form) checked and applied."""
    top: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS:
            table_value = _checked(key, a_table, value)
            known = {f.name: f for f in fields(SECTIONS[key])}
            changes: dict[str, Any] = {}
            for name, item in table_value.items():
                if name not in known:
                    allowed = ", ".join(sorted(known))
                    raise ConfigError(f"{key}.{name}: unknown key (known: {allowed})")
                changes[name] = _checked(f"{key}.{name}", known[name].metadata["check"], item)
            top[key] = replace(getattr(config, key), **changes)
        elif key in _TOP_CHECKS:
            top[key] = _checked(key, _TOP_CHECKS[key], value)
        else:
            allowed = ", ".join([*TOP_KEYS, *SECTIONS])
            raise ConfigError(f"{key}: unknown key or section (known: {allowed})")
    return replace(config, **top)


def _document(key: str, value: Any) -> dict[str, Any]:
    """One key and its value in a file's form: `apps.count`, 5 -> {"apps": {"count": 5}}."""
    section, dot, name = key.partition(".")
    if not dot:
        return {key: value}
    if not section or not name or "." in name:
        raise ConfigError(f"{key}: expected section.key or a top-level key ({', '.join(TOP_KEYS)})")
    return {section: {name: value}}


def parse_override(text: str) -> dict[str, Any]:
    """One `--set key=value` as a document: `apps.count=5` -> {"apps": {"count": 5}}.

    The value is read as a TOML value (`5`, `0.3`, `true`, `"x"`, `["a", "b"]`); a bare word
    that is not TOML (`binpack`) is taken as a string.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    raw = raw.strip()
    parts = key.split(".")
    if not sep or not key or not raw or len(parts) > 2 or not all(parts):
        raise ConfigError(f"--set {text}: expected section.key=value (or seed=N)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return _document(key, value)


def _apply_values(config: ExperimentConfig, values: Mapping[str, Any]) -> ExperimentConfig:
    for key, value in values.items():
        config = _apply_document(config, _document(key, value))
    return config


def _cross_checks(config: ExperimentConfig) -> None:
    chunks = config.chunks
    if chunks.cdc_min_bytes > chunks.cdc_avg_bytes:
        raise ConfigError(
            f"chunks.cdc_min_bytes: must be at most chunks.cdc_avg_bytes "
            f"({chunks.cdc_avg_bytes}), got {chunks.cdc_min_bytes}"
        )
    if chunks.cdc_avg_bytes > chunks.cdc_max_bytes:
        raise ConfigError(
            f"chunks.cdc_max_bytes: must be at least chunks.cdc_avg_bytes "
            f"({chunks.cdc_avg_bytes}), got {chunks.cdc_max_bytes}"
        )
    for runtime in config.runtimes.families:
        base = RUNTIME_BASE[runtime]
        if base not in config.bases.families:
            raise ConfigError(
                f"runtimes.families: {runtime} is built on base family {base}, "
                "which bases.families does not list"
            )


def apply_values(config: ExperimentConfig, values: Mapping[str, Any]) -> ExperimentConfig:
    """`config` with typed values set, e.g. `apply_values(config, {"apps.count": 300, "seed": 7})`.

    Each value is checked by the same field table as a file's or a `--set` value, so it may be
    what TOML would give: an integer for a float key (it becomes a float), a list (or a tuple)
    for a list key (it becomes a tuple); values apply in order. A key is `section.key`, a
    top-level key (`seed`, `description`; `scenario` sets the name only, as `--set` does), or a
    section name with a table of its keys (a file's form, as `config_to_dict` gives). Raises
    `ConfigError`, one line starting with the key, for an unknown key or a bad value; the
    cross checks of `load_config` run on the result.
    """
    config = _apply_values(config, values)
    _cross_checks(config)
    return config


def load_config(
    path: str | Path | None = None,
    scenario: str | None = None,
    overrides: Iterable[str] = (),
    values: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """The experiment: defaults, then a scenario, then the file, then the overrides, then the
    typed `values` (`apply_values`; the CLI's `--seed`).

    The scenario is `scenario` if given, else the file's top-level `scenario` key, else
    `company` when no file is given (a file without `scenario` starts from the defaults,
    which are the `company` scenario). Raises `ConfigError` (one line, naming the key) for any
    invalid setting and for an unreadable file.
    """
    document: dict[str, Any] = {}
    if path is not None:
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read the config: {exc}") from None
        document = _parse_toml(text, str(source))
        if "scenario" in document:
            _checked("scenario", one_line_text, document["scenario"])
    name = scenario or document.get("scenario") or DEFAULT_SCENARIO
    config = _apply_document(ExperimentConfig(), _scenario_document(name))
    config = replace(config, scenario=name)
    config = _apply_document(config, {k: v for k, v in document.items() if k != "scenario"})
    for text in overrides:
        config = _apply_document(config, parse_override(text))
    return apply_values(config, values or {})


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The config as plain JSON-able data (tuples as lists), in schema order."""
    out: dict[str, Any] = {
        "scenario": config.scenario,
        "description": config.description,
        "seed": config.seed,
    }
    for name in SECTIONS:
        section = getattr(config, name)
        out[name] = {
            f.name: list(v) if isinstance(v := getattr(section, f.name), tuple) else v
            for f in fields(section)
        }
    return out


def config_schema() -> list[tuple[str, str, Any, str]]:
    """Every key as (key, type, default, description) rows, for docs and `--help`."""
    rows: list[tuple[str, str, Any, str]] = []
    defaults = ExperimentConfig()
    rows.append(("seed", "int", defaults.seed, "seed of the run's random generator"))
    for name, cls in SECTIONS.items():
        section = getattr(defaults, name)
        for f in fields(cls):
            rows.append(
                (
                    f"{name}.{f.name}",
                    type(getattr(section, f.name)).__name__,
                    getattr(section, f.name),
                    f.metadata["doc"],
                )
            )
    return rows


# --------------------------------------------------------------------------- memory estimate

# What a run holds per unit, from measured peaks (docs/run.md "Memory"): the `hub` end-to-end
# benchmark (results/bench.md: peak RSS over its file entries) gives the bytes per entry; a
# `small` run with nodes.count raised to 10^7 the bytes per node; the interpreter, numpy and
# the compiled kernels take the base.
MEMORY_BASE_BYTES = 300 * 2**20
MEMORY_ENTRY_BYTES = 72
MEMORY_NODE_BYTES = 500
# A container and each file it writes or modifies: an assumption (a few int64 columns each),
# not measured; containers matter only when `apps.replicas_mean` or the writes are extreme.
MEMORY_CONTAINER_BYTES = 64
# The generator's app images per app and entries per app image, against the config's own
# counts: fitted over the built-in scenarios (their `counts` in summary.json) so that the
# estimate is above each scenario's real count, never below (issue 12 refit, with the dependency
# closure: hub 104.4M entries estimated 107.9M, company 5.17M -> 9.5M, small 60.6k -> 108k).
_IMAGES_PER_REBUILD = 1.75
_ENTRIES_PER_LISTED_FILE = 1.8
_BASE_ENTRIES = 20_000  # base and runtime images' entries: a few families, shared by all apps
# The keys the estimate grows with: the one most above its default is the one a refusal names.
MEMORY_KEYS = (
    "apps.count",
    "time.epochs",
    "nodes.count",
    "packages.count",
    "packages.files_mean",
    "apps.code_files",
    "apps.packages_per_layer",
    "packages.dependencies_mean",
    "apps.replicas_mean",
    "nodes.writes_mean",
    "nodes.modifies_mean",
)


def layer_packages(direct: float, packages: PackagesConfig) -> float:
    """Expected packages of a dependency layer with `direct` direct packages: those and their
    dependencies' distinct draws among the `core` (`direct x dependencies_mean` draws, counted
    as if uniform over the core: an overestimate under Zipf popularity)."""
    core = min(packages.core, packages.count)
    return direct + core * -math.expm1(-direct * packages.dependencies_mean / core)


def estimated_entries(config: ExperimentConfig) -> float:
    """The file entries the generator will make for `config`, estimated from its counts before
    anything is generated: apps x app images per app x entries per app image, plus the base
    and runtime images' entries and the package catalogue's files. An overestimate by design
    (see `_IMAGES_PER_REBUILD`)."""
    apps, packages = config.apps, config.packages
    images_per_app = _IMAGES_PER_REBUILD * config.time.epochs / apps.rebuild_every + 1.0
    per_layer = layer_packages(apps.packages_per_layer, packages) * packages.files_mean
    listed = apps.code_files * apps.code_layers + per_layer
    app_entries = apps.count * images_per_app * _ENTRIES_PER_LISTED_FILE * listed
    scale = max(config.bases.file_scale, config.runtimes.file_scale)
    return app_entries + _BASE_ENTRIES * scale + packages.count * packages.files_mean


def estimated_containers(config: ExperimentConfig) -> float:
    """Containers over the run, estimated: deployed apps x replicas x app images per app (a
    rebuild is deployed anew)."""
    apps = config.apps
    images_per_app = _IMAGES_PER_REBUILD * config.time.epochs / apps.rebuild_every + 1.0
    return apps.count * apps.deployed_fraction * apps.replicas_mean * images_per_app


def estimated_memory_bytes(config: ExperimentConfig) -> float:
    """Peak memory a run of `config` needs, estimated before generating (bytes): the base, plus
    `MEMORY_ENTRY_BYTES` per estimated entry, `MEMORY_NODE_BYTES` per node and
    `MEMORY_CONTAINER_BYTES` per container and per file each writes or modifies."""
    per_container = 1.0 + config.nodes.writes_mean + config.nodes.modifies_mean
    return (
        MEMORY_BASE_BYTES
        + MEMORY_ENTRY_BYTES * estimated_entries(config)
        + MEMORY_NODE_BYTES * config.nodes.count
        + MEMORY_CONTAINER_BYTES * estimated_containers(config) * per_container
    )


def _ratio_to_default(config: ExperimentConfig, key: str) -> float:
    section, name = key.split(".")
    value = getattr(getattr(config, section), name)
    default = getattr(getattr(ExperimentConfig(), section), name)
    return value / default if default else float(value)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def check_memory(config: ExperimentConfig, machine_bytes: int) -> None:
    """Raise `ConfigError` if a run of `config` is estimated to need more memory than
    `machine_bytes` (the machine's physical memory): one line naming the key most above its
    default, the estimate and the machine's memory. The CLI's `--allow-large` skips this."""
    needed = estimated_memory_bytes(config)
    if needed <= machine_bytes:
        return
    key = max(MEMORY_KEYS, key=lambda k: _ratio_to_default(config, k))
    section, name = key.split(".")
    value = getattr(getattr(config, section), name)
    raise ConfigError(
        f"{key}: {value:,} makes the run need about {_gib(needed)} of memory "
        f"({estimated_entries(config):,.0f} file entries, {config.nodes.count:,} nodes); this "
        f"machine has {_gib(machine_bytes)} (use --allow-large to run anyway)"
    )
