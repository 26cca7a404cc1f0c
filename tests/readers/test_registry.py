"""Tests of `readers.registry`: the distribution API client against a fake registry
(`httpx.MockTransport` serving OCI layouts written byte by byte)."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx
import pytest

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers import registry as registry_module
from layersim.readers.registry import (
    MANIFEST_ACCEPT,
    RegistryClient,
    RegistryOptions,
    credentials_for,
)
from tests.readers.images import APP, BASE, INDEX_MT, Layout, make_tar, sha
from tests.readers.registry_fake import FakeRegistry, streamed

HOST = "reg.test"


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "BACKOFF_SECONDS", 0.0)


def _layouts(tmp_path: Path) -> dict[str, Path]:
    """Two repositories: `app` (tags 1 and 2, sharing the base) and `base` (tag 1)."""
    app = Layout(tmp_path / "app")
    app.add(app.image([make_tar(BASE), make_tar(APP)]), "1")
    app.add(app.image([make_tar(BASE)]), "2")
    base = Layout(tmp_path / "base")
    base.add(base.image([make_tar(BASE)]), "1")
    return {"app": app.root, "base": base.root}


def _options(fake: FakeRegistry, **kwargs: object) -> RegistryOptions:
    kwargs.setdefault("auth_file", Path("/nonexistent/auth.json"))
    return RegistryOptions(transport=fake.transport(), **kwargs)  # type: ignore[arg-type]


def test_an_image_read_by_reference_equals_the_layout(tmp_path: Path) -> None:
    """`docker://HOST/app:1` gives the layers `oci:LAYOUT:1` gives, named by the reference;
    manifests are asked for with the OCI and Docker v2 media types."""
    layouts = _layouts(tmp_path)
    fake = FakeRegistry(layouts)
    [remote] = read_images([f"docker://{HOST}/app:1"], registry=_options(fake))
    [local] = read_images([f"oci:{layouts['app']}:1"])
    assert remote.name == f"{HOST}/app:1"
    assert remote.layers == local.layers
    accepts = {r.headers.get("Accept") for r in fake.requests if "/manifests/" in r.url.path}
    assert accepts == {MANIFEST_ACCEPT}
    for media_type in ("oci.image.index", "oci.image.manifest", "docker.distribution.manifest"):
        assert media_type in MANIFEST_ACCEPT


def test_a_catalog_is_crawled_page_by_page(tmp_path: Path) -> None:
    """`docker://HOST` reads every tag of every repository, sorted, following the catalog's and
    tag lists' Link headers one name per page; a blob shared by repositories is read once."""
    fake = FakeRegistry(_layouts(tmp_path), page_size=1)
    images = read_images([f"docker://{HOST}"], registry=_options(fake))
    assert [i.name for i in images] == [f"{HOST}/app:1", f"{HOST}/app:2", f"{HOST}/base:1"]
    assert sum(1 for r in fake.requests if r.url.path == "/v2/_catalog") == 2
    assert sum(1 for r in fake.requests if r.url.path == "/v2/app/tags/list") == 2
    base_blob = images[2].layers[0].blob_digest
    gets = [r for r in fake.requests if r.method == "GET" and r.url.path.endswith(base_blob)]
    assert len(gets) == 1


def test_an_index_gives_the_platform_asked_for(tmp_path: Path) -> None:
    """An image index pushed under a tag: `--platform linux/arm64` reads the arm64 manifest,
    the default reads amd64."""
    layout = Layout(tmp_path / "multi")
    amd = layout.image([make_tar(BASE)], platform=("linux", "amd64"))
    arm = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MT,
        "manifests": [
            dict(amd, platform={"os": "linux", "architecture": "amd64"}),
            dict(arm, platform={"os": "linux", "architecture": "arm64"}),
        ],
    }
    layout.add(layout.json_blob(index, INDEX_MT), "1")
    fake = FakeRegistry({"multi": layout.root})
    reference = f"docker://{HOST}/multi:1"
    [default] = read_images([reference], registry=_options(fake))
    [arm64] = read_images([reference], "linux/arm64", registry=_options(fake))
    assert default.layers[0].diff_id == sha(make_tar(BASE))
    assert arm64.layers[0].diff_id == sha(make_tar(APP))


def _auth_file(tmp_path: Path, host: str, user: str, password: str) -> Path:
    path = tmp_path / "auth.json"
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return path


