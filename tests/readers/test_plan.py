"""Tests of `layersim.readers.plan`: the OCI values both formats use (digests, descriptors,
platforms, a config's DiffIDs), checked with exact one-line messages.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.plan import (
    DEFAULT_PLATFORM,
    Descriptor,
    Platform,
    blob_path,
    check_digest,
    config_created,
    config_diff_ids,
    expect,
    parse_rfc3339,
)
from tests.readers.images import good_layout, sha

DIGEST = sha(b"x")


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha512:" + "a" * 128, "unsupported digest algorithm"),
        ("sha256:../../../../etc/passwd", "not a sha256 digest"),
        ("sha256:" + "A" * 64, "not a sha256 digest"),
    ],
)
def test_bad_descriptor_digests(tmp_path: Path, digest: str, message: str) -> None:
    """A descriptor in index.json with another algorithm, a path, or upper-case hex."""
    layout, desc = good_layout(tmp_path)
    (layout.root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [dict(desc, digest=digest)]})
    )
    with pytest.raises(ImageFormatError, match=message):
        read_images([layout.root])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sha512:" + "a" * 128, "W: unsupported digest algorithm in 'sha512:" + "a" * 128 + "'"),
        ("sha256:abc", "W: not a sha256 digest: 'sha256:abc'"),
        (None, "W: not a sha256 digest: None"),
        ("blobs/sha256/" + "a" * 64, "W: not a sha256 digest: 'blobs/sha256/" + "a" * 64 + "'"),
    ],
)
def test_check_digest_messages(value: object, message: str) -> None:
    """Exact messages, after `where`, for digests that are not `sha256:<64 lower hex>`."""
    with pytest.raises(ImageFormatError) as info:
        check_digest(value, "W")
    assert str(info.value) == message


def test_check_digest_and_blob_path_of_a_good_digest() -> None:
    """A good digest comes back as is; its blob lies at `blobs/sha256/<hex>`."""
    assert check_digest(DIGEST, "W") == DIGEST
    assert blob_path(DIGEST) == "blobs/sha256/" + DIGEST[7:]


def test_expect_messages() -> None:
    """`expect` returns a present value of the right type; a missing, mistyped or boolean-for-
    integer field, or a non-object, is refused by name."""
    assert expect({"size": 3}, "size", int, "W") == 3
    for obj, message in [
        ({}, "W: field 'size' is missing or malformed"),
        ({"size": "3"}, "W: field 'size' is missing or malformed"),
        ({"size": True}, "W: field 'size' is missing or malformed"),
        ([1], "W: expected a JSON object, got list"),
    ]:
        with pytest.raises(ImageFormatError) as info:
            expect(obj, "size", int, "W")
        assert str(info.value) == message


def test_platform_parse_and_str() -> None:
    """`os/arch[/variant]` round-trips through `str`; other shapes are refused."""
    assert Platform.parse("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    assert str(Platform.parse(" linux/amd64 ")) == "linux/amd64"
    assert str(DEFAULT_PLATFORM) == "linux/amd64"
    for text in ("amd64", "linux//v8", "a/b/c/d"):
        with pytest.raises(ImageFormatError) as info:
            Platform.parse(text)
        assert str(info.value) == f"platform {text!r} is not os/arch[/variant]"


def test_platform_of_a_descriptor_or_config() -> None:
    """The platform declared in an index descriptor or a config, if both os and architecture
    are strings; a non-string variant is ignored."""
    assert Platform.of({"os": "linux", "architecture": "arm", "variant": "v7"}) == Platform(
        "linux", "arm", "v7"
    )
    assert Platform.of({"os": "linux", "architecture": "amd64", "variant": 7}) == DEFAULT_PLATFORM
    assert Platform.of({"os": "linux"}) is None
    assert Platform.of("linux/amd64") is None


@pytest.mark.parametrize(
    ("have", "wanted", "matches"),
    [
        ("linux/amd64", "linux/amd64", True),
        ("linux/arm64/v8", "linux/arm64", True),  # no variant wanted: any variant
        ("linux/arm64", "linux/arm64/v8", True),  # containerd: arm64 implies v8
        ("linux/arm", "linux/arm/v7", True),  # and arm implies v7
        ("linux/arm", "linux/arm/v6", False),
        ("linux/arm/v6", "linux/arm/v7", False),
        ("linux/amd64", "windows/amd64", False),
        ("linux/amd64/v2", "linux/amd64/v3", False),
    ],
)
def test_platform_matching(have: str, wanted: str, matches: bool) -> None:
    """Which platform serves which wanted one, variants as containerd's matcher implies them."""
    assert Platform.parse(have).matches(Platform.parse(wanted)) is matches


