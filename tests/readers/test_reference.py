"""Tests of `readers.reference`: skopeo's transport syntax, parsed exactly."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

from layersim.errors import ImageFormatError
from layersim.readers.reference import ImageReference, Transport, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("images/app", ImageReference(Transport.PATH, "images/app", path=Path("images/app"))),
        ("/x/a:b", ImageReference(Transport.PATH, "/x/a:b", path=Path("/x/a:b"))),
        ("oci:/l/app", ImageReference(Transport.OCI, "oci:/l/app", path=Path("/l/app"))),
        (
            "oci:/l/app:1.2",
            ImageReference(Transport.OCI, "oci:/l/app:1.2", path=Path("/l/app"), ref="1.2"),
        ),
        (
            "oci-archive:a.tar:v1",
            ImageReference(
                Transport.OCI_ARCHIVE, "oci-archive:a.tar:v1", path=Path("a.tar"), ref="v1"
            ),
        ),
        (
            "docker-archive:d.tar",
            ImageReference(Transport.DOCKER_ARCHIVE, "docker-archive:d.tar", path=Path("d.tar")),
        ),
        (
            "docker://127.0.0.1:5000/team/app:1",
            ImageReference(
                Transport.DOCKER,
                "docker://127.0.0.1:5000/team/app:1",
                host="127.0.0.1:5000",
                repository="team/app",
                tag="1",
            ),
        ),
        (
            f"docker://localhost/app@{DIGEST}",
            ImageReference(
                Transport.DOCKER,
                f"docker://localhost/app@{DIGEST}",
                host="localhost",
                repository="app",
                digest=DIGEST,
            ),
        ),
        (
            "docker://ghcr.io/org/tool",
            ImageReference(
                Transport.DOCKER,
                "docker://ghcr.io/org/tool",
                host="ghcr.io",
                repository="org/tool",
                tag="latest",
            ),
        ),
        (
            "docker://alpine:3.20",
            ImageReference(
                Transport.DOCKER,
                "docker://alpine:3.20",
                host="docker.io",
                repository="library/alpine",
                tag="3.20",
            ),
        ),
        (
            "docker://127.0.0.1:5000",
            ImageReference(Transport.DOCKER, "docker://127.0.0.1:5000", host="127.0.0.1:5000"),
        ),
        (
            "docker://myhost:5000/",
            ImageReference(Transport.DOCKER, "docker://myhost:5000/", host="myhost:5000"),
        ),
        (
            "docker://registry.local/",
            ImageReference(Transport.DOCKER, "docker://registry.local/", host="registry.local"),
        ),
    ],
)
def test_references_parse_exactly(text: str, expected: ImageReference) -> None:
    """Each transport's reference parses into exactly its parts: a layout's path ends at the
    first colon, a registry's tag defaults to latest, Docker Hub names gain library/, a host
    alone is a catalog."""
    assert parse_reference(text) == expected


def test_catalog_and_local_paths() -> None:
    """A host alone is a catalog; file references name the path --out must not replace;
    registry references name none."""
    assert parse_reference("docker://127.0.0.1:5000").is_catalog
    assert not parse_reference("docker://127.0.0.1:5000/a:1").is_catalog
    assert parse_reference("oci:/l/app:1").local_path == Path("/l/app")
    assert parse_reference("docker://127.0.0.1:5000/a:1").local_path is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty or malformed"),
        ("oci:", "no path after oci:"),
        ("oci:/l:a:b", "malformed image name"),
        ("docker-archive:", "no path after docker-archive:"),
        ("docker-archive:d.tar:localhost/x:1", "choosing one image of a docker-archive"),
        ("docker:127.0.0.1/x", "a registry reference is docker://"),
        ("docker://", "no registry or image"),
        ("docker://127.0.0.1:5000/App:1", "malformed repository name 'App'"),
        ("docker://127.0.0.1:5000/app:-x", "malformed tag"),
        ("docker://127.0.0.1:5000/app@sha256:12", "is not a sha256 digest"),
        (f"docker://h.io/app:1@{DIGEST}", "not both"),
        ("docker://h.io:99999/app", "port 99999 out of range"),
        ("docker://bad_host.io/app", "malformed registry host"),
        ("containers-storage:localhost/app", "transport 'containers-storage' is not read"),
        ("dir:/tmp/x", "transport 'dir' is not read"),
    ],
)
def test_bad_references_name_the_problem(text: str, message: str) -> None:
    """A malformed reference is one ImageFormatError naming it and what is wrong."""
    with pytest.raises(ImageFormatError, match="image reference") as info:
        parse_reference(text)
    assert message in str(info.value)


_components = st.from_regex(r"[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?", fullmatch=True)


@given(
    host=st.sampled_from(["127.0.0.1:5000", "registry.example.com", "localhost", "[::1]:443"]),
    path=st.lists(_components, min_size=1, max_size=3),
    tag=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
def test_registry_references_round_trip(host: str, path: list[str], tag: str) -> None:
    """Any well-formed `docker://HOST/REPO:TAG` parses back into exactly its host, repository
    and tag, and its digest form into the digest."""
    repository = "/".join(path)
    parsed = parse_reference(f"docker://{host}/{repository}:{tag}")
    assert (parsed.host, parsed.repository, parsed.tag, parsed.digest) == (
        host,
        repository,
        tag,
        None,
    )
    by_digest = parse_reference(f"docker://{host}/{repository}@{DIGEST}")
    assert (by_digest.repository, by_digest.tag, by_digest.digest) == (repository, None, DIGEST)