def _bearer(fake: FakeRegistry, user: str, password: str) -> None:
    """Make `fake` demand a bearer token that its realm grants for user:password."""
    token = "tok-123"

    def fault(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "auth.test":
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return httpx.Response(401)
            assert request.url.params["service"] == "reg"
            return httpx.Response(200, json={"token": token})
        if request.headers.get("Authorization") != f"Bearer {token}":
            challenge = 'Bearer realm="https://auth.test/token",service="reg",scope="x"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return None

    fake.faults.append(fault)


def test_bearer_tokens_come_from_the_auth_file(tmp_path: Path) -> None:
    """A 401 challenge is answered at its realm with the auth file's credentials for the host;
    the token then opens the repository."""
    fake = FakeRegistry(_layouts(tmp_path))
    _bearer(fake, "alice", "s3cret")
    auth = _auth_file(tmp_path, HOST, "alice", "s3cret")
    [image] = read_images([f"docker://{HOST}/base:1"], registry=_options(fake, auth_file=auth))
    assert image.name == f"{HOST}/base:1"


def test_registry_auth_file_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --authfile, REGISTRY_AUTH_FILE is where credentials are read, as skopeo does."""
    fake = FakeRegistry(_layouts(tmp_path))
    _bearer(fake, "bob", "pw")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(_auth_file(tmp_path, HOST, "bob", "pw")))
    options = RegistryOptions(transport=fake.transport())
    assert read_images([f"docker://{HOST}/base:1"], registry=options)[0].layers


def test_a_401_without_credentials_is_one_error(tmp_path: Path) -> None:
    """No credentials for the host: the token endpoint refuses, and the error says where
    credentials were looked for."""
    fake = FakeRegistry(_layouts(tmp_path))
    _bearer(fake, "alice", "s3cret")
    with pytest.raises(ImageFormatError, match=r"401|refused") as info:
        read_images([f"docker://{HOST}/base:1"], registry=_options(fake))
    assert "no credentials for reg.test in /nonexistent/auth.json" in str(info.value)


def test_credentials_are_read_as_skopeo_writes_them(tmp_path: Path) -> None:
    """`auths[HOST].auth` is base64 user:password (the password may hold colons); Docker Hub
    is also found under its legacy key; a host without an entry has no credentials."""
    path = tmp_path / "config.json"
    hub = base64.b64encode(b"u:p").decode()
    own = base64.b64encode(b"me:a:b").decode()
    path.write_text(
        json.dumps(
            {"auths": {"https://index.docker.io/v1/": {"auth": hub}, "h:5000": {"auth": own}}}
        )
    )
    assert credentials_for("docker.io", path) == ("u", "p")
    assert credentials_for("h:5000", path) == ("me", "a:b")
    assert credentials_for("other", path) is None
    assert credentials_for("h", tmp_path / "missing.json") is None
    path.write_text("{not json")
    with pytest.raises(ImageFormatError, match="unreadable credentials file"):
        credentials_for("h", path)


def _flaky(status: int, times: int, counter: list[int]):
    def fault(request: httpx.Request) -> httpx.Response | None:
        if "/blobs/" in request.url.path and request.method == "GET" and counter[0] < times:
            counter[0] += 1
            return httpx.Response(status, headers={"Retry-After": "0"})
        return None

    return fault


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_5xx_are_retried(tmp_path: Path, status: int) -> None:
    """A blob GET answered 429 or 503 three times is retried and read on the fourth attempt;
    past the retries, one error names the status."""
    fake = FakeRegistry(_layouts(tmp_path))
    counter = [0]
    fake.faults.append(_flaky(status, 3, counter))
    assert read_images([f"docker://{HOST}/base:1"], registry=_options(fake))[0].layers
    assert counter[0] == 3
    fake = FakeRegistry(_layouts(tmp_path))
    fake.faults.append(_flaky(status, 100, [0]))
    with pytest.raises(ImageFormatError, match=f"registry reg.test: GET /v2/base/blobs/.*{status}"):
        read_images([f"docker://{HOST}/base:1"], registry=_options(fake, retries=2))


def _serving(path_part: str, content: bytes):
    def fault(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET" and path_part in request.url.path:
            return streamed(content)
        return None

    return fault


def test_bad_registries_are_one_error(tmp_path: Path) -> None:
    """A missing tag (404), a layer blob with other bytes, and a truncated layer blob each fail
    the read with an error that names the registry or the blob."""
    layouts = _layouts(tmp_path)
    fake = FakeRegistry(layouts)
    with pytest.raises(ImageFormatError, match=r"reg.test: GET /v2/base/manifests/9: 404"):
        read_images([f"docker://{HOST}/base:9"], registry=_options(fake))
    [image] = read_images([f"oci:{layouts['base']}:1"])
    blob = image.layers[0].blob_digest
    stored = (layouts["base"] / "blobs/sha256" / blob[7:]).read_bytes()
    for content, message in [
        (stored[:-1] + bytes([stored[-1] ^ 1]), "corrupt gzip stream"),
        (gzip.compress(b"other", mtime=0), "digest|bytes"),
        (stored[: len(stored) // 2], "truncated|bytes|ended"),
    ]:
        fake = FakeRegistry(layouts)
        fake.faults.append(_serving(f"/blobs/{blob}", content))
        with pytest.raises(ImageFormatError, match=message) as info:
            read_images([f"docker://{HOST}/base:1"], registry=_options(fake))
        assert blob in str(info.value)


def test_plain_http_only_without_tls_verification(tmp_path: Path) -> None:
    """A registry that speaks only plain HTTP is refused with a hint by default, and read over
    http:// with tls_verify=False."""
    fake = FakeRegistry(_layouts(tmp_path))

    def no_tls(request: httpx.Request) -> httpx.Response | None:
        if request.url.scheme == "https":
            raise httpx.ConnectError("TLS handshake failed", request=request)
        return None

    fake.faults.append(no_tls)
    with pytest.raises(ImageFormatError, match=r"cannot connect.*--tls-verify=false"):
        read_images([f"docker://{HOST}/base:1"], registry=_options(fake))
    images = read_images([f"docker://{HOST}/base:1"], registry=_options(fake, tls_verify=False))
    assert images[0].name == f"{HOST}/base:1"
    assert {r.url.scheme for r in fake.requests if "/blobs/" in r.url.path} == {"http"}


def test_client_lists_sorted_repositories_and_tags(tmp_path: Path) -> None:
    """The catalog and tag lists come back sorted and complete whatever the page size."""
    for page_size in (1, 2, 1000):
        client = RegistryClient(HOST, _options(FakeRegistry(_layouts(tmp_path), page_size)))
        assert client.repositories() == ["app", "base"]
        assert client.tags("app") == ["1", "2"]
        client.close()
