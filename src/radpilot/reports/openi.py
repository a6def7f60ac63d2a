"""The OpenI (Indiana University) chest X-ray reports that ship inside the
torchxrayvision wheel (``torchxrayvision/data/NLMCXR_reports.tgz``, CC BY-NC-ND 4.0).

Read straight from the tarball; torchxrayvision (and so torch) is never imported.
"""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
import zlib
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
    except (ValueError, LookupError):  # an encoding declaration Python cannot decode
        raise InputError(f"{where}: not well-formed XML (unusable encoding declaration)") from None
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


@dataclass(frozen=True, slots=True)
class XmlFile:
    """One XML file of a folder, ``.xml`` or ``.tgz``: its bytes, or why it cannot be read."""

    id: str  # the file's stem
    container: str  # the folder, the .tgz, or the .xml file itself
    member: str  # the XML's path inside the container ("ecgen-radiology/1.xml")
    data: bytes | None
    problem: str | None = None

    @property
    def where(self) -> str:
        """A file of a folder by its path, a member of a tarball as ``archive.tgz:member``."""
        if self.member == "document":
            return self.container
        if Path(self.container).is_dir():
            return str(Path(self.container) / self.member)
        return f"{self.container}:{self.member}"


def iter_xml_files(path: Path) -> Iterator[tuple[bytes, str, str]]:
    """``(xml_bytes, report_id, where)`` for each XML in a folder, one ``.xml`` file or a
    ``.tgz``, in archive order; callers parse each one so a broken file stays one error.
    A file that cannot be read, or a tarball that breaks off, raises ``InputError`` naming
    it after the files before it (``iter_xml_members`` reports an unreadable file of a
    folder and goes on)."""
    for f in iter_xml_members(path):
        if f.data is None:
            raise InputError(f"{f.where}: {f.problem}")
        yield f.data, f.id, f.where


def iter_xml_members(path: Path) -> Iterator[XmlFile]:
    """Each XML in a folder, one ``.xml`` file or a ``.tgz``, in archive order, as an
    ``XmlFile``: its bytes, or why that one file cannot be read.

    A tarball is streamed member by member (never listed first), so a truncated one gives
    every file before the break and then raises ``InputError`` naming where it broke."""
    if path.is_dir():
        for xml in sorted(path.rglob("*.xml")):
            yield _read_one(xml, path, str(xml.relative_to(path)))
        return
    if path.name.lower().endswith(".xml"):
        yield _read_one(path, path, "document")
        return
    yield from _iter_tar(path)


def _read_one(xml: Path, container: Path, member: str) -> XmlFile:
    try:
        return XmlFile(xml.stem, str(container), member, xml.read_bytes())
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
        return XmlFile(xml.stem, str(container), member, None, problem)


def _iter_tar(path: Path) -> Iterator[XmlFile]:
    try:
        tf = tarfile.open(path)
    except tarfile.ReadError:
        raise InputError(f"{path}: not a tar archive (plain, gzip, bzip2 or xz)") from None
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise InputError(f"{path}: cannot open as a tar archive ({_why(exc)})") from None
    count, last = 0, ""
    with tf:
        try:
            for member in tf:  # streamed: getmembers() would read the whole file first
                if not member.isfile() or not member.name.endswith(".xml"):
                    continue
                fh = tf.extractfile(member)
                data = fh.read() if fh is not None else b""
                yield XmlFile(Path(member.name).stem, str(path), member.name, data)
                count, last = count + 1, member.name
            # tar stops at its first zero block: read on to the end of the compressed
            # stream, so a cut or damaged tail (the gzip length and CRC) is seen too.
            while tf.fileobj is not None and tf.fileobj.read(1 << 20):
                pass
        except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
            after = f" (the last whole one: {last})" if last else ""
            raise InputError(
                f"{path}: the archive breaks off or is damaged after {count} XML file(s)"
                f"{after}: {_why(exc)}"
            ) from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, tarfile.TarError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def iter_reports(source: Path | None = None) -> Iterator[OpenIReport]:
    """Every report in a ``.tgz``, a folder or one OpenI XML file, sorted by numeric id.

    Reports with neither FINDINGS nor IMPRESSION are kept; callers decide. A broken
    file raises ``InputError``; use ``iter_xml_files`` + ``parse_xml`` to skip it instead.
    """
    items = [parse_xml(*f) for f in iter_xml_files(source or default_tgz())]
    items.sort(key=lambda r: (0, int(r.id), "") if r.id.isdigit() else (1, 0, r.id))
    yield from items
