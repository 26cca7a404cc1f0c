"""Tests of `readers.registry_storage`: a registry's filesystem storage, written by hand as the
registry lays it out (`tests.readers.images.RegistryStorage`), read back exactly (repositories,
revisions, tags, references, creation times); bad storage is one `ImageFormatError` naming the
file; the `--older-than` and `--now` parsers."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from layersim.errors import ConfigError, ImageFormatError
from layersim.readers.registry_storage import (
    parse_duration_seconds,
    parse_now,
    read_registry_storage,
)
from tests.readers.images import INDEX_MT, RegistryStorage, sha

BASE, A1, A2, T1 = (name.encode() * 300 for name in ("base", "a1", "a2", "t1"))


def _storage(tmp_path: Path) -> tuple[RegistryStorage, dict[str, str]]:
    """app:1 (old), app:2 and app:latest (overwritten: its first manifest is untagged),
    team/tool:1 (no `created`), gone:1 (deleted through the API), and multi:1 (an index)."""
    storage = RegistryStorage(tmp_path / "registry")
    m = {
        "app1": storage.image("app", [BASE, A1], "2025-01-01T00:00:00Z"),
        "app2": storage.image("app", [BASE, A2], "2026-11-01T00:00:00.123456789Z"),
        "app3": storage.image("app", [BASE, b"a3" * 100], "2026-10-01T00:00:00Z"),
        "app4": storage.image("app", [BASE, b"a4" * 100], "2026-11-20T02:00:00+02:00"),
        "tool": storage.image("team/tool", [BASE, T1]),
        "gone": storage.image("gone", [BASE, b"g1" * 100], "2026-11-25T00:00:00Z"),
        "amd": storage.image("multi", [BASE, b"m1" * 10], "2026-11-10T00:00:00Z"),
        "arm": storage.image("multi", [BASE, b"m2" * 10], "2026-11-12T00:00:00Z"),
    }
    for tag, key in (("1", "app1"), ("2", "app2"), ("latest", "app3"), ("latest", "app4")):
        storage.tag("app", tag, m[key])
    storage.tag("team/tool", "1", m["tool"])
    storage.tag("gone", "1", m["gone"])
    storage.delete_manifest("gone", m["gone"])
    children = [
        {"mediaType": "x", "digest": m[k], "size": 1, "platform": {"os": "linux"}}
        for k in ("amd", "arm")
    ]
    children.append(
        {"mediaType": "x", "digest": m["app1"], "size": 1, "platform": {"os": "unknown"}}
    )
    m["multi"] = storage.manifest(
        "multi", {"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": children}
    )
    storage.tag("multi", "1", m["multi"])
    return storage, m


def test_reads_what_the_registry_holds(tmp_path: Path) -> None:
    """Repositories (nested names too) in name order; revisions without their link (the
    deleted manifest) left out; tags as `current` points; references of a manifest (config,
    layers) and of an index (children); creation times, Go's nanoseconds cut to microseconds,
    an index's the latest of its children's (the `unknown` attestation aside), none without
    `created`; every blob with its `data` bytes."""
    storage, m = _storage(tmp_path)
    store = read_registry_storage(storage.root)
    repos = {r.name: r for r in store.repositories}
    assert list(repos) == ["app", "gone", "multi", "team/tool"]
    assert repos["app"].revisions == tuple(sorted(m[k] for k in ("app1", "app2", "app3", "app4")))
    assert repos["app"].tags == (("1", m["app1"]), ("2", m["app2"]), ("latest", m["app4"]))
    assert repos["gone"].revisions == () and repos["gone"].tags == ()
    assert repos["team/tool"].tags == (("1", m["tool"]),)
    manifest = json.loads(
        (storage.v2 / "blobs/sha256" / m["app1"][7:9] / m["app1"][7:] / "data").read_bytes()
    )
    assert store.references[m["app1"]] == (manifest["config"]["digest"], sha(BASE), sha(A1))
    assert store.references[m["multi"]] == (m["amd"], m["arm"], m["app1"])
    assert store.created[m["app1"]] == datetime(2025, 1, 1, tzinfo=UTC)
    assert store.created[m["app2"]] == datetime(2026, 11, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert store.created[m["app4"]] == datetime(
        2026, 11, 20, 2, tzinfo=timezone(timedelta(hours=2))
    )
    assert store.created[m["multi"]] == datetime(2026, 11, 12, tzinfo=UTC)
    assert store.created[m["tool"]] is None
    files = list((storage.v2 / "blobs/sha256").glob("*/*/data"))
    assert store.blob_bytes == {"sha256:" + f.parent.name: f.stat().st_size for f in files}


def test_the_v2_directory_itself_and_an_empty_registry(tmp_path: Path) -> None:
    """The `docker/registry/v2` directory may be given itself; a registry that holds nothing
    yet is an empty store, not an error."""
    storage, _ = _storage(tmp_path)
    assert read_registry_storage(storage.v2) == read_registry_storage(storage.root)
    empty = tmp_path / "empty"
    (empty / "docker/registry/v2").mkdir(parents=True)
    store = read_registry_storage(empty)
    assert store.blob_bytes == {} and store.repositories == ()


def test_a_link_to_a_missing_blob_is_no_revision(tmp_path: Path) -> None:
    """A revision whose blob the store no longer holds is skipped, as the registry's
    enumeration skips it; its tag still reads, with no creation time."""
    storage = RegistryStorage(tmp_path / "registry")
    digest = storage.image("app", [BASE], "2025-01-01T00:00:00Z")
    storage.tag("app", "1", digest)
    shutil.rmtree(storage.v2 / "blobs/sha256" / digest[7:9] / digest[7:])
    (store_repo,) = read_registry_storage(storage.root).repositories
    assert store_repo.revisions == () and store_repo.tags == (("1", digest),)
    assert read_registry_storage(storage.root).created == {digest: None}


def _break(tmp_path: Path, how: str) -> Path:
    storage = RegistryStorage(tmp_path / "registry")
    digest = storage.image("app", [BASE], "2025-01-01T00:00:00Z")
    storage.tag("app", "1", digest)
    revision = storage.repository("app") / "_manifests/revisions/sha256" / digest[7:] / "link"
    if how == "revision":
        revision.write_text("sha256:nothex")
    elif how == "mismatch":
        revision.write_text(sha(b"other"))
    elif how == "tag":
        (storage.repository("app") / "_manifests/tags/1/current/link").write_bytes(b"\x00" * 4)
    elif how == "manifest":
        bad = storage.blob(b"{not json")
        storage.link(
            storage.repository("app") / "_manifests/revisions/sha256" / bad[7:] / "link", bad
        )
    elif how == "references":
        bad = storage.manifest("app", {"schemaVersion": 2, "layers": [{"digest": "md5:x"}]})
        assert bad
    elif how == "blob-name":
        (storage.v2 / "blobs/sha256/ab/not-a-digest").mkdir(parents=True)
        (storage.v2 / "blobs/sha256/ab/not-a-digest/data").write_bytes(b"x")
    elif how == "content":
        data = storage.v2 / "blobs/sha256" / digest[7:9] / digest[7:] / "data"
        data.write_bytes(data.read_bytes().replace(b"schemaVersion", b"schemaversion"))
    return storage.root


@pytest.mark.parametrize(
    "how, message",
    [
        ("revision", "broken link file (not a sha256 digest"),
        ("mismatch", "broken link file (holds sha256:"),
        ("tag", "broken link file"),
        ("manifest", "malformed JSON"),
        ("references", "malformed digest 'md5:x'"),
        ("blob-name", "a blob directory not named by its digest"),
        ("content", "content has digest"),
    ],
)
def test_bad_storage_is_one_error(tmp_path: Path, how: str, message: str) -> None:
    """A broken link (not a digest, or not the digest of its directory), a manifest that does
    not parse, references no digest, or does not hash to its name, a blob directory not named
    by a digest: an `ImageFormatError` naming the file (the real garbage-collect stops too)."""
    with pytest.raises(ImageFormatError, match=message.replace("(", r"\(")):
        read_registry_storage(_break(tmp_path, how))


def test_not_a_registry_storage(tmp_path: Path) -> None:
    """A directory without `docker/registry/v2`, or no directory at all, is refused by name."""
    with pytest.raises(ImageFormatError, match="not a registry's storage"):
        read_registry_storage(tmp_path)
    with pytest.raises(ImageFormatError, match="no such directory"):
        read_registry_storage(tmp_path / "missing")


@pytest.mark.parametrize(
    "text, seconds",
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600), ("0s", 0)],
)
def test_durations(text: str, seconds: int) -> None:
    """`--older-than` takes a whole number and one unit."""
    assert parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "1.5d", "-1d", "30x", "30 days", ""])
def test_bad_durations(text: str) -> None:
    """Anything else names the option."""
    with pytest.raises(ConfigError, match="--older-than"):
        parse_duration_seconds(text)


def test_now() -> None:
    """`--now` is RFC 3339 with an offset; a date alone or a time without offset is refused."""
    assert parse_now("2026-12-01T00:00:00Z") == datetime(2026, 12, 1, tzinfo=UTC)
    for bad in ("2026-12-01", "2026-12-01T00:00:00", "yesterday"):
        with pytest.raises(ConfigError, match="--now"):
            parse_now(bad)
