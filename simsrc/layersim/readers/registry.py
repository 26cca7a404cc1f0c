"""Reading images from a live registry over the OCI distribution API (`docker://` references).

A `RegistryClient` talks to one registry: manifests with the Accept headers of OCI and Docker
v2 (images and indexes), blobs streamed, the catalog and tag lists followed through their
`Link` pagination, bearer-token auth answered from the challenge (`WWW-Authenticate`) with the
credentials skopeo and podman read (`REGISTRY_AUTH_FILE`, else `~/.docker/config.json`: the
base64 `auth` of `auths[HOST]`), retries with exponential backoff on 429 and 5xx, and bounded
timeouts on every request. `--tls-verify=false` lets a registry answer over plain HTTP (tried
after HTTPS without certificate checks, as skopeo does).

A `RepositorySource` presents one repository as what `oci` plans from: an OCI layout whose
`index.json` lists the tags asked for, each annotated with its full reference. Its
`blobs/sha256/<hex>` are fetched from `/v2/REPO/manifests/` for the digests it knows as
manifests (tags, children of an index) and from `/v2/REPO/blobs/` otherwise, so that the
layout planner reads a registry unchanged: platforms chosen, configs checked, DiffIDs listed.
Layer blobs are streamed as `layer_blob` reads them, never held whole: `layer_blob` verifies
digest and size as the bytes arrive, so a wrong or truncated blob fails the read, and nothing
read from it is kept.

Every failure (unreachable, refused, missing, unauthorized, timed out, malformed) is an
`ImageFormatError` naming the registry and what was asked.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import httpx

from layersim.errors import ImageFormatError
from layersim.model.digest import sha256_digest
from layersim.readers.oci import INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, REF_NAME
from layersim.readers.source import MAX_JSON_BYTES

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
# Retried statuses (rate limits, overloaded or restarting registries), and how often.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRIES = 4
BACKOFF_SECONDS = 0.5  # doubled per retry; a Retry-After header is honoured up to the cap
MAX_BACKOFF_SECONDS = 10.0
DEFAULT_TIMEOUT_SECONDS = 30.0
# Connections kept to one registry: the blob readers' threads (`blobs.MAX_WORKERS`) at most.
MAX_CONNECTIONS = 8
# Catalog and tag-list pages followed at most (each page holds up to `PAGE_SIZE` names).
PAGE_SIZE = 1000
MAX_PAGES = 10_000
STREAM_CHUNK_BYTES = 1 << 20
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    """How registries are reached: TLS, timeouts, retries, where credentials are."""

    tls_verify: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retries: int = DEFAULT_RETRIES
    auth_file: Path | None = None  # default: REGISTRY_AUTH_FILE, else ~/.docker/config.json
    # the HTTP transport (default: httpx's own); tests pass an `httpx.MockTransport`
    transport: httpx.BaseTransport | None = field(default=None, compare=False)


def auth_file_path(options: RegistryOptions) -> Path:
    """The credentials file skopeo and podman would read."""
    if options.auth_file is not None:
        return options.auth_file
    if os.environ.get("REGISTRY_AUTH_FILE"):
        return Path(os.environ["REGISTRY_AUTH_FILE"])
    return Path.home() / ".docker" / "config.json"


def credentials_for(host: str, path: Path) -> tuple[str, str] | None:
    """(user, password) for `host` from an auth file's `auths` (base64 `user:password`), if any.
    Docker Hub's key is also looked up under its legacy names."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ImageFormatError(f"{path}: unreadable credentials file ({exc})") from None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    keys = [host, f"https://{host}", f"http://{host}"]
    if host in ("docker.io", DOCKER_HUB_ENDPOINT):
        keys += ["docker.io", "https://index.docker.io/v1/", "index.docker.io"]
    for key in keys:
        entry = auths.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except ValueError:
                raise ImageFormatError(f"{path}: auths[{key!r}].auth is not base64") from None
            if not sep:
                raise ImageFormatError(f"{path}: auths[{key!r}].auth is not user:password")
            return user, password
    return None


