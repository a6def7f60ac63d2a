"""The local weights cache: where installed model files live, how they get
there (``pull`` over HTTP with resume, ``import_file`` from a file copied in by
hand) and how every install is checked against a SHA-256 pin.

Layout: ``<models dir>/<model name>/<weights file>`` plus ``<models dir>/pins.json``.
The models dir is ``$RADPILOT_HOME/models`` or ``~/.cache/radpilot/models``;
every function also takes ``cache_dir`` to override it. Nothing is created
until something is installed; nothing is ever downloaded implicitly.

A card that pins ``weights.sha256`` is checked against it; a card with
``sha256: null`` gets the digest of its first install recorded in ``pins.json``
and every later install (or load) of that model is checked against that.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from radpilot.errors import (
    ChecksumError,
    DownloadError,
    InputError,
    ModelNotAvailableError,
    RadpilotError,
)
from radpilot.imaging.model_card import ModelCard

log = logging.getLogger(__name__)

ENV_HOME = "RADPILOT_HOME"
PIN_FILE = "pins.json"
_CHUNK = 1 << 16

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)
Validate = Callable[[Path], None]  # raises if the file is not the model's weights


def models_dir(cache_dir: Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser() / "models"
    return Path.home() / ".cache" / "radpilot" / "models"


def target_path(card: ModelCard, cache_dir: Path | None = None) -> Path:
    return models_dir(cache_dir) / card.name / card.weights.file


def how_to_install(name: str) -> str:
    return (
        f"install it with `radpilot models pull {name}` (needs internet) "
        f"or `radpilot models import {name} FILE` (a weights file copied in by hand)"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_pins(cache_dir: Path | None = None) -> dict[str, dict[str, str]]:
    path = models_dir(cache_dir) / PIN_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: pin file is unreadable ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: pin file must hold a JSON object")
    return data


def _write_pin(card: ModelCard, sha: str, cache_dir: Path | None) -> None:
    pins = read_pins(cache_dir)
    pins[card.name] = {
        "file": card.weights.file,
        "sha256": sha,
        "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = models_dir(cache_dir) / PIN_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def expected_sha256(card: ModelCard, cache_dir: Path | None = None) -> str | None:
    """The card's pin, else the local pin from the first install, else None."""
    if card.weights.sha256:
        return card.weights.sha256
    pin = read_pins(cache_dir).get(card.name)
    if pin and pin.get("file") == card.weights.file:
        return pin.get("sha256")
    return None


def _check(card: ModelCard, path: Path, cache_dir: Path | None, origin: str) -> str:
    """Verify ``path`` against the pin; delete it and raise on mismatch."""
    sha = sha256_of(path)
    expected = expected_sha256(card, cache_dir)
    if expected is not None and sha != expected:
        path.unlink(missing_ok=True)
        where = "model card" if card.weights.sha256 else f"local pin in {PIN_FILE}"
        raise ChecksumError(
            f"{origin}: SHA-256 {sha[:16]}… does not match the {where} "
            f"({expected[:16]}…) for {card.name}; the file was deleted"
        )
    return sha


def installed_path(card: ModelCard, cache_dir: Path | None = None) -> Path | None:
    path = target_path(card, cache_dir)
    return path if path.is_file() else None


def require(card: ModelCard, cache_dir: Path | None = None, *, verify: bool = True) -> Path:
    """The installed weights file of a downloadable model, checked against its pin."""
    path = installed_path(card, cache_dir)
    if path is None:
        raise ModelNotAvailableError(
            f"model {card.name!r} is not installed (no {target_path(card, cache_dir)}); "
            + how_to_install(card.name)
        )
    if verify:
        sha = sha256_of(path)
        expected = expected_sha256(card, cache_dir)
        if expected is not None and sha != expected:
            raise ChecksumError(
                f"{path}: SHA-256 differs from the pin for {card.name}; delete it and "
                + how_to_install(card.name)
            )
    return path


