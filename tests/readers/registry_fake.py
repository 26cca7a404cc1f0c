"""A registry served from OCI layouts through `httpx.MockTransport`, for the registry tests.

`FakeRegistry(layouts)` answers the distribution API paths `readers.registry` uses from a
{repository: layout directory} mapping (tags are the layouts' ref names); `faults` lets a test
make it misbehave on given paths. Every request is recorded. Not a test module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

Fault = Callable[[httpx.Request], httpx.Response | None]


class FakeRegistry:
    def __init__(self, layouts: dict[str, Path], page_size: int = 1000) -> None:
        self.layouts = layouts
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _blob(self, repo: str, digest: str) -> bytes | None:
        path = self.layouts[repo] / "blobs" / "sha256" / digest.removeprefix("sha256:")
        return path.read_bytes() if path.is_file() else None

    def _paged(self, request: httpx.Request, key: str, names: list[str]) -> httpx.Response:
        last = request.url.params.get("last")
        names = sorted(names)
        start = names.index(last) + 1 if last in names else 0
        page = names[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(names):
            headers["Link"] = f'<{request.url.path}?n={self.page_size}&last={page[-1]}>; rel="next"'
        return httpx.Response(200, json={key: page}, headers=headers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for fault in self.faults:
            response = fault(request)
            if response is not None:
                return response
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200, json={})
        if path == "/v2/_catalog":
            return self._paged(request, "repositories", list(self.layouts))
        repo, _, rest = path.removeprefix("/v2/").rpartition("/")
        kind = repo.rsplit("/", 1)[-1]
        repo = repo.rsplit("/", 1)[0]
        if repo not in self.layouts:
            return httpx.Response(404)
        index = json.loads((self.layouts[repo] / "index.json").read_text())["manifests"]
        if (kind, rest) == ("tags", "list"):
            tags = [e["annotations"]["org.opencontainers.image.ref.name"] for e in index]
            return self._paged(request, "tags", tags)
        if kind == "manifests":
            by_tag = {e["annotations"]["org.opencontainers.image.ref.name"]: e for e in index}
            digest = by_tag[rest]["digest"] if rest in by_tag else rest
            data = self._blob(repo, digest) if digest.startswith("sha256:") else None
            if data is None:
                return httpx.Response(404)
            media_type = json.loads(data).get("mediaType", "")
            return httpx.Response(200, content=data, headers={"Content-Type": media_type})
        if kind == "blobs":
            data = self._blob(repo, rest)
            if data is None:
                return httpx.Response(404)
            if request.method == "HEAD":
                return httpx.Response(200, headers={"Content-Length": str(len(data))})
            return streamed(data)
        return httpx.Response(404)


def streamed(data: bytes, chunk_bytes: int = 4096) -> httpx.Response:
    """A 200 response whose body streams in pieces, as a network's does (a body given whole
    would reach the client already read)."""
    pieces = [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)]
    return httpx.Response(200, content=iter(pieces), headers={"Content-Length": str(len(data))})