def test_descriptor_parse() -> None:
    """Media type, digest, size, platform and annotations (as strings) of a descriptor."""
    obj = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": DIGEST,
        "size": 7,
        "platform": {"os": "linux", "architecture": "amd64"},
        "annotations": {"a": 1},
    }
    assert Descriptor.parse(obj, "W") == Descriptor(
        "application/vnd.oci.image.manifest.v1+json", DIGEST, 7, DEFAULT_PLATFORM, {"a": "1"}
    )
    assert Descriptor.parse({"digest": DIGEST, "size": 0}, "W") == Descriptor("", DIGEST, 0)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ("not an object", "W: a descriptor must be a JSON object"),
        ({"mediaType": 5, "digest": DIGEST, "size": 1}, "W: malformed mediaType 5"),
        ({"digest": DIGEST, "size": -1}, "W: negative size -1"),
        ({"digest": DIGEST}, "W: field 'size' is missing or malformed"),
        ({"digest": DIGEST, "size": 1, "annotations": ["a"]}, "W: malformed annotations"),
        ({"size": 1}, "W: not a sha256 digest: None"),
    ],
)
def test_descriptor_parse_messages(obj: object, message: str) -> None:
    """Exact messages for each malformed part of a descriptor."""
    with pytest.raises(ImageFormatError) as info:
        Descriptor.parse(obj, "W")
    assert str(info.value) == message


def test_config_diff_ids() -> None:
    """The DiffIDs of `rootfs.diff_ids`, in order; a rootfs of another type or a bad DiffID is
    refused."""
    config = {"rootfs": {"type": "layers", "diff_ids": [sha(b"a"), sha(b"b")]}}
    assert config_diff_ids(config, "C") == [sha(b"a"), sha(b"b")]
    for rootfs, message in [
        ({"type": "squashfs", "diff_ids": []}, "C: rootfs type 'squashfs' is not 'layers'"),
        (
            {"type": "layers", "diff_ids": ["nope"]},
            "C: rootfs.diff_ids: not a sha256 digest: 'nope'",
        ),
        ({"type": "layers"}, "C: rootfs: field 'diff_ids' is missing or malformed"),
    ]:
        with pytest.raises(ImageFormatError) as info:
            config_diff_ids({"rootfs": rootfs}, "C")
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01t12:34:56z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T12:34:56.123456789Z", datetime(2024, 5, 1, 12, 34, 56, 123456, tzinfo=UTC)),
        ("2024-05-01T12:34:56.5Z", datetime(2024, 5, 1, 12, 34, 56, 500000, tzinfo=UTC)),
        (
            "2024-05-01T12:34:56-07:00",
            datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone(timedelta(hours=-7))),
        ),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_rfc3339_times(text: str, expected: datetime) -> None:
    """Config `created` times as Go writes them (nanoseconds cut to microseconds, any offset)."""
    assert parse_rfc3339(text) == expected
    assert config_created({"created": text}) == expected


@pytest.mark.parametrize(
    "value",
    ["2024-05-01", "2024-05-01T12:34:56", "2024-02-30T00:00:00Z", "yesterday", "", 0, None],
)
def test_not_rfc3339(value: object) -> None:
    """A date alone, a time without offset, an impossible date, or no string: no time (never
    guessed); a config without `created` or that is no object has none either."""
    assert parse_rfc3339(value) is None
    assert config_created({"created": value}) is None
    assert config_created({}) is None and config_created([]) is None