class RegistryClient:
    """One registry, reached by HTTPS (or plain HTTP with `tls_verify=False`); thread-safe."""

    def __init__(self, host: str, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        self.host = host
        self._endpoint = DOCKER_HUB_ENDPOINT if host == "docker.io" else host
        self._client = httpx.Client(
            verify=self.options.tls_verify,
            timeout=httpx.Timeout(self.options.timeout_seconds),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            follow_redirects=True,
            transport=self.options.transport,
        )
        self._base: str | None = None
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}  # scope -> bearer token
        self._basic: tuple[str, str] | None = None
        self._credentials: tuple[str, str] | bool | None = False  # False: not looked up yet

    def close(self) -> None:
        self._client.close()

    # ----------------------------------------------------------------------- connection

    def _error(self, what: str, message: str) -> ImageFormatError:
        return ImageFormatError(f"registry {self.host}: {what}: {message}")

    def base_url(self) -> str:
        """`https://HOST`, or `http://HOST` when TLS is off and the registry speaks plain HTTP."""
        with self._lock:
            if self._base is None:
                self._base = self._probe()
            return self._base

    def _probe(self) -> str:
        schemes = ["https"] if self.options.tls_verify else ["https", "http"]
        last = ""
        for scheme in schemes:
            try:
                self._client.get(f"{scheme}://{self._endpoint}/v2/")
            except httpx.TimeoutException:
                raise self._error("/v2/", "timed out") from None
            except httpx.HTTPError as exc:
                last = str(exc) or type(exc).__name__
                continue
            return f"{scheme}://{self._endpoint}"
        hint = "" if not self.options.tls_verify else " (plain HTTP? --tls-verify=false)"
        raise self._error("/v2/", f"cannot connect: {last}{hint}")

    def _auth_headers(self, scope: str) -> dict[str, str]:
        if scope in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[scope]}"}
        if self._basic is not None:
            user, password = self._basic
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"Authorization": f"Basic {encoded}"}
        return {}

    def credentials(self) -> tuple[str, str] | None:
        if self._credentials is False:
            self._credentials = credentials_for(self.host, auth_file_path(self.options))
        return self._credentials  # type: ignore[return-value]

    def _authenticate(self, challenge: str, scope: str, what: str) -> None:
        """Answer a 401's challenge: a bearer token from its realm, or basic credentials."""
        scheme, _, params = challenge.partition(" ")
        fields = dict(_CHALLENGE_RE.findall(params))
        creds = self.credentials()
        where = f" (no credentials for {self.host} in {auth_file_path(self.options)})"
        if scheme.lower() == "basic":
            if creds is None:
                raise self._error(what, "401 unauthorized" + where)
            self._basic = creds
            return
        if scheme.lower() != "bearer" or "realm" not in fields:
            raise self._error(what, f"401 unauthorized with an unusable challenge {challenge!r}")
        query = {"service": fields.get("service", "")}
        query["scope"] = fields.get("scope") or scope
        try:
            response = self._client.get(
                fields["realm"], params=query, auth=httpx.BasicAuth(*creds) if creds else None
            )
        except httpx.HTTPError as exc:
            raise self._error(what, f"token endpoint {fields['realm']}: {exc}") from None
        if response.status_code != 200:
            reason = f"token endpoint refused ({response.status_code})"
            raise self._error(what, reason + (where if creds is None else " the credentials"))
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise self._error(what, f"token endpoint {fields['realm']} returned no token")
        self._tokens[scope] = token

    def request(
        self, method: str, path: str, scope: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """A request whose response is open for streaming (the caller closes it), status 2xx;
        auth answered, 429/5xx and dropped connections retried with backoff."""
        url = path if path.startswith("http") else self.base_url() + path
        what = f"{method} {path}"
        attempt, authenticated = 0, False
        while True:
            request = self._client.build_request(
                method, url, headers={**(headers or {}), **self._auth_headers(scope)}
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise self._error(what, "timed out") from None
            except httpx.TransportError as exc:
                if attempt >= self.options.retries:
                    raise self._error(what, f"connection failed: {exc}") from None
                attempt += 1
                time.sleep(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
                continue
            status = response.status_code
            if 200 <= status < 300:
                return response
            response.close()
            if status == 401 and not authenticated:
                self._authenticate(response.headers.get("WWW-Authenticate", ""), scope, what)
                authenticated = True
                continue
            if status in RETRY_STATUSES and attempt < self.options.retries:
                attempt += 1
                time.sleep(_backoff(response, attempt))
                continue
            raise self._error(what, _status_message(status))

    def get_document(
        self, path: str, scope: str, headers: dict[str, str] | None = None
    ) -> tuple[bytes, httpx.Headers]:
        """A small document (JSON) read whole, refused past `MAX_JSON_BYTES`, and the headers
        it came with."""
        response = self.request("GET", path, scope, headers)
        try:
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_JSON_BYTES:
                    raise self._error(f"GET {path}", f"more than {MAX_JSON_BYTES} bytes")
            return bytes(data), response.headers
        except httpx.TimeoutException:
            raise self._error(f"GET {path}", "timed out") from None
        except httpx.HTTPError as exc:
            raise self._error(f"GET {path}", f"read failed: {exc}") from None
        finally:
            response.close()

    # ----------------------------------------------------------------------- the API

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest (or index) bytes `repository:reference` names, and its media type."""
        data, headers = self.get_document(
            f"/v2/{repository}/manifests/{reference}",
            _pull_scope(repository),
            {"Accept": MANIFEST_ACCEPT},
        )
        media_type = headers.get("Content-Type", "").split(";")[0].strip()
        return data, media_type

    def blob_bytes(self, repository: str, digest: str) -> int:
        """The stored bytes of a blob (HEAD), or an error if the repository lacks it."""
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", _pull_scope(repository))
        response.close()
        length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise self._error(f"HEAD /v2/{repository}/blobs/{digest}", "no Content-Length")
        return int(length)

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        """A blob as a stream of its stored bytes (verified by whoever reads it)."""
        path = f"/v2/{repository}/blobs/{digest}"
        response = self.request("GET", path, _pull_scope(repository))
        return _ResponseReader(response, f"registry {self.host}: GET {path}")  # type: ignore[return-value]

    def _paged(self, path: str, key: str, scope: str) -> Iterator[str]:
        """The names a paginated list (`?n=`, `Link: <...>; rel="next"`) holds, page by page."""
        url: str | None = f"{path}?n={PAGE_SIZE}"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            data, headers = self.get_document(url, scope)
            try:
                names = json.loads(data).get(key) or []
            except (ValueError, AttributeError):
                raise self._error(f"GET {url}", "malformed JSON") from None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise self._error(f"GET {url}", f"malformed {key!r} list")
            yield from names
            match = _NEXT_LINK_RE.search(headers.get("Link", ""))
            url = urljoin(url, match.group(1)) if match else None
        raise self._error(path, f"more than {MAX_PAGES} pages")

    def repositories(self) -> list[str]:
        """Every repository the registry's catalog lists, sorted."""
        return sorted(set(self._paged("/v2/_catalog", "repositories", "registry:catalog:*")))

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository`, sorted."""
        return sorted(
            set(self._paged(f"/v2/{repository}/tags/list", "tags", _pull_scope(repository)))
        )


def _pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def _backoff(response: httpx.Response, attempt: int) -> float:
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():
        return min(float(retry_after), MAX_BACKOFF_SECONDS)
    return min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _status_message(status: int) -> str:
    return {
        401: "401 unauthorized (credentials refused)",
        403: "403 forbidden",
        404: "404 not found",
        429: "429 too many requests (retries exhausted)",
    }.get(status, f"HTTP {status}")


class _ResponseReader:
    """A streamed response as a file: `read(n)` returns at most `n` bytes, b"" at the end."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        self._response = response
        self._chunks = response.iter_raw(STREAM_CHUNK_BYTES)
        self._buffer = b""
        self._where = where

    def read(self, n: int = -1) -> bytes:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return b""
            except httpx.TimeoutException:
                raise ImageFormatError(f"{self._where}: timed out") from None
            except httpx.HTTPError as exc:
                raise ImageFormatError(f"{self._where}: read failed: {exc}") from None
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> _ResponseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RepositorySource:
    """One repository of a registry, as the OCI layout `oci.plan_layout` reads (module
    docstring): `index.json` lists `references` (tags or digests) by their full names."""

    def __init__(self, client: RegistryClient, repository: str, references: list[str]) -> None:
        self._client = client
        self._repository = repository
        self.location = f"{client.host}/{repository}"
        self._files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
        self._manifests: set[str] = set()  # digests to fetch from /manifests/
        self._lock = threading.Lock()
        entries = []
        for reference in references:
            data, media_type = client.manifest(repository, reference)
            digest = sha256_digest(data)
            if reference.startswith("sha256:") and digest != reference:
                raise ImageFormatError(
                    f"{self.location}@{reference}: the registry served a manifest with digest "
                    f"{digest}"
                )
            self._remember(digest, data)
            sep = "@" if reference.startswith("sha256:") else ":"
            entries.append(
                {
                    "mediaType": media_type if media_type else _declared_type(data),
                    "digest": digest,
                    "size": len(data),
                    "annotations": {REF_NAME: f"{self.location}{sep}{reference}"},
                }
            )
        index = {"schemaVersion": 2, "manifests": entries}
        self._files["index.json"] = json.dumps(index).encode()

    def _remember(self, digest: str, data: bytes) -> None:
        """Keep a manifest's bytes; an index's children are manifests too."""
        self._files[_member(digest)] = data
        try:
            doc = json.loads(data)
        except ValueError:
            return
        if isinstance(doc, dict) and isinstance(doc.get("manifests"), list):
            for child in doc["manifests"]:
                if isinstance(child, dict) and isinstance(child.get("digest"), str):
                    self._manifests.add(child["digest"])

    def _digest_of(self, name: str) -> str | None:
        if name.startswith("blobs/sha256/") and len(name) == len("blobs/sha256/") + 64:
            return "sha256:" + name[len("blobs/sha256/") :]
        return None

    def _fetched(self, name: str) -> bytes | None:
        """A manifest's bytes (fetched once), or None for a blob to stream."""
        with self._lock:
            if name in self._files:
                return self._files[name]
        digest = self._digest_of(name)
        if digest is None or digest not in self._manifests:
            return None
        data, _ = self._client.manifest(self._repository, digest)
        with self._lock:
            self._remember(digest, data)
        return data

    def exists(self, name: str) -> bool:
        if self._fetched(name) is not None:
            return True
        return self._digest_of(name) is not None

    def size_of(self, name: str) -> int:
        data = self._fetched(name)
        if data is not None:
            return len(data)
        return self._client.blob_bytes(self._repository, self._blob_digest(name))

    def open(self, name: str) -> BinaryIO:
        data = self._fetched(name)
        if data is not None:
            return io.BytesIO(data)
        return self._client.open_blob(self._repository, self._blob_digest(name))

    def _blob_digest(self, name: str) -> str:
        digest = self._digest_of(name)
        if digest is None:
            raise ImageFormatError(f"{self.location}: no file {name!r} in a registry")
        return digest

    def canonical(self, name: str) -> str:
        return f"{self.location}\0{name}"

    def close(self) -> None:
        pass


def _member(digest: str) -> str:
    return "blobs/sha256/" + digest[len("sha256:") :]


def _declared_type(data: bytes) -> str:
    try:
        doc = json.loads(data)
    except ValueError:
        return OCI_MANIFEST
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if isinstance(declared, str) and declared in INDEX_TYPES | MANIFEST_TYPES:
        return declared
    if isinstance(doc, dict) and "manifests" in doc:
        return OCI_INDEX
    return OCI_MANIFEST
