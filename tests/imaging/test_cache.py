"""The weights cache against a real HTTP server on loopback: success, pins,
checksum mismatch, interrupted download + resume, a server that ignores Range,
stale partial files, 404, connection refused; and `import_file`."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from radpilot.errors import (
    ChecksumError,
    DownloadError,
    InputError,
    ModelNotAvailableError,
)
from radpilot.imaging import cache, registry
from radpilot.imaging.model_card import ModelCard

PAYLOAD = np.random.default_rng(7).bytes(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    ranges: list[str | None]  # Range header of each request, shared with the test
    cut_once: list[bool]

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.ranges.append(rng)
        if self.path == "/missing.pt":
            self.send_error(404, "Not Found")
            return
        start = 0
        if rng and self.path != "/norange.pt":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        if self.path != "/nolength.pt":  # HTTP/1.0 without a length: body ends at close
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut.pt" and self.cut_once and self.cut_once.pop():
            # Promise the whole body, send a third, drop the connection.
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"ranges": [], "cut_once": [True]})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _card(sha256: str | None = None) -> ModelCard:
    base = registry.card("densenet121-res224-all")
    weights = base.weights.model_copy(update={"file": "tiny.pt", "sha256": sha256})
    return base.model_copy(update={"weights": weights})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pull_installs_and_pins_first_digest(server: tuple[str, type], tmp_path: Path) -> None:
    url, _ = server
    seen: list[tuple[int, int | None]] = []
    path = cache.pull(
        _card(), url=f"{url}/w.pt", cache_dir=tmp_path, progress=lambda d, t: seen.append((d, t))
    )
    assert path == tmp_path / "densenet121-res224-all" / "tiny.pt"
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    pins = json.loads((tmp_path / cache.PIN_FILE).read_text())
    assert pins["densenet121-res224-all"]["sha256"] == SHA
    assert cache.require(_card(), tmp_path) == path


def test_pull_without_content_length(server: tuple[str, type], tmp_path: Path) -> None:
    url, _ = server
    seen: list[tuple[int, int | None]] = []
    path = cache.pull(
        _card(SHA),
        url=f"{url}/nolength.pt",
        cache_dir=tmp_path,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), None)


def test_local_pin_rejects_a_different_file_later(server: tuple[str, type], tmp_path: Path) -> None:
    url, _ = server
    cache.pull(_card(), url=f"{url}/w.pt", cache_dir=tmp_path)
    other = tmp_path / "other.pt"
    other.write_bytes(PAYLOAD[::-1])
    with pytest.raises(ChecksumError, match="local pin"):
        cache.import_file(_card(), other, cache_dir=tmp_path)
    assert not list((tmp_path / "densenet121-res224-all").glob("*.import"))


@pytest.mark.parametrize(("pin", "ok"), [(SHA, True), ("0" * 64, False)])
def test_card_pin_is_checked(server: tuple[str, type], tmp_path: Path, pin: str, ok: bool) -> None:
    url, _ = server
    if ok:
        assert cache.pull(_card(pin), url=f"{url}/w.pt", cache_dir=tmp_path).is_file()
        assert not (tmp_path / cache.PIN_FILE).exists()  # the card's pin is enough
        return
    with pytest.raises(ChecksumError, match="does not match the model card") as info:
        cache.pull(_card(pin), url=f"{url}/w.pt", cache_dir=tmp_path)
    assert "deleted" in str(info.value) and "\n" not in str(info.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_interrupted_download_resumes_with_range(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = server
    with pytest.raises(DownloadError, match=r"interrupted .* again to resume"):
        cache.pull(_card(SHA), url=f"{url}/cut.pt", cache_dir=tmp_path)
    part = tmp_path / "densenet121-res224-all" / "tiny.pt.part"
    have = part.stat().st_size
    assert 0 < have < len(PAYLOAD)
    path = cache.pull(_card(SHA), url=f"{url}/cut.pt", cache_dir=tmp_path)
    assert path.read_bytes() == PAYLOAD and not part.exists()
    assert handler.ranges == [None, f"bytes={have}-"]


def test_server_ignoring_range_restarts_cleanly(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = server
    part = tmp_path / "densenet121-res224-all" / "tiny.pt.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)  # stale bytes a naive client would keep
    path = cache.pull(_card(SHA), url=f"{url}/norange.pt", cache_dir=tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert handler.ranges == ["bytes=1000-"]


def test_partial_file_longer_than_remote_starts_over(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = server
    part = tmp_path / "densenet121-res224-all" / "tiny.pt.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"y" * (len(PAYLOAD) + 5))
    assert cache.pull(_card(SHA), url=f"{url}/w.pt", cache_dir=tmp_path).read_bytes() == PAYLOAD
    assert handler.ranges == [f"bytes={len(PAYLOAD) + 5}-", None]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/missing.pt", "HTTP 404"),
        ("refused", "cannot reach 127.0.0.1:.* looks offline.*radpilot models import"),
        ("ftp", "must be http"),
    ],
)
def test_download_failures_are_one_line(
    server: tuple[str, type], tmp_path: Path, target: str, message: str
) -> None:
    url, _ = server
    full = {
        "refused": f"http://127.0.0.1:{_free_port()}/w.pt",
        "ftp": "ftp://127.0.0.1/w.pt",
    }.get(target, url + target)
    with pytest.raises((DownloadError, InputError), match=message) as info:
        cache.pull(_card(), url=full, cache_dir=tmp_path, timeout=5)
    assert "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())  # a failed pull leaves nothing behind


def test_published_url_offline_gives_clear_error(tmp_path: Path) -> None:
    # The card's real URL with the host swapped for a closed loopback port: what a
    # hospital machine without internet sees.
    card = registry.card("resnet50-res512-all")
    offline = card.weights.url.replace("https://github.com", f"http://127.0.0.1:{_free_port()}")  # type: ignore[union-attr]
    with pytest.raises(DownloadError, match="looks offline") as info:
        cache.pull(card, url=offline, cache_dir=tmp_path, timeout=5)
    assert "radpilot models import resnet50-res512-all FILE" in str(info.value)


def test_import_file(tmp_path: Path) -> None:
    src = tmp_path / "copied-in.pt"
    src.write_bytes(PAYLOAD)
    cache_dir = tmp_path / "cache"
    path = cache.import_file(_card(SHA), src, cache_dir=cache_dir)
    assert path.read_bytes() == PAYLOAD and src.exists()
    with pytest.raises(InputError, match="no such file"):
        cache.import_file(_card(SHA), tmp_path / "absent.pt", cache_dir=cache_dir)
    with pytest.raises(InputError, match="ships inside radpilot"):
        cache.import_file(registry.card(registry.DEFAULT_MODEL), src, cache_dir=cache_dir)


def test_failed_validation_installs_nothing(tmp_path: Path) -> None:
    src = tmp_path / "wrong.pt"
    src.write_bytes(PAYLOAD)

    def reject(path: Path) -> None:
        raise ModelNotAvailableError(f"{path}: not a weights file")

    with pytest.raises(ModelNotAvailableError):
        cache.import_file(_card(), src, cache_dir=tmp_path / "c", validate=reject)
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file()]  # no file, no pin


def test_require_missing_and_tampered(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError) as info:
        cache.require(_card(), tmp_path)
    assert "models pull densenet121-res224-all" in str(info.value)
    assert "models import densenet121-res224-all FILE" in str(info.value)
    src = tmp_path / "w.pt"
    src.write_bytes(PAYLOAD)
    path = cache.import_file(_card(), src, cache_dir=tmp_path)
    path.write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(ChecksumError, match="differs from the pin"):
        cache.require(_card(), tmp_path)


def test_models_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cache.ENV_HOME, str(tmp_path))
    assert cache.models_dir() == tmp_path / "models"
    assert not (tmp_path / "models").exists()  # asking never creates it
    monkeypatch.delenv(cache.ENV_HOME)
    assert cache.models_dir() == Path.home() / ".cache" / "radpilot" / "models"
    assert cache.models_dir(tmp_path / "x") == tmp_path / "x"