def _finish(
    card: ModelCard, part: Path, cache_dir: Path | None, origin: str, validate: Validate | None
) -> Path:
    sha = _check(card, part, cache_dir, origin)
    if validate is not None:
        try:
            validate(part)
        except RadpilotError as exc:
            part.unlink(missing_ok=True)
            # The check read the temporary copy; the error names what the user gave.
            raise type(exc)(str(exc).replace(str(part), origin)) from None
        except Exception:
            part.unlink(missing_ok=True)
            raise
    final = target_path(card, cache_dir)
    part.replace(final)
    if expected_sha256(card, cache_dir) is None:
        _write_pin(card, sha, cache_dir)
        log.info("pinned %s to sha256 %s in %s", card.name, sha, PIN_FILE)
    return final


def _not_downloadable(card: ModelCard) -> None:
    if card.weights.bundled:
        raise InputError(f"model {card.name!r} ships inside radpilot; there is nothing to install")


def import_file(
    card: ModelCard,
    source: Path,
    *,
    cache_dir: Path | None = None,
    validate: Validate | None = None,
) -> Path:
    """Install a weights file copied in by hand (air-gapped sites); same checks as ``pull``."""
    _not_downloadable(card)
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source}: no such file to import as {card.name}")
    final = target_path(card, cache_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".import")
    shutil.copyfile(source, part)
    return _finish(card, part, cache_dir, str(source), validate)


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    req = urllib.request.Request(url, headers={"User-Agent": "radpilot"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(req, timeout=timeout)


def pull(
    card: ModelCard,
    *,
    url: str | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
    validate: Validate | None = None,
) -> Path:
    """Download the card's weights (or ``url``) into the cache, resuming a
    previous partial download with an HTTP Range request."""
    _not_downloadable(card)
    src = url or card.weights.url
    if not src or urllib.parse.urlsplit(src).scheme not in ("http", "https"):
        raise InputError(f"model {card.name!r}: weights url must be http(s), got {src!r}")
    final = target_path(card, cache_dir)
    part = final.with_name(final.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    total: int | None = None
    done = 0
    host = urllib.parse.urlsplit(src).netloc
    try:
        try:
            resp = _open(src, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:
                raise
            # Range not satisfiable: the partial file is stale; start over once.
            part.unlink()
            offset = 0
            resp = _open(src, 0, timeout)
        with resp:
            if offset and resp.status == 206:
                start = resp.headers.get("Content-Range", "").split(" ")[-1].split("-")[0]
                if start != str(offset):
                    raise DownloadError(f"{src}: server resumed at byte {start}, not {offset}")
                mode = "ab"
            else:
                if offset:
                    log.info("%s ignored the Range request; downloading from the start", host)
                offset, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            done = offset
            # Only now, with a server answering, does anything appear on disk.
            part.parent.mkdir(parents=True, exist_ok=True)
            with part.open(mode) as fh:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    fh.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
    except urllib.error.HTTPError as exc:
        raise DownloadError(
            f"cannot download {card.name} from {src}: HTTP {exc.code} {exc.reason}"
        ) from None
    except urllib.error.URLError as exc:
        raise DownloadError(
            f"cannot reach {host} to download {card.name} ({exc.reason}); this machine "
            f"looks offline: copy {card.weights.file} in by hand and run "
            f"`radpilot models import {card.name} FILE`"
        ) from None
    except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
        have = part.stat().st_size if part.is_file() else 0
        raise DownloadError(
            f"download of {card.name} interrupted after {have} bytes ({type(exc).__name__}); "
            f"run `radpilot models pull {card.name}` again to resume"
        ) from None
    if total is not None and done < total:
        raise DownloadError(
            f"download of {card.name} interrupted after {done} of {total} bytes; "
            f"run `radpilot models pull {card.name}` again to resume"
        )
    return _finish(card, part, cache_dir, src, validate)
