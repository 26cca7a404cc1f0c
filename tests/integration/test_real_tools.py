"""layersim's readers and metrics against real container tools (no Docker engine needed).

Images are built once per module with buildah (vfs storage, chroot isolation, `--layers`,
`--timestamp 0`), exported with skopeo to OCI layouts (gzip, zstd, uncompressed) and to
docker-archives, unpacked with umoci, and pushed in order to a distribution registry
(`docker-registry`) on a loopback port. The tests assert that what `read_images` /
`read_population` and `reference.evaluate` say agrees with what the tools did:

- layer DiffIDs, blob digests and sizes equal the manifests and configs skopeo reports;
- the same images read from OCI layouts and docker-archives give the same layers and files;
- the merged view of an image equals the root filesystem umoci unpacks;
- shadowed bytes of an add-then-delete image equal the deleted file; the same steps in one
  layer shadow nothing; the flattened view equals buildah's `--squash` image file for file;
- advise's combine_steps and rebase save what the combined (rebased) build really saves;
- per push, the layers the registry received, mounted from another repository or already
  had, and the bytes it received, equal each PushRecord.

skopeo decides to mount a blob from another repository only if its blob-info cache remembers
where it pushed it, so every buildah and skopeo here runs with a fresh cache in the module's
temp dir (`_CONTAINERS_ROOTLESS_UID` + `XDG_DATA_HOME` move it there: c/image otherwise keeps
root's cache in /var/lib/containers/cache, shared across runs). Storage is in the temp dir too
(`--root`/`--runroot`), so the tests write nothing outside it.

Install the tools with `.ci/install-tools.sh`; without them every test here is skipped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from layersim.accounting.assemble import evaluate as assemble_evaluate
from layersim.accounting.metrics import PopulationMetrics
from layersim.accounting.reference import evaluate
from layersim.advice.advise import COMBINE_STEPS, REBASE, advise, combine_steps, set_figures
from layersim.model import EntryKind, Image, Layer, Population
from layersim.model.overlay import merged_view
from layersim.readers import population_of, read_images, read_population
from layersim.readers.flatten import measure_combined_paths, measure_flattened_paths

pytestmark = pytest.mark.integration

TOOLS = ("buildah", "skopeo", "docker-registry", "umoci")
BUSYBOX = Path("/bin/busybox")
IMAGES = ("base", "app1", "app2", "wasteful", "combined", "squashed")  # build order
# push (and read) order: app1 is pushed twice to its repository, as tags 1 and 2
PUSHES = ("base:1", "app1:1", "app1:2", "app2:1", "wasteful:1", "combined:1", "squashed:1")
SEQ_COUNT = 100_000
BLOB_BYTES = sum(len(str(i)) + 1 for i in range(1, SEQ_COUNT + 1))  # `seq 1 100000` output
APPLETS = ("sh", "mkdir", "rm", "seq", "echo", "cat", "cp")

CONTAINERFILES = {
    "base": "FROM scratch\nADD rootfs.tar /\n",
    "app1": ("FROM localhost/base:1\nCOPY app1.bin /app/app1.bin\nRUN echo app1 > /app/name.txt\n"),
    "app2": "FROM localhost/base:1\nCOPY app2.bin /app/app2.bin\nCOPY shared.txt /app/shared.txt\n",
    "wasteful": (
        f"FROM localhost/base:1\nRUN seq 1 {SEQ_COUNT} > /opt/blob.txt\nRUN rm /opt/blob.txt\n"
    ),
    "combined": f"FROM localhost/base:1\nRUN seq 1 {SEQ_COUNT} > /opt/blob.txt && rm /opt/blob.txt\n",
}


def _missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not BUSYBOX.is_file():
        missing.append("busybox-static (/bin/busybox)")
    return missing


@pytest.fixture(scope="module")
def tools() -> None:
    missing = _missing_tools()
    if missing:
        pytest.skip(
            f"integration tools missing: {', '.join(missing)} (install with .ci/install-tools.sh)"
        )


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a tool; on failure, fail the test with its output."""
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr if "--debug" in args else result.stdout


@dataclass
class Built:
    """The images built for the module, and where they were exported."""

    work: Path
    storage: str  # containers-storage reference prefix
    env: dict[str, str]  # buildah's and skopeo's environment: a private blob-info cache
    oci: dict[str, Path] = field(default_factory=dict)  # one layout per repository, tag "1"
    archives: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Path] = field(default_factory=dict)  # app1 as zstd / uncompressed layouts

    def skopeo(self, *args: str) -> str:
        return run(["skopeo", "--insecure-policy", *args], env=self.env)


