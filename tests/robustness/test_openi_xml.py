"""`radpilot label` on OpenI XML (a folder, one file, a .tgz) built from generated and
mutated documents: one row per XML file, a broken or empty file an error row naming that
file, no traceback, no report text on stderr, the exit code per --help."""

from __future__ import annotations

import io
import tarfile
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_cli import MARKER, check_batch, label

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters XML 1.0 allows in text (no control characters but tab and newline).
XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from("\n\t<>&\"'"),
    max_size=40,
)
SECTION = st.one_of(st.none(), st.builds(lambda t: f"{MARKER} {t}", XML_TEXT))


def document(findings: str | None, impression: str | None) -> bytes:
    parts = [
        f'<AbstractText Label="{label}">{escape(body)}</AbstractText>'
        for label, body in (("FINDINGS", findings), ("IMPRESSION", impression))
        if body is not None
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><eCitation><MedlineCitation><Article><Abstract>'
        + "".join(parts)
        + "</Abstract></Article></MedlineCitation><MeSH><major>normal</major></MeSH></eCitation>"
    ).encode("utf-8")


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "'
    + MARKER
    + '">'
    + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(8))
    + ']><eCitation><AbstractText Label="FINDINGS">&i;</AbstractText></eCitation>'
).encode()


@st.composite
def xml_file(draw: st.DrawFn) -> tuple[bytes, bool]:
    """(bytes, whether it is a well-formed report with text)."""
    findings, impression = draw(SECTION), draw(SECTION)
    good = document(findings, impression)
    has_text = any(x is not None and x.strip() for x in (findings, impression))
    kind = draw(st.sampled_from(["good", "good", "cut", "junk", "bomb", "deep", "latin1", "empty"]))
    if kind == "good":
        return good, has_text
    if kind == "cut":
        return good[: draw(st.integers(0, len(good) - 1))], False
    if kind == "junk":
        return draw(st.binary(max_size=60)), False
    if kind == "bomb":
        return BOMB, False
    if kind == "deep":
        depth = draw(st.integers(100, 50_000))
        return b"<eCitation>" + b"<x>" * depth + b"</x>" * depth + b"</eCitation>", False
    if kind == "latin1":  # declared UTF-8, written Latin-1: not well-formed
        return document(f"{MARKER} caf\u00e9", None).replace("café".encode(), b"caf\xe9"), False
    return b"", False


@SETTINGS
@given(st.lists(xml_file(), min_size=1, max_size=12), st.booleans())
def test_a_folder_or_archive_of_openi_xml(files: list[tuple[bytes, bool]], as_tgz: bool) -> None:
    named = {f"{i + 1}.xml": data for i, (data, _) in enumerate(files)}
    if as_tgz:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for name, data in named.items():
                info = tarfile.TarInfo(f"ecgen-radiology/{name}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        result = label({"reports.tgz": buf.getvalue()}, "reports.tgz")
    else:
        result = label(named, ".")
    check_batch(result, rows_in=len(files))
    assert [r["id"] for r in result.rows] == [str(i + 1) for i in range(len(files))]
    for (
        (_, has_text),
        row,
    ) in zip(files, result.rows, strict=True):
        assert row["labelled"] == has_text, row["problems"]
    for line in result.problem_lines():  # each names its file (and nothing from inside it)
        assert ".xml): " in line


def test_one_xml_file() -> None:
    result = label({"1002.xml": document(f"{MARKER} No pneumothorax.", None)}, "1002.xml")
    check_batch(result, rows_in=1)
    assert result.rows[0]["id"] == "1002" and result.rows[0]["labelled"]
    assert result.rows[0]["labels"]["Pneumothorax"] == 0.0
    assert result.code == 0
