"""The OpenI (Indiana University) chest X-ray reports that ship inside the
torchxrayvision wheel (``torchxrayvision/data/NLMCXR_reports.tgz``, CC BY-NC-ND 4.0).

Read straight from the tarball; torchxrayvision (and so torch) is never imported.
"""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from radpilot.errors import InputError
from radpilot.xrvdata import wheel_data_dir

TGZ_NAME = "NLMCXR_reports.tgz"


@dataclass(frozen=True, slots=True)
class OpenIReport:
    id: str  # the XML file's stem, e.g. "1002"
    comparison: str
    indication: str
    findings: str
    impression: str
    mesh_major: tuple[str, ...]  # the human MeSH coding, e.g. "Opacity/lung/upper lobe/right"

    @property
    def text(self) -> str:
        """FINDINGS then IMPRESSION, the convention of the CheXpert labeler's input."""
        parts = []
        if self.findings:
            parts.append("FINDINGS: " + self.findings)
        if self.impression:
            parts.append("IMPRESSION: " + self.impression)
        return "\n".join(parts)

    @property
    def full_text(self) -> str:
        """Every section with its header, as a full report reads."""
        parts = []
        for header, body in (
            ("COMPARISON", self.comparison),
            ("INDICATION", self.indication),
            ("FINDINGS", self.findings),
            ("IMPRESSION", self.impression),
        ):
            if body:
                parts.append(f"{header}: {body}")
        return "\n".join(parts)


def default_tgz() -> Path:
    """Where the installed torchxrayvision wheel keeps the reports."""
    data = wheel_data_dir("the OpenI reports", "pass the path of NLMCXR_reports.tgz")
    return data / TGZ_NAME


def parse_xml(xml_bytes: bytes, rid: str, where: str) -> OpenIReport:
    """One OpenI XML document; a broken one raises ``InputError`` naming ``where``."""
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        raise InputError(f"{where}: not well-formed XML ({exc})") from None
    sec = {a.get("Label"): (a.text or "").strip() for a in root.iter("AbstractText")}
    majors = tuple(e.text.strip() for e in root.iter("major") if e.text and e.text.strip())
    return OpenIReport(
        id=rid,
        comparison=sec.get("COMPARISON", ""),
        indication=sec.get("INDICATION", ""),
        findings=sec.get("FINDINGS", ""),
        impression=sec.get("IMPRESSION", ""),
        mesh_major=majors,
    )


def iter_xml_files(path: Path) -> Iterator[tuple[bytes, str, str]]:
    """``(xml_bytes, report_id, where)`` for each XML in a folder, one ``.xml`` file or a
    ``.tgz``, in archive order; callers parse each one so a broken file stays one error."""
    if path.is_dir():
        for xml in sorted(path.rglob("*.xml")):
            yield xml.read_bytes(), xml.stem, str(xml)
        return
    if path.name.lower().endswith(".xml"):
        yield path.read_bytes(), path.stem, str(path)
        return
    try:
        tf = tarfile.open(path)
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"{path}: cannot open as a tar archive ({exc})") from None
    with tf:
        for member in tf.getmembers():
            if not member.name.endswith(".xml"):
                continue
            fh = tf.extractfile(member)
            if fh is not None:
                yield fh.read(), Path(member.name).stem, f"{path}:{member.name}"


def iter_reports(source: Path | None = None) -> Iterator[OpenIReport]:
    """Every report in a ``.tgz``, a folder or one OpenI XML file, sorted by numeric id.

    Reports with neither FINDINGS nor IMPRESSION are kept; callers decide. A broken
    file raises ``InputError``; use ``iter_xml_files`` + ``parse_xml`` to skip it instead.
    """
    items = [parse_xml(*item) for item in iter_xml_files(source or default_tgz())]
    items.sort(key=lambda r: (0, int(r.id), "") if r.id.isdigit() else (1, 0, r.id))
    yield from items
