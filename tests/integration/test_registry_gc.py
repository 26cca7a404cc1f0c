"""What `analyze --registry-storage` says garbage collection frees, against the real tool.

Images written here byte by byte (`tests.readers.images.Layout`, with chosen `created` times)
are pushed with skopeo to a `docker-registry` (distribution 2.8, deletion enabled) whose
storage is a temp dir: a base layer shared by every image; a tag pushed twice, so that its first
manifest becomes untagged; a manifest deleted through the API, so that its blobs become
unreferenced; an image without `created`; a multi-platform index. `layersim analyze` reads
the storage (`--registry-storage`, `--older-than 180d --now ...`). Then the real
`docker-registry garbage-collect` runs on copies of the storage, plain and with
`--delete-untagged`, and once more after the old images' manifests are deleted through the API;
each time the blobs it removed (the `blobs/sha256/*/*/data` files gone, and their bytes) are
what the report said they would be. Storage the API would not produce (written by hand: nested
names, a revision whose blob is gone, a directory without `_layers`, a tag without its revision,
a broken link) is read as the real tool reads it.

Install the tools with `.ci/install-tools.sh`; without them every test here is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.accounting.registry_ops import garbage_collect, storage_what_ifs
from layersim.cli.app import app
from layersim.errors import ImageFormatError
from layersim.readers.registry_storage import parse_now, read_registry_storage
from tests.readers.images import INDEX_MT, Layout, M, RegistryStorage, make_tar

pytestmark = pytest.mark.integration

NOW = "2026-12-01T00:00:00Z"
OLDER_THAN = "180d"  # cutoff 2026-06-04: app:1, app:stable and old:1 are older
MANIFEST_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
)


def _layer(name: str, size: int) -> bytes:
    """A one-file layer of `size` incompressible bytes drawn from its name."""
    return make_tar([M(f"data/{name}", hashlib.shake_256(name.encode()).digest(size))])


# (repository:tag, layout ref): pushed in this order; `latest` twice, `gone:1` then deleted
PUSHES = (
    ("app:1", "a1"),
    ("app:stable", "a1"),
    ("app:2", "a2"),
    ("app:latest", "a3"),
    ("app:latest", "a4"),
    ("tool:1", "t1"),
    ("old:1", "o1"),
    ("gone:1", "g1"),
    ("multi:1", "m"),
)


def _layout(root: Path) -> Layout:
    """One layout holding every image to push, by ref."""
    layout = Layout(root)
    base = _layer("base", 40_000)
    images = {
        "a1": ([base, _layer("a1", 9_000)], "2025-01-01T00:00:00Z"),
        "a2": ([base, _layer("a2", 11_000)], "2026-11-01T10:00:00.123456789Z"),
        "a3": ([base, _layer("a3", 13_000)], "2026-10-01T00:00:00Z"),
        "a4": ([base, _layer("a4", 15_000)], "2026-11-20T00:00:00+02:00"),
        "t1": ([base, _layer("t1", 17_000)], None),
        "o1": ([base, _layer("a2", 11_000), _layer("o1", 19_000)], "2024-06-01T00:00:00Z"),
        "g1": ([base, _layer("g1", 21_000), _layer("g2", 23_000)], "2026-11-25T00:00:00Z"),
    }
    for ref, (tars, created) in images.items():
        layout.add(layout.image(tars, created=created), ref)
    children = [
        dict(
            layout.image([base, _layer(name, size)], platform=("linux", arch), created=created),
            platform={"os": "linux", "architecture": arch},
        )
        for name, size, arch, created in (
            ("m1", 25_000, "amd64", "2026-11-10T00:00:00Z"),
            ("m2", 27_000, "arm64", "2026-11-12T00:00:00Z"),
        )
    ]
    index = {"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": children}
    layout.add(layout.json_blob(index, INDEX_MT), "m")
    return layout


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def _config(path: Path, storage: Path, port: int = 5000) -> Path:
    path.write_text(
        "version: 0.1\nlog:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: layersim-tests\n"
    )
    return path


def _blob_files(storage: Path) -> dict[str, int]:
    """Every blob the storage holds, with its `data` bytes, as the tool leaves them on disk."""
    return {
        "sha256:" + data.parent.name: data.stat().st_size
        for data in (storage / "docker/registry/v2/blobs/sha256").glob("*/*/data")
    }


@dataclass
class Collected:
    """What one real `garbage-collect` run removed, and what it printed."""

    blobs: dict[str, int]
    output: str

    @property
    def eligible_manifests(self) -> int:
        match = re.search(r"(\d+) blobs and (\d+) manifests eligible for deletion", self.output)
        assert match, self.output
        return int(match.group(2))


def _collect(work: Path, storage: Path, name: str, *flags: str) -> Collected:
    """Copy `storage`, run the real garbage collection on the copy, return what it removed."""
    copy = work / name
    shutil.copytree(storage, copy, symlinks=True)
    before = _blob_files(copy)
    config = _config(work / f"{name}.yml", copy)
    output = _run(["docker-registry", "garbage-collect", *flags, str(config)])
    after = _blob_files(copy)
    assert set(after) <= set(before)
    return Collected({d: n for d, n in before.items() if d not in after}, output)


@dataclass
class Pushed:
    work: Path
    storage: Path
    url: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://{url}/v2/", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"docker-registry did not start:\n{log.read_text()}")
        time.sleep(0.1)


def _delete_manifest(url: str, reference: str) -> None:
    """DELETE a manifest through the API, by the digest its tag points to (as `skopeo
    delete` does): the registry unlinks the revision and every tag pointing to it."""
    repo, _, tag = reference.partition(":")
    head = urllib.request.Request(
        f"http://{url}/v2/{repo}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFEST_ACCEPT},
    )
    with urllib.request.urlopen(head, timeout=10) as response:
        digest = response.headers["Docker-Content-Digest"]
    delete = urllib.request.Request(f"http://{url}/v2/{repo}/manifests/{digest}", method="DELETE")
    with urllib.request.urlopen(delete, timeout=10) as response:
        assert response.status == 202


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    missing = [tool for tool in ("skopeo", "docker-registry") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"integration tools missing: {', '.join(missing)} (.ci/install-tools.sh)")
    work = tmp_path_factory.mktemp("registry-gc")
    layout = _layout(work / "layout")
    storage = work / "storage"
    port = _free_port()
    url = f"127.0.0.1:{port}"
    config = _config(work / "registry.yml", storage, port)
    env = dict(os.environ, XDG_DATA_HOME=str(work / "xdg"), XDG_RUNTIME_DIR=str(work / "run"))
    if os.geteuid() == 0:
        env["_CONTAINERS_ROOTLESS_UID"] = "1000"  # a private blob-info cache (test_real_tools)
    (work / "run").mkdir()
    log = work / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(url, process, log)
        for reference, ref in PUSHES:
            _run(
                [
                    "skopeo",
                    "--insecure-policy",
                    "copy",
                    "--all",
                    "--dest-tls-verify=false",
                    f"oci:{layout.root}:{ref}",
                    f"docker://{url}/{reference}",
                ],
                env=env,
            )
        _delete_manifest(url, "gone:1")
        yield Pushed(work=work, storage=storage, url=url, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _analyze(pushed: Pushed) -> dict:
    """`layersim analyze` of the registry's images, with its storage and the old-tag what-if."""
    args = [
        "analyze",
        f"docker://{pushed.url}",
        "--tls-verify=false",
        "--no-cache",
        "--registry-storage",
        str(pushed.storage),
        "--older-than",
        OLDER_THAN,
        "--now",
        NOW,
        "--json",
        "--quiet",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["analysis"]


def test_garbage_collection_figures_equal_what_the_registry_removes(pushed: Pushed) -> None:
    """Plain `garbage-collect` removes exactly `garbage_collect`'s blobs and bytes (the deleted
    manifest's blobs: its manifest, config and two own layers); `--delete-untagged` removes
    those plus `untagged_pinned` (the overwritten `latest` and, as distribution 2.8 does, the
    index's children with their own layers and configs), and unlinks as many manifests as it
    says; deleting the old images' manifests and collecting again removes `older_than`'s on
    top; of those, the layer blobs are what the engine's `older_than` over the images read
    from the registry says. Figures by the CLI's JSON, blob sets by `registry_ops` on the same
    storage."""
    analysis = _analyze(pushed)
    figures = analysis["registry"]["storage"]
    store = read_registry_storage(pushed.storage)
    assert figures["blobs"] == len(_blob_files(pushed.storage))
    assert (
        figures["repositories"] == 5
    )  # app, gone (untagged now, its _layers kept), multi, old, tool
    assert sorted(figures["older_than"]["deleted_tags"]) == ["app:1", "app:stable", "old:1"]
    assert figures["older_than"]["tags_without_created"] == ["tool:1"]

    plain = _collect(pushed.work, pushed.storage, "plain")
    assert sorted(plain.blobs) == list(garbage_collect(store).blobs)
    assert len(plain.blobs) == figures["garbage_collect"]["frees_blobs"] == 4
    assert sum(plain.blobs.values()) == figures["garbage_collect"]["frees_bytes"]

    untagged = _collect(pushed.work, pushed.storage, "untagged", "--delete-untagged")
    assert sorted(untagged.blobs) == list(garbage_collect(store, True).blobs)
    both = figures["garbage_collect_delete_untagged"]
    assert len(untagged.blobs) == both["frees_blobs"]
    assert sum(untagged.blobs.values()) == both["frees_bytes"]
    assert both["frees_bytes"] == (
        figures["garbage_collect"]["frees_bytes"] + figures["untagged_pinned"]["frees_bytes"]
    )
    assert untagged.eligible_manifests == figures["untagged_pinned"]["manifests"]

    # the old images deleted through the API (every tag of theirs is old), then collected
    deleted = pushed.work / "deleted"
    shutil.copytree(pushed.storage, deleted, symlinks=True)
    port = _free_port()
    config = _config(pushed.work / "deleted-serve.yml", deleted, port)
    log = pushed.work / "deleted.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(f"127.0.0.1:{port}", process, log)
        for reference in ("app:1", "old:1"):  # app:stable is app:1's manifest: deleted with it
            _delete_manifest(f"127.0.0.1:{port}", reference)
    finally:
        process.terminate()
        process.wait(timeout=10)
    old = _collect(pushed.work, deleted, "old", "--delete-untagged")
    older = figures["older_than"]
    assert len(old.blobs) == both["frees_blobs"] + older["frees_blobs"]
    assert sum(old.blobs.values()) == both["frees_bytes"] + older["frees_bytes"]
    what_ifs = storage_what_ifs(store, parse_now(NOW) - timedelta(days=180))
    assert what_ifs.older_than is not None
    assert set(old.blobs) - set(untagged.blobs) == set(what_ifs.older_than.frees.blobs)
    # the engine's figure, over the images read (layer blobs only)
    engine = analysis["registry"]["older_than"]
    host = pushed.url
    assert engine["deleted_images"] == [f"{host}/app:1", f"{host}/app:stable", f"{host}/old:1"]
    assert engine["images_without_created"] == [f"{host}/tool:1"]
    layers = {
        layer["blob_digest"] for image in analysis["images"].values() for layer in image["layers"]
    }
    freed_layers = {d: n for d, n in old.blobs.items() if d not in untagged.blobs and d in layers}
    assert len(freed_layers) == 2  # a1 and o1; a2 stays with app:2
    assert engine["frees_bytes"] == sum(freed_layers.values())
    assert analysis["images"][f"{host}/app:2"]["created"] == "2026-11-01T10:00:00.123456+00:00"
    print(
        f"\nreal garbage-collect removed: plain {len(plain.blobs)} blobs / "
        f"{sum(plain.blobs.values())} B; --delete-untagged {len(untagged.blobs)} / "
        f"{sum(untagged.blobs.values())} B ({untagged.eligible_manifests} manifests); after "
        f"deleting the old images {len(old.blobs)} / {sum(old.blobs.values())} B. layersim: "
        f"{json.dumps({k: figures[k] for k in ('garbage_collect', 'untagged_pinned')})}, "
        f"older_than {older['frees_blobs']} / {older['frees_bytes']} B"
    )


def _hand_written(root: Path) -> RegistryStorage:
    """Storage the API would not produce, written by hand: nested repository names (`team`
    and `team/app`), a revision whose manifest blob is gone, a repository without `_layers`
    (not one, for the registry), a tag whose manifest's revision link was removed."""
    storage = RegistryStorage(root)
    storage.tag(
        "team/app", "1", storage.image("team/app", [b"l0" * 50, b"l1" * 50], "2025-01-01T00:00:00Z")
    )
    storage.tag("team", "1", storage.image("team", [b"l0" * 50, b"l2" * 50]))
    storage.tag("miss", "1", storage.image("miss", [b"l3" * 50]))
    gone = storage.image("miss", [b"l4" * 50])
    shutil.rmtree(storage.v2 / "blobs/sha256" / gone[7:9] / gone[7:])
    storage.tag("nolayers", "1", storage.image("nolayers", [b"l5" * 50]))
    shutil.rmtree(storage.repository("nolayers") / "_layers")
    untracked = storage.image("untracked", [b"l6" * 50])
    storage.tag("untracked", "1", untracked)
    (
        storage.repository("untracked") / "_manifests/revisions/sha256" / untracked[7:] / "link"
    ).unlink()
    return storage


@pytest.mark.parametrize("flags", [(), ("--delete-untagged",)])
def test_odd_storage_is_read_as_the_registry_reads_it(
    tmp_path: Path, flags: tuple[str, ...]
) -> None:
    """On hand-written storage with nested names, a revision whose blob is gone, a directory
    without `_layers` and a tag without its revision link, the real `garbage-collect` (plain
    and `--delete-untagged`) removes exactly the blobs `registry_ops.garbage_collect` says."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry missing (.ci/install-tools.sh)")
    storage = _hand_written(tmp_path / "storage")
    ours = garbage_collect(read_registry_storage(storage.root), bool(flags))
    real = _collect(tmp_path, storage.root, "copy", *flags)
    assert sorted(real.blobs) == list(ours.blobs) and len(ours.blobs) >= 5
    assert sum(real.blobs.values()) == ours.frees_bytes


def test_a_broken_link_stops_both(tmp_path: Path) -> None:
    """A revision link that is not a digest: the real `garbage-collect` fails, and reading
    the storage is an `ImageFormatError` naming the link."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry missing (.ci/install-tools.sh)")
    storage = RegistryStorage(tmp_path / "storage")
    digest = storage.image("app", [b"l0" * 50])
    link = storage.repository("app") / "_manifests/revisions/sha256" / digest[7:] / "link"
    link.write_text("not a digest")
    config = _config(tmp_path / "gc.yml", storage.root)
    result = subprocess.run(
        ["docker-registry", "garbage-collect", str(config)], capture_output=True, timeout=60
    )
    assert result.returncode != 0
    with pytest.raises(ImageFormatError, match="broken link file"):
        read_registry_storage(storage.root)