def _rootfs_tar(path: Path) -> None:
    """A tiny root filesystem: a static busybox, its applets as symlinks, /etc/passwd."""
    busybox = BUSYBOX.resolve().read_bytes()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, kind: bytes, data: bytes = b"", link: str = "", mode: int = 0o755):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode, info.mtime = kind, link, mode, 0
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for directory in ("bin", "etc", "opt", "tmp"):
            add(directory, tarfile.DIRTYPE)
        add("bin/busybox", tarfile.REGTYPE, busybox)
        for applet in APPLETS:
            add(f"bin/{applet}", tarfile.SYMTYPE, link="busybox", mode=0o777)
        add("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)


def _tools_env(work: Path) -> dict[str, str]:
    """buildah's and skopeo's environment: a blob-info cache of their own, in `work`."""
    env = dict(os.environ, XDG_DATA_HOME=str(work / "xdg"), XDG_RUNTIME_DIR=str(work / "run"))
    if os.geteuid() == 0:
        env["_CONTAINERS_ROOTLESS_UID"] = "1000"  # root's cache path ignores XDG_DATA_HOME
    (work / "run").mkdir(exist_ok=True)
    return env


@pytest.fixture(scope="module")
def built(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("real-tools")
    context = work / "context"
    context.mkdir()
    _rootfs_tar(context / "rootfs.tar")
    shared = b"".join(b"shared line %d\n" % i for i in range(2000))
    (context / "app1.bin").write_bytes(hashlib.shake_256(b"app1").digest(200_000) + shared)
    (context / "app2.bin").write_bytes(hashlib.shake_256(b"app2").digest(150_000))
    (context / "shared.txt").write_bytes(shared)
    root, runroot = work / "storage", work / "runroot"
    buildah = [
        "buildah",
        "--root",
        str(root),
        "--runroot",
        str(runroot),
        "--storage-driver",
        "vfs",
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--timestamp",
        "0",
    ]
    env = _tools_env(work)
    for name in IMAGES:
        containerfile = context / f"Containerfile.{name}"
        extra = []
        if name == "squashed":  # the wasteful steps, squashed into one layer
            containerfile.write_text(CONTAINERFILES["wasteful"])
            extra = ["--squash"]
        else:
            containerfile.write_text(CONTAINERFILES[name])
        run(
            [*buildah, *extra, "-f", str(containerfile), "-t", f"localhost/{name}:1", str(context)],
            env=env,
        )
    built = Built(work=work, storage=f"containers-storage:[vfs@{root}+{runroot}]", env=env)
    (work / "oci").mkdir()
    (work / "archives").mkdir()
    for name in IMAGES:
        source = f"{built.storage}localhost/{name}:1"
        built.oci[name] = work / "oci" / name
        built.skopeo("copy", source, f"oci:{built.oci[name]}:1")
        built.archives[name] = work / "archives" / f"{name}.tar"
        built.skopeo("copy", source, f"docker-archive:{built.archives[name]}:localhost/{name}:1")
    built.skopeo("copy", f"oci:{built.oci['app1']}:1", f"oci:{built.oci['app1']}:2")
    source = f"{built.storage}localhost/app1:1"
    built.extra["zstd"] = work / "oci-zstd" / "app1"
    built.extra["none"] = work / "oci-none" / "app1"
    for layout in built.extra.values():
        layout.parent.mkdir()
    built.skopeo("copy", "--dest-compress-format", "zstd", source, f"oci:{built.extra['zstd']}:1")
    built.skopeo(
        "copy", "--dest-oci-accept-uncompressed-layers", source, f"oci:{built.extra['none']}:1"
    )
    return built


@pytest.fixture(scope="module")
def population(built: Built) -> Population:
    """The OCI layouts, one per repository, read in build (= push) order."""
    return read_population([built.oci[name] for name in IMAGES])


@pytest.fixture(scope="module")
def oci_images(population: Population) -> dict[str, Image]:
    """The images read from the OCI layouts by repository name (tag 1)."""
    assert [image.name for image in population.images] == list(PUSHES)
    return {
        image.name.split(":")[0]: image for image in population.images if image.name.endswith(":1")
    }


@pytest.fixture(scope="module")
def metrics(population: Population) -> PopulationMetrics:
    return evaluate(population)


def _files(layer_entries) -> dict[str, tuple]:
    return {
        e.path: (e.kind, e.file_bytes, e.content, e.link_target, e.tar_bytes) for e in layer_entries
    }


# ---------------------------------------------------------------------------------------------
# identities and sizes


def test_layers_agree_with_the_manifests_and_configs_skopeo_reports(
    built: Built, oci_images: dict[str, Image]
) -> None:
    """Blob digests and sizes equal the manifest's descriptors; DiffIDs equal the config's."""
    for name, image in oci_images.items():
        reference = f"oci:{built.oci[name]}:1"
        manifest = json.loads(built.skopeo("inspect", "--raw", reference))
        config = json.loads(built.skopeo("inspect", "--config", "--raw", reference))
        assert [(layer.blob_digest, layer.compressed_bytes) for layer in image.layers] == [
            (d["digest"], d["size"]) for d in manifest["layers"]
        ]
        assert image.diff_ids == config["rootfs"]["diff_ids"]
        for layer in image.layers:
            stored = built.oci[name] / "blobs/sha256" / layer.blob_digest[7:]
            assert layer.compressed_bytes == stored.stat().st_size
    assert len(oci_images["squashed"].layers) == 1
    assert len(oci_images["wasteful"].layers) == 3
    # the apps and the wasteful images sit on the very base layer
    base = oci_images["base"].layers[0]
    assert all(oci_images[n].layers[0] == base for n in ("app1", "app2", "wasteful", "combined"))


def test_docker_archives_read_the_same_layers_as_oci_layouts(
    built: Built, oci_images: dict[str, Image]
) -> None:
    """docker-archive layers are the uncompressed tars: same DiffIDs, same files, tar bytes
    equal to the archive members' sizes, blob digest = DiffID."""
    archived = read_images([built.archives[name] for name in IMAGES])
    assert [image.name for image in archived] == [f"localhost/{name}:1" for name in IMAGES]
    for image, name in zip(archived, IMAGES, strict=True):
        oci = oci_images[name]
        assert image.diff_ids == oci.diff_ids
        manifest = json.loads(_archive_member(built.archives[name], "manifest.json"))
        with tarfile.open(built.archives[name]) as tar:
            sizes = [_resolved_size(tar, p) for p in manifest[0]["Layers"]]
        for layer, oci_layer, size in zip(image.layers, oci.layers, sizes, strict=True):
            assert layer.tar_bytes == oci_layer.tar_bytes == size
            assert layer.blob_digest == layer.diff_id and layer.compressed_bytes == size
            assert _files(layer.entries) == _files(oci_layer.entries)


def test_zstd_and_uncompressed_exports_read_the_same(
    built: Built, oci_images: dict[str, Image]
) -> None:
    """skopeo's zstd and uncompressed exports of app1 give the gzip export's DiffIDs and files,
    and the blob digests and sizes their manifests declare."""
    gzip_image = oci_images["app1"]
    for kind, layout in built.extra.items():
        (image,) = read_images([layout])
        manifest = json.loads(built.skopeo("inspect", "--raw", f"oci:{layout}:1"))
        suffix = {"zstd": "+zstd", "none": ".tar"}[kind]
        assert all(d["mediaType"].endswith(suffix) for d in manifest["layers"])
        assert [(layer.blob_digest, layer.compressed_bytes) for layer in image.layers] == [
            (d["digest"], d["size"]) for d in manifest["layers"]
        ]
        assert image.diff_ids == gzip_image.diff_ids
        for layer, reference in zip(image.layers, gzip_image.layers, strict=True):
            assert _files(layer.entries) == _files(reference.entries)


def _archive_member(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


def _resolved_size(tar: tarfile.TarFile, name: str) -> int:
    member = tar.getmember(name)
    if member.issym():
        target = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
        member = tar.getmember(target)
    return member.size


# ---------------------------------------------------------------------------------------------
# overlay semantics against real tools


def test_merged_view_equals_the_rootfs_umoci_unpacks(
    built: Built, oci_images: dict[str, Image]
) -> None:
    """For every image, the files of our merged view are those umoci extracts, with the same
    sizes and contents (whiteouts applied by umoci, by overlay.merged_view here)."""
    for name, image in oci_images.items():
        rootfs = built.work / "unpacked" / name
        rootfs.parent.mkdir(exist_ok=True)
        run(["umoci", "raw", "unpack", "--image", f"{built.oci[name]}:1", str(rootfs)])
        on_disk = {}
        for path in rootfs.rglob("*"):
            relative = str(path.relative_to(rootfs))
            if path.is_symlink():
                on_disk[relative] = ("symlink", os.readlink(path))
            elif path.is_dir():
                on_disk[relative] = ("dir", None)
            else:
                data = path.read_bytes()
                on_disk[relative] = (
                    "file",
                    (len(data), "sha256:" + hashlib.sha256(data).hexdigest()),
                )
        ours = {}
        for path, (_, entry) in merged_view(image.layers).items():
            if entry.kind is EntryKind.SYMLINK:
                ours[path] = ("symlink", entry.link_target)
            elif entry.kind is EntryKind.DIR:
                ours[path] = ("dir", None)
            else:
                ours[path] = ("file", (entry.file_bytes, entry.content))
        assert ours == on_disk, name


def test_shadowed_bytes_of_add_then_delete(
    oci_images: dict[str, Image], metrics: PopulationMetrics
) -> None:
    """The file `seq` wrote in one layer and `rm` deleted in the next costs exactly its bytes
    as shadowed bytes (and in the layered tar); doing both in one step costs none."""
    by_name = {m.name: m for m in metrics.images}
    wasteful = oci_images["wasteful"]
    blob = [e for e in wasteful.layers[1].entries if e.path == "opt/blob.txt"]
    assert [e.file_bytes for e in blob] == [BLOB_BYTES]
    assert [e.kind for e in wasteful.layers[2].entries if e.path == "opt/blob.txt"] == [
        EntryKind.WHITEOUT
    ]
    assert by_name["wasteful:1"].shadowed_file_bytes == BLOB_BYTES
    assert by_name["combined:1"].shadowed_file_bytes == 0
    assert by_name["base:1"].shadowed_file_bytes == 0
    assert (
        by_name["wasteful:1"].layered_tar_bytes - by_name["combined:1"].layered_tar_bytes
        >= BLOB_BYTES
    )


def test_flattened_view_matches_the_squashed_image(
    oci_images: dict[str, Image], metrics: PopulationMetrics
) -> None:
    """buildah --squash of the wasteful steps holds exactly the files of our flattened view of
    the layered build (same paths, kinds, sizes, contents); its tar bytes match our
    flattened_tar_bytes to within what the squashing writer does differently per header."""
    squashed = oci_images["squashed"].layers[0]
    view = merged_view(oci_images["wasteful"].layers)
    flat = {p: (e.kind, e.file_bytes, e.content, e.link_target) for p, (_, e) in view.items()}
    squash = {e.path: (e.kind, e.file_bytes, e.content, e.link_target) for e in squashed.entries}
    assert flat == squash
    wasteful = {m.name: m for m in metrics.images}["wasteful:1"]
    ours = wasteful.flattened_tar_bytes
    # record the figures the report quotes: per-entry header bytes may differ by writer
    print(
        f"\nsquashed layer: {squashed.tar_bytes} tar bytes, {squashed.compressed_bytes} "
        f"compressed; our flattened view: {ours} tar bytes, "
        f"{wasteful.flattened_compressed_bytes} compressed (estimated)"
    )
    by_path = {e.path: e.tar_bytes for e in squashed.entries}
    differing = {
        p: (e.tar_bytes, by_path[p]) for p, (_, e) in view.items() if e.tar_bytes != by_path[p]
    }
    assert ours - squashed.tar_bytes == sum(a - b for a, b in differing.values())


def test_combine_steps_matches_the_combined_build(built: Built, population: Population) -> None:
    """`combine_steps` on the add-then-delete image (two RUN layers) advises combining exactly
    those two layers, and its tar, compressed and disk savings equal, within 1%, what building
    the same steps in one RUN (the `combined` image) actually saves; the compressed saving
    is measured (the combined layer written and gzipped from the OCI layouts' blobs), not
    estimated; the combined image gets no combine_steps."""
    paths = [built.oci[name] for name in IMAGES]

    def measure(combined) -> list[int]:
        sizes = measure_combined_paths(paths, population.images, combined)
        return [size.gzip_bytes for size in sizes]

    found = [a for a in advise(population, measure) if a.kind == COMBINE_STEPS]
    by_image = {advice.image: advice for advice in found}
    assert set(by_image) == {"wasteful:1"}
    advice = by_image["wasteful:1"]
    assert (advice.start, advice.stop, advice.estimated) == (1, 3, False)
    estimate = {a.image: a for a in combine_steps(population, assemble_evaluate(population))}
    print(f"\nestimated compressed saving: {estimate['wasteful:1'].saves_compressed_bytes}")
    figures = {m.name: m for m in assemble_evaluate(population).images}
    real = {
        "tar": figures["wasteful:1"].layered_tar_bytes - figures["combined:1"].layered_tar_bytes,
        "compressed": figures["wasteful:1"].layered_compressed_bytes
        - figures["combined:1"].layered_compressed_bytes,
        "disk": figures["wasteful:1"].layered_disk_bytes - figures["combined:1"].layered_disk_bytes,
    }
    claimed = {
        "tar": advice.saves_tar_bytes,
        "compressed": advice.saves_compressed_bytes,
        "disk": advice.saves_disk_bytes,
    }
    print(f"\ncombine_steps claimed {claimed}; the combined build saves {real}")
    for key, value in real.items():
        assert abs(claimed[key] - value) <= 0.01 * value, key
    # measured, only the new layer's gzip differs from the build's (zlib-ng against Go's
    # compress/gzip on a few hundred bytes): 218,452 claimed, 218,416 real when written
    # (the estimate from apportioned shares: 217,002)
    assert abs(claimed["compressed"] - real["compressed"]) <= 0.001 * real["compressed"]


def test_rebase_matches_the_rebuilt_image(built: Built) -> None:
    """`rebase` on real images: base:1 and base:2 (the same busybox root, plus one file), app1
    built FROM base:1. rebase advises moving app1:1 onto base:2 (base:1 then retired), and
    its tar, compressed and disk savings are exactly what the set saves when app1 is really
    rebuilt FROM base:2 by buildah (its own layers byte-identical: --timestamp 0) and base:1
    dropped; not estimated."""
    work, context = built.work / "rebase", built.work / "context"
    work.mkdir()
    rootfs2 = context / "rootfs2.tar"
    _rootfs_tar(rootfs2)
    with tarfile.open(rootfs2, "a") as tar:
        motd = b"base version 2\n" * 100
        info = tarfile.TarInfo("etc/motd")
        info.size, info.mtime, info.mode = len(motd), 0, 0o644
        tar.addfile(info, io.BytesIO(motd))
    files = {
        "base:2": "FROM scratch\nADD rootfs2.tar /\n",
        "app1:rebased": CONTAINERFILES["app1"].replace("localhost/base:1", "localhost/base:2"),
    }
    buildah = ["buildah", "--root", str(built.work / "storage"), "--runroot"]
    buildah += [str(built.work / "runroot"), "--storage-driver", "vfs", "bud"]
    buildah += ["--isolation", "chroot", "--layers", "--timestamp", "0"]
    for tag, text in files.items():
        containerfile = context / f"Containerfile.{tag.replace(':', '-')}"
        containerfile.write_text(text)
        run(
            [*buildah, "-f", str(containerfile), "-t", f"localhost/{tag}", str(context)],
            env=built.env,
        )
    copies = {
        "base:1": "base:1",
        "base:2": "base:2",
        "app1:1": "app1:1",
        "app1:rebased": "rebased:1",
    }
    for source, dest in copies.items():
        repo, tag = dest.split(":")
        built.skopeo("copy", f"{built.storage}localhost/{source}", f"oci:{work / repo}:{tag}")
    before = read_population([work / "base", work / "app1"])
    assert [i.name for i in before.images] == ["base:1", "base:2", "app1:1"]
    found = [a for a in advise(before) if a.kind == REBASE]
    (advice,) = found
    assert (advice.image, advice.target, advice.estimated) == ("app1:1", "base:2", False)
    assert "base:1 is then retired" in advice.detail
    rebased_image = read_images([work / "rebased"])[0]
    app1 = before.image_by_name["app1:1"]
    assert rebased_image.diff_ids[1:] == app1.diff_ids[1:]  # its own layers, byte for byte
    after = population_of([before.image_by_name["base:2"], rebased_image])
    real = [
        b - a
        for b, a in zip(
            set_figures(before, assemble_evaluate(before)),
            set_figures(after, assemble_evaluate(after)),
            strict=True,
        )
    ]
    claimed = [advice.saves_tar_bytes, advice.saves_compressed_bytes, advice.saves_disk_bytes]
    print(f"\nrebase claimed {claimed}; the rebuilt set saves {real}")
    assert claimed == real
    assert real[0] == before.image_by_name["base:1"].layers[0].tar_bytes


def test_flattened_export_against_the_squashed_build(built: Built, population: Population) -> None:
    """The flattened export `analyze` compresses for real holds the files of buildah's
    `--squash` layer; its gzip (zlib-ng, level 6) is within 5% of the squashed blob buildah
    compressed with Go's gzip, where the engine's estimate may be far off."""
    paths = [built.oci[name] for name in IMAGES]
    measured = measure_flattened_paths(paths, population.images)
    squashed = {image.name: image for image in population.images}["squashed:1"].layers[0]
    export = measured["wasteful:1"]
    print(
        f"\nflattened export of wasteful:1: {export.tar_bytes} tar, {export.gzip_bytes} gzip; "
        f"squashed layer: {squashed.tar_bytes} tar, {squashed.compressed_bytes} compressed"
    )
    assert abs(export.gzip_bytes - squashed.compressed_bytes) <= 0.05 * squashed.compressed_bytes


# ---------------------------------------------------------------------------------------------
# pushes to a real registry


@dataclass
class ObservedPush:
    """What the registry's access log shows for one push to repository `repo`."""

    uploaded: dict[str, int] = field(default_factory=dict)  # digest -> bytes received
    mounted: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)  # HEAD 200 in the pushed repository


_ACCESS = re.compile(r'"(HEAD|GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3}) ')


def parse_push(log: str, repo: str) -> ObservedPush:
    observed = ObservedPush()
    for method, url, status in _ACCESS.findall(log):
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        if not parts.path.startswith(f"/v2/{repo}/blobs/"):
            continue
        if method == "HEAD" and status == "200":
            observed.present.add(parts.path.rsplit("/", 1)[1])
        elif method == "POST" and "mount" in query and status == "201":
            observed.mounted.add(query["mount"][0])
        elif method == "PUT" and "digest" in query and status == "201":
            # the upload session state the registry signed: bytes it received before the PUT
            state = query["_state"][0]
            raw = base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))
            observed.uploaded[query["digest"][0]] = json.loads(raw[32:])["Offset"]
    return observed


