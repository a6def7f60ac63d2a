"""The SCP's store directory: received instances, written durably, and what became of them.

Layout under the store directory (``ScpConfig.store_dir``)::

    incoming/   <uid>.<random>.part   being written (never read; swept at start)
    instances/  <SOPInstanceUID>.dcm  received: fsynced, then renamed in, before success
    analysed/   <SOPInstanceUID>.json the analysis result (``ImageResult.to_dict()``)
    sr/         <SOPInstanceUID>.dcm  radpilot's DICOM SR for the instance
    sent/       <SOPInstanceUID>      the SR was accepted by the configured PACS

Every file is written to a temporary name, fsynced, renamed into place and its folder
fsynced, so a crash (kill -9, power loss) leaves either the whole file or none. The SOP
Instance UID names the file: a re-sent instance finds its file and is not stored twice, and
a UID that is not a valid UID (digits and dots, at most 64 characters) is refused, so no
name can leave the store.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# PS3.5 9.1: components of digits, no leading zero (except "0"), at most 64 characters.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_FOLDERS = ("incoming", "instances", "analysed", "sr", "sent")


def valid_uid(value: object) -> bool:
    """Whether ``value`` is a DICOM UID (so it can name a file safely).

    >>> valid_uid("1.2.840.10008.1.1"), valid_uid("../etc/passwd"), valid_uid("1.02")
    (True, False, False)
    """
    return isinstance(value, str) and len(value) <= 64 and bool(_UID.match(value))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class InstanceStore:
    """The folders above; ``open()`` creates them and sweeps half-written files."""

    root: Path

    @classmethod
    def open(cls, root: Path) -> InstanceStore:
        store = cls(Path(root))
        for name in _FOLDERS:
            (store.root / name).mkdir(parents=True, exist_ok=True)
        # A .part file was never acknowledged (success is sent after the rename): drop it.
        for part in (store.root / "incoming").glob("*.part"):
            part.unlink(missing_ok=True)
        return store

    def instance_path(self, uid: str) -> Path:
        if not valid_uid(uid):
            raise ValueError("not a valid SOP Instance UID")
        return self.root / "instances" / f"{uid}.dcm"

    def has(self, uid: str) -> bool:
        return self.instance_path(uid).exists()

    def write_atomic(self, target: Path, data: bytes) -> None:
        """``data`` at ``target``: whole or not at all, on disk before this returns."""
        tmp = self.root / "incoming" / f"{target.name}.{secrets.token_hex(4)}.part"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def put_instance(self, uid: str, data: bytes) -> bool:
        """Store one received instance; False when it was already stored (not duplicated)."""
        target = self.instance_path(uid)
        if target.exists():
            return False
        self.write_atomic(target, data)
        return True

    def put_result(self, uid: str, result: dict[str, Any]) -> Path:
        target = self.root / "analysed" / f"{uid}.json"
        self.write_atomic(target, json.dumps(result, indent=1).encode("utf-8"))
        return target

    def result(self, uid: str) -> dict[str, Any] | None:
        path = self.root / "analysed" / f"{uid}.json"
        if not path.exists():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def sr_path(self, uid: str) -> Path:
        return self.root / "sr" / f"{uid}.dcm"

    def mark_sent(self, uid: str) -> None:
        self.write_atomic(self.root / "sent" / uid, b"")

    def instances(self) -> Iterator[str]:
        """Every stored instance's UID, oldest first (the order to re-queue them in)."""
        files = sorted((self.root / "instances").glob("*.dcm"), key=lambda p: p.stat().st_mtime)
        for path in files:
            yield path.stem

    def unanalysed(self) -> list[str]:
        return [u for u in self.instances() if not (self.root / "analysed" / f"{u}.json").exists()]

    def unsent(self) -> list[str]:
        return [
            p.stem
            for p in sorted((self.root / "sr").glob("*.dcm"))
            if not (self.root / "sent" / p.stem).exists()
        ]
