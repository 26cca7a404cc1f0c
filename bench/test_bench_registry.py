"""`analyze` of images in a registry on a loopback port, against what it replaces: `skopeo
copy` of the same images to a local OCI layout (the copy alone, and the copy plus `analyze` of
the layout). Pairs run back to back, round after round, so that both sides of each ratio see
the same load. Goal (issue 15): reading from the registry is faster than the copy alone, since
nothing is written. Skipped without `docker-registry` and `skopeo` (.ci/install-tools.sh)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import images, workloads
from layersim.accounting.assemble import evaluate
from layersim.readers import RegistryOptions, population_of, read, read_population


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pushed(layout: images.Layout, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The bench layout's images pushed to a fresh `docker-registry` on 127.0.0.1; their
    `HOST:PORT/REPO:TAG` names, in the layout's order."""
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        pytest.skip("docker-registry and skopeo are needed (.ci/install-tools.sh)")
    work = tmp_path_factory.mktemp("registry-bench")
    port = _free_port()
    config = work / "registry.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {work / 'storage'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no registry"
                time.sleep(0.1)
        names = []
        for name in layout.images:
            target = f"127.0.0.1:{port}/{name.split('/', 1)[1]}"
            _skopeo(
                "copy", "--dest-tls-verify=false", f"oci:{layout.path}:{name}", f"docker://{target}"
            )
            names.append(target)
        yield names
    finally:
        process.terminate()
        process.wait(timeout=10)


def _skopeo(*args: str) -> None:
    subprocess.run(
        ["skopeo", "--insecure-policy", *args], check=True, capture_output=True, timeout=300
    )


def _copy_all(names: list[str], into: Path) -> list[Path]:
    """`skopeo copy` of every image to its own local layout (what analysing would need)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir()
    paths = []
    for index, name in enumerate(names):
        path = into / f"image{index}"
        _skopeo("copy", "--src-tls-verify=false", f"docker://{name}", f"oci:{path}:1")
        paths.append(path)
    return paths


def test_registry_against_skopeo_copy(
    benchmark, layout: images.Layout, pushed: list[str], rounds: int, tmp_path: Path
) -> None:
    """Per round: `skopeo copy` of the images to layouts, `analyze` of those layouts, and
    `analyze` straight from the registry (no cache). Recorded: copy / registry and
    (copy + analyze) / registry ratios; asserted: both ways give the same layers and figures."""
    copy_ratios: list[float] = []
    total_ratios: list[float] = []
    options = RegistryOptions(tls_verify=False)
    references = [f"docker://{name}" for name in pushed]
    results: dict[str, object] = {}

    def pair() -> None:
        start = time.perf_counter()
        paths = _copy_all(pushed, tmp_path / "copies")
        copy_s = time.perf_counter() - start
        local = read_population(paths)
        evaluate(local)
        total_s = time.perf_counter() - start
        start = time.perf_counter()
        remote = read(references, registry=options)
        evaluate(population_of(remote.images))
        registry_s = time.perf_counter() - start
        copy_ratios.append(copy_s / registry_s)
        total_ratios.append(total_s / registry_s)
        results["local"], results["remote"] = local, remote

    evaluate(read_population([layout.path]))  # the engine's kernels compiled outside the pairs
    benchmark.extra_info["source"] = workloads.SOURCE_AT_IMPORT
    benchmark.extra_info.update({"images": len(pushed), "blob_bytes": layout.blob_bytes})
    benchmark.pedantic(pair, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["copy_over_registry"] = copy_ratios
    benchmark.extra_info["copy_and_analyze_over_registry"] = total_ratios
    local_images = results["local"].images  # type: ignore[attr-defined]
    remote_images = results["remote"].images  # type: ignore[attr-defined]
    assert [i.layers for i in remote_images] == [i.layers for i in local_images]
    assert results["remote"].counts.blob_reads == len(layout.blobs)  # type: ignore[attr-defined]
    assert len(copy_ratios) == rounds and all(r > 0 for r in copy_ratios)