@dataclass
class Registry:
    url: str
    log_path: Path
    storage: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def blob_bytes(self, digest: str) -> int:
        hex_digest = digest[7:]
        return (
            (
                self.storage
                / "docker/registry/v2/blobs/sha256"
                / hex_digest[:2]
                / hex_digest
                / "data"
            )
            .stat()
            .st_size
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def registry(built: Built) -> Iterator[Registry]:
    port = _free_port()
    storage = built.work / "registry"
    config = built.work / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: layersim-tests\n"
    )
    log_path = built.work / "registry.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    url = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{url}/v2/", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Registry(url=url, log_path=log_path, storage=storage, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def pushes(built: Built, registry: Registry) -> dict[str, tuple[ObservedPush, str]]:
    """Push every image in order, each to its repository; what the registry saw of each push,
    and what skopeo logged."""
    observed = {}
    for reference in PUSHES:
        repo, tag = reference.split(":")
        start = len(registry.log())
        output = built.skopeo(
            "--debug",
            "copy",
            "--dest-tls-verify=false",
            f"oci:{built.oci[repo]}:{tag}",
            f"docker://{registry.url}/{reference}",
        )
        done = f'"PUT /v2/{repo}/manifests/{tag} '
        deadline = time.monotonic() + 10
        while done not in registry.log()[start:]:  # access lines land after the response
            assert time.monotonic() < deadline, registry.log()[start:]
            time.sleep(0.05)
        observed[reference] = (parse_push(registry.log()[start:], repo), output)
    return observed


def test_pushes_agree_with_the_registry(
    registry: Registry,
    pushes: dict[str, tuple[ObservedPush, str]],
    population: Population,
    metrics: PopulationMetrics,
) -> None:
    """Per push, the layers the registry received, mounted from another repository and already
    had in the pushed one are the PushRecord's uploaded, mounted and other skipped layers; the
    bytes it received are its uploaded_bytes (configs and manifests excluded, as PushRecord
    excludes them)."""
    records = {p.image: p for p in metrics.pushes}
    assert list(records) == list(PUSHES)
    for image in population.images:
        by_label: dict[str, Layer] = {layer.label: layer for layer in image.layers}
        layers = {layer.blob_digest for layer in image.layers}
        seen, output = pushes[image.name]
        record = records[image.name]

        def digests(labels: tuple[str, ...], by_label: dict[str, Layer] = by_label) -> set[str]:
            return {by_label[label].blob_digest for label in labels}

        uploaded = {d: n for d, n in seen.uploaded.items() if d in layers}
        assert set(uploaded) == digests(record.uploaded_layers), image.name
        assert seen.mounted & layers == digests(record.mounted_layers), image.name
        assert (seen.mounted | seen.present) & layers == digests(record.skipped_layers)
        assert sum(uploaded.values()) == record.uploaded_bytes
        assert sum(registry.blob_bytes(d) for d in uploaded) == record.uploaded_bytes
        # skopeo's own account (--debug): it reused every blob it did not upload
        reused = set(re.findall(r"Skipping blob (sha256:[0-9a-f]{64}) \(already present\)", output))
        assert reused & layers == digests(record.skipped_layers)
        print(
            f"\n{image.name}: uploaded {len(uploaded)} layers / {sum(uploaded.values())} bytes "
            f"(model {record.uploaded_bytes}), mounted {len(seen.mounted & layers)}, "
            f"already present {len((seen.present - seen.mounted) & layers)}"
        )
    # the shared base is uploaded once, then mounted into every other repository
    base_blob = population.images[0].layers[0].blob_digest
    assert base_blob in pushes["base:1"][0].uploaded
    for name in ("app1:1", "app2:1", "wasteful:1", "combined:1"):
        assert base_blob in pushes[name][0].mounted
    # the second tag of app1 finds every blob already in its repository
    assert records["app1:2"].uploaded_layers == records["app1:2"].mounted_layers == ()
    assert records["squashed:1"].mounted_layers == ()


# ---------------------------------------------------------------------------------------------
# the CLI on the same images


def test_analyze_command_agrees_with_the_registry(
    built: Built, pushes: dict[str, tuple[ObservedPush, str]]
) -> None:
    """`layersim analyze` of the OCI layouts, through the CLI's JSON: per push, the bytes the
    registry received are `uploaded_bytes`, and the blobs it received and mounted are the
    uploaded and mounted layers (the layer names map to blob digests in `analysis`)."""
    from typer.testing import CliRunner

    from layersim.cli.app import app

    paths = [str(built.oci[name]) for name in IMAGES]
    result = CliRunner().invoke(app, ["analyze", *paths, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [p["image"] for p in doc["registry"]["pushes"]] == list(PUSHES)
    for push in doc["registry"]["pushes"]:
        layers = doc["analysis"]["images"][push["image"]]["layers"]
        blob = {layer["name"]: layer["blob_digest"] for layer in layers}
        seen, _ = pushes[push["image"]]
        received = {d: n for d, n in seen.uploaded.items() if d in blob.values()}
        assert push["uploaded_bytes"] == sum(received.values()), push["image"]
        assert {blob[n] for n in push["uploaded_layers"]} == set(received)
        assert {blob[n] for n in push["mounted_layers"]} == seen.mounted & set(blob.values())
    app1 = doc["registry"]["pushes"][1]
    assert app1["image"] == "app1:1" and app1["uploaded_bytes"] > 0
    assert len(app1["mounted_layers"]) == 1  # the busybox base, mounted from base


def test_calibrate_command_on_real_images(built: Built, tmp_path: Path) -> None:
    """`layersim calibrate` of the buildah-built images writes a file `load_config` accepts:
    the apps sit on the busybox base (no runtime), one of them deletes what it added."""
    from typer.testing import CliRunner

    from layersim.cli.app import app
    from layersim.config import load_config

    target = tmp_path / "fit.toml"
    paths = [str(built.oci[name]) for name in IMAGES]
    result = CliRunner().invoke(app, ["calibrate", *paths, "-o", str(target), "--quiet"])
    assert result.exit_code == 0, result.output
    config = load_config(target)
    assert config.runtimes.families == ()
    assert 0 < config.apps.waste_probability < 1
    print("\n" + target.read_text())


# ---------------------------------------------------------------------------------------------
# the same images read back from the registry, by reference


def _analyze_json(*args: str) -> dict:
    from typer.testing import CliRunner

    from layersim.cli.app import app

    result = CliRunner().invoke(app, ["analyze", *args, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _without_sources(doc: dict, prefix: str = "") -> str:
    """The document's figures and images, with the inputs' names taken out."""
    doc = dict(doc)
    doc.pop("source", None)
    doc["analysis"] = {k: v for k, v in doc["analysis"].items() if k not in ("paths", "cache")}
    return json.dumps(doc, sort_keys=True).replace(prefix, "")


def test_images_read_from_the_registry_equal_the_layouts(
    registry: Registry, pushes: dict[str, tuple[ObservedPush, str]], oci_images: dict[str, Image]
) -> None:
    """Every pushed image read back with `docker://HOST/REPO:TAG` has the layers (digests,
    DiffIDs, entries) of its OCI layout, and is named by its reference."""
    references = [f"docker://{registry.url}/{p}" for p in PUSHES]
    from layersim.readers import RegistryOptions

    images = read_images(references, registry=RegistryOptions(tls_verify=False))
    assert [i.name for i in images] == [f"{registry.url}/{p}" for p in PUSHES]
    for image in images:
        repo = image.name.rsplit("/", 1)[1].split(":")[0]
        assert image.layers == oci_images[repo].layers, image.name


def test_analyze_by_reference_gives_the_layouts_figures(
    built: Built, registry: Registry, pushes: dict[str, tuple[ObservedPush, str]]
) -> None:
    """`layersim analyze docker://...` of the pushed images reports, figure for figure, what
    `analyze` of the same images' OCI layouts (by `oci:DIR:TAG` reference) reports."""
    remote = _analyze_json(*(f"docker://{registry.url}/{p}" for p in PUSHES), "--tls-verify=false")
    local = _analyze_json(*(f"oci:{built.oci[p.split(':')[0]]}:{p.split(':')[1]}" for p in PUSHES))
    labels = {str(built.oci[name].resolve().name) for name in IMAGES}
    assert labels == set(IMAGES)  # layout names are the repositories: image names match
    assert _without_sources(remote, f"{registry.url}/") == _without_sources(local)


def test_a_registry_alone_is_crawled(
    registry: Registry, pushes: dict[str, tuple[ObservedPush, str]]
) -> None:
    """`docker://HOST` reads every tag of every repository the catalog lists, sorted by
    repository then tag."""
    doc = _analyze_json(f"docker://{registry.url}", "--tls-verify=false")
    expected = sorted(PUSHES, key=lambda p: tuple(p.split(":")))
    assert list(doc["analysis"]["images"]) == [f"{registry.url}/{p}" for p in expected]


def test_plain_http_registry_needs_tls_verify_false(
    registry: Registry, pushes: dict[str, tuple[ObservedPush, str]]
) -> None:
    """Without --tls-verify=false a plain-HTTP registry is one `error:` line, exit 2."""
    from typer.testing import CliRunner

    from layersim.cli.app import app

    result = CliRunner().invoke(app, ["analyze", f"docker://{registry.url}/base:1", "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: registry ") and "--tls-verify=false" in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_second_analyze_reads_no_blob(
    registry: Registry, pushes: dict[str, tuple[ObservedPush, str]], tmp_path: Path
) -> None:
    """Analysing the pushed images twice with one cache: the first run streams every distinct
    layer blob; the second takes them all from the cache, and the registry's access log shows
    no GET of a layer blob during it; the figures are the same."""
    cache = tmp_path / "cache.sqlite"
    references = [f"docker://{registry.url}/{p}" for p in PUSHES]
    args = (*references, "--tls-verify=false", "--cache", str(cache))
    first = _analyze_json(*args)
    distinct = {
        layer["blob_digest"]
        for image in first["analysis"]["images"].values()
        for layer in image["layers"]
    }
    assert first["analysis"]["cache"]["hits"] == 0
    assert first["analysis"]["cache"]["blob_reads"] == len(distinct)
    start = len(registry.log())
    second = _analyze_json(*args)
    assert second["analysis"]["cache"] == {"hits": len(distinct), "blob_reads": 0, "bytes_read": 0}
    gets = [
        url
        for method, url, _ in _ACCESS.findall(registry.log()[start:])
        if method == "GET" and "/blobs/" in url and url.rsplit("/", 1)[1] in distinct
    ]
    assert gets == []
    assert _without_sources(second) == _without_sources(first)


def test_mount_savings_are_the_blobs_the_registry_mounted(
    built: Built, registry: Registry, pushes: dict[str, tuple[ObservedPush, str]]
) -> None:
    """`analysis.registry.mount_saved_bytes_by_push`: per push, the bytes of the layer blobs
    the registry's access log shows mounted from another repository, as it stores them."""
    doc = _analyze_json(*(str(built.oci[name]) for name in IMAGES))
    saved = doc["analysis"]["registry"]["mount_saved_bytes_by_push"]
    assert list(saved) == list(PUSHES)
    for image, figure in saved.items():
        layers = {layer["blob_digest"] for layer in doc["analysis"]["images"][image]["layers"]}
        mounted = pushes[image][0].mounted & layers
        assert figure == sum(registry.blob_bytes(d) for d in mounted), image
    assert doc["analysis"]["registry"]["mount_saved_bytes"] == sum(saved.values()) > 0


def test_calibrate_reads_a_registry(
    registry: Registry, pushes: dict[str, tuple[ObservedPush, str]], tmp_path: Path
) -> None:
    """`layersim calibrate docker://HOST --tls-verify=false` fits the crawled registry's images
    and writes a file `load_config` accepts."""
    from typer.testing import CliRunner

    from layersim.cli.app import app
    from layersim.config import load_config

    target = tmp_path / "fit.toml"
    args = ["calibrate", f"docker://{registry.url}", "--tls-verify=false", "-o", str(target)]
    result = CliRunner().invoke(app, [*args, "--quiet", "--check-seeds", "0"])
    assert result.exit_code == 0, result.output
    assert load_config(target).runtimes.families == ()
