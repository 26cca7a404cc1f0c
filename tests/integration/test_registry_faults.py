"""A registry that misbehaves, served over real HTTP on 127.0.0.1: `layersim analyze` of it
fails with one `error:` line and exit code 2, whatever the fault.

The real `docker-registry` cannot be made to misbehave, so these tests serve the distribution
API from an OCI layout written byte by byte (`tests.readers.registry_fake`) through a small
`http.server` on a loopback port, and break it on purpose: a missing tag, a 401 without
credentials, a blob with other bytes, a blob cut short mid-stream, a server that hangs.
"""

from __future__ import annotations

import gzip
import http.server
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from tests.readers.images import APP, BASE, Layout, make_tar
from tests.readers.registry_fake import FakeRegistry

pytestmark = pytest.mark.integration

HANG_SECONDS = 5.0  # a hanging request is held this long at most (the client gives up sooner)


@dataclass
class Served:
    url: str
    fake: FakeRegistry
    fault: dict[str, str]  # {"mode": ...}: how the server misbehaves now
    release: threading.Event  # set to end a hang at once


def _handler(served_fake: FakeRegistry, fault: dict[str, str], release: threading.Event):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            mode = fault.get("mode", "")
            is_blob = "/blobs/sha256:" in self.path and self.command == "GET"
            url = f"http://{self.headers['Host']}{self.path}"
            response = served_fake.handle(httpx.Request(self.command, url))
            body = response.read() if self.command != "HEAD" else b""
            if mode == "hang" and is_blob and body[:2] == b"\x1f\x8b":
                release.wait(HANG_SECONDS)
                return
            if mode == "unauthorized" and "/token" not in self.path:
                challenge = f'Bearer realm="http://{self.headers["Host"]}/token",service="t"'
                self._send(401, b"", {"WWW-Authenticate": challenge})
                return
            if mode == "unauthorized":
                self._send(401, b"", {})
                return
            is_layer = is_blob and body[:2] == b"\x1f\x8b"  # the layers are gzip, configs JSON
            if mode == "wrong" and is_layer:
                body = gzip.compress(b"not the layer", mtime=0)
            if mode == "truncated" and is_layer:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            if self.command == "HEAD":
                headers["Content-Length"] = response.headers.get("Content-Length", "0")
            self._send(response.status_code, body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_HEAD = _answer

    return Handler


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("fault-registry")
    layout = Layout(root / "app")
    layout.add(layout.image([make_tar(BASE), make_tar(APP)]), "1")
    fake = FakeRegistry({"app": layout.root})
    fault: dict[str, str] = {}
    release = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake, fault, release))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"127.0.0.1:{server.server_address[1]}", fake, fault, release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _analyze(served: Served, reference: str, mode: str, tmp_path: Path, cache: Path):
    served.fault["mode"] = mode
    served.release.clear()
    auth = tmp_path / "auth.json"
    auth.write_text('{"auths": {}}')
    try:
        return CliRunner().invoke(
            app,
            [
                "analyze",
                f"docker://{served.url}/{reference}",
                "--tls-verify=false",
                "--timeout",
                "1",
                "--authfile",
                str(auth),
                "--cache",
                str(cache),
                "--quiet",
                "--json",
            ],
        )
    finally:
        served.release.set()


def test_a_well_behaved_fake_is_read(served: Served, tmp_path: Path) -> None:
    """The fake serves a readable image when it does not misbehave (the faults below are the
    only difference)."""
    cache = tmp_path / "cache.sqlite"
    result = _analyze(served, "app:1", "", tmp_path, cache)
    assert result.exit_code == 0, result.output
    assert f"{served.url}/app:1" in result.stdout
    assert _cached_rows(cache) == 2


@pytest.mark.parametrize(
    ("reference", "mode", "message"),
    [
        ("app:9", "", "GET /v2/app/manifests/9: 404 not found"),
        ("app:1", "unauthorized", "no credentials for"),
        ("app:1", "wrong", "blob sha256:"),
        ("app:1", "truncated", "blob sha256:"),
        ("app:1", "hang", "timed out"),
    ],
)
def test_a_misbehaving_registry_is_one_error(
    served: Served, tmp_path: Path, reference: str, mode: str, message: str
) -> None:
    """A missing tag, a 401 without credentials, a wrong blob, a blob cut short and a hung
    response each end `analyze` with one `error:` line naming the problem, exit 2, no output,
    and nothing cached."""
    cache = tmp_path / "cache.sqlite"
    result = _analyze(served, reference, mode, tmp_path, cache)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr, result.stderr
    assert _cached_rows(cache) == 0


def _cached_rows(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        return db.execute("SELECT COUNT(*) FROM layers").fetchone()[0]
