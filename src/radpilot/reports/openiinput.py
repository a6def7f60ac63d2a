"""OpenI XML as input rows for the labeller: one row per XML file, in report-id order.

``radpilot label NLMCXR_reports.tgz`` (the file inside the torchxrayvision wheel), a folder
of OpenI XML files, or one ``.xml``: each file is one report, its id the report id (the
file's stem), its text FINDINGS then IMPRESSION, the CheXpert labeler's input convention
(:attr:`radpilot.reports.openi.OpenIReport.text`). A file that is not well-formed XML, or
that has neither section, is an error row naming the file; an archive that breaks off
part-way ends with one error row naming it. Files are read through
:func:`radpilot.reports.openi.iter_xml_files` and held (as report text) until all are read,
so the rows can be sorted by id: OpenI's 3,955 reports take a few MB.
"""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from radpilot.errors import InputError
from radpilot.reports.openi import iter_xml_files, parse_xml

ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")


@dataclass(frozen=True, slots=True)
class OpenIItem:
    id: str
    text: str
    where: str  # the file, as "archive.tgz:member.xml" inside an archive
    error: str | None = None  # why it cannot be labelled (never its content)


def is_openi_path(path: Path) -> bool:
    """Whether auto-detection reads ``path`` as OpenI XML (a folder, .xml, .tgz, .tar)."""
    name = path.name.lower()
    return path.is_dir() or name.endswith((".xml", *ARCHIVE_SUFFIXES))


def _sort_key(item: OpenIItem) -> tuple[int, int, str]:
    return (0, int(item.id), "") if item.id.isdigit() else (1, 0, item.id)


def _item(xml: bytes, rid: str, where: str) -> OpenIItem:
    try:
        report = parse_xml(xml, rid, where)
    except InputError as exc:
        return OpenIItem(rid, "", where, str(exc).removeprefix(f"{where}: "))
    except Exception as exc:  # a broken file is one error row, never the batch's end
        return OpenIItem(rid, "", where, f"cannot read as OpenI XML ({type(exc).__name__})")
    if not report.text.strip():
        return OpenIItem(rid, "", where, "no FINDINGS or IMPRESSION section")
    return OpenIItem(rid, report.text, where)


def read_openi(path: Path) -> list[OpenIItem]:
    """Every XML file of ``path`` as an item, sorted by report id (numeric ids in number
    order). Raises ``InputError`` when nothing can be read (not an archive, no XML)."""
    items: list[OpenIItem] = []
    files = iter_xml_files(path)
    broke: OpenIItem | None = None
    while True:
        try:
            xml, rid, where = next(files)
        except StopIteration:
            break
        except InputError:
            if not items:
                raise
            broke = OpenIItem("", "", str(path), "cannot read on in this archive")
            break
        except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
            # A truncated .tgz or an unreadable file: what came before is kept.
            if not items:
                raise InputError(f"{path}: cannot read ({type(exc).__name__})") from None
            reason = f"cannot read on after {len(items):,} files ({type(exc).__name__})"
            broke = OpenIItem("", "", str(path), reason)
            break
        items.append(_item(xml, rid, where))
    if not items:
        if path.is_dir():
            raise InputError(
                f"{path}: is a directory with no .xml files (OpenI reports); expected them, "
                "or a CSV or JSONL file"
            )
        raise InputError(f"{path}: no .xml files in it (expected OpenI reports)")
    items.sort(key=_sort_key)
    if broke is not None:
        items.append(broke)
    return items
