"""OpenI input: generated XML reports (some without text, some broken) in a folder or a
.tgz, truncated and mutated tarballs, mutated XML. Never a traceback; every XML a record
or an error naming it; a tarball that breaks off keeps what was read before the break
and says where it broke, once; no report text in any message."""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from archive_inputs import (
    assert_clean_run,
    assert_no_leak,
    assert_one_line_each,
    mutated,
    read_all,
    report_text,
    split,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECTIONS = ("COMPARISON", "INDICATION", "FINDINGS", "IMPRESSION")
# Characters XML 1.0 cannot hold at all: a generated report leaves them out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@st.composite
def xml_doc(draw: st.DrawFn) -> tuple[str, bytes, set[str]]:
    """(kind, bytes, secrets): 'report', 'empty' (no section has text), 'broken'."""
    kind = draw(st.sampled_from(["report", "report", "report", "empty", "broken"]))
    texts = {
        s: _NOT_XML.sub("", draw(report_text()))
        for s in SECTIONS
        if draw(st.booleans()) or s == "FINDINGS"
    }
    if kind == "empty":
        texts = {s: "" for s in texts}
    body = "".join(
        f'<AbstractText Label="{label}">{escape(text)}</AbstractText>'
        for label, text in texts.items()
    )
    doc = f'<?xml version="1.0"?><eCitation><Abstract>{body}</Abstract></eCitation>'
    if kind == "broken":
        doc = doc[: draw(st.integers(10, len(doc) - 5))]
    secrets = {w.strip(".") for t in texts.values() for w in t.split() if "zq" in w}
    return kind, doc.encode("utf-8", errors="replace"), secrets


docs = st.lists(xml_doc(), min_size=1, max_size=8)


def _tgz(items: list[tuple[str, bytes, set[str]]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for n, (_, data, _) in enumerate(items, 1):
            info = tarfile.TarInfo(f"ecgen-radiology/{n}.xml")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _secrets(items: list[tuple[str, bytes, set[str]]]) -> set[str]:
    return {s for _, _, sec in items for s in sec}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs, st.booleans())
def test_every_xml_is_a_record_or_an_error(
    items: list[tuple[str, bytes, set[str]]], tgz: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if tgz:
            path = Path(tmp) / "r.tgz"
            path.write_bytes(_tgz(items))
            member = "ecgen-radiology/{}.xml"
        else:
            path = Path(tmp) / "xml"
            path.mkdir()
            for n, (_, data, _) in enumerate(items, 1):
                (path / f"{n:03d}.xml").write_bytes(data)
            member = "{:03d}.xml"
        found = read_all(path)
        recs, errs = split(found)
        assert len(recs) + len(errs) == len(items)
        assert [e.position for e in errs] == [
            member.format(n) for n, (kind, _, _) in enumerate(items, 1) if kind != "report"
        ]
        assert all(e.file == str(path) for e in errs)
        assert_one_line_each(found)
        assert_no_leak((str(e) for e in errs), _secrets(items))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs, st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_tgz_keeps_what_was_read(
    items: list[tuple[str, bytes, set[str]]], cut: float
) -> None:
    whole = _tgz(items)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "cut.tgz"
        p.write_bytes(whole[: int(len(whole) * cut)])
        found = read_all(p)
        recs, errs = split(found)
        expected = [str(n) for n, (kind, _, _) in enumerate(items, 1) if kind == "report"]
        assert [r.id for r in recs] == expected[: len(recs)]  # the files before the break
        broke = [e for e in errs if e.position == "file" or e.position.startswith("after ")]
        assert len(broke) == 1 and found[-1] == broke[0]  # the break is said once, last
        assert_one_line_each(found)
        assert_no_leak((str(e) for e in errs), _secrets(items))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_tgz_never_breaks_the_reader(data: st.DataObject) -> None:
    items = data.draw(docs)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.tgz"
        p.write_bytes(data.draw(mutated(_tgz(items))))
        found = read_all(p)
        assert_one_line_each(found)
        _, errs = split(found)
        assert_no_leak((str(e) for e in errs), _secrets(items))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_xml_is_one_record_or_one_error(data: st.DataObject) -> None:
    _, doc, secrets = data.draw(xml_doc())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "1.xml"
        p.write_bytes(data.draw(mutated(doc)))
        found = read_all(p)
        assert len(found) == 1
        assert_one_line_each(found)
        _, errs = split(found)
        assert_no_leak((str(e) for e in errs), secrets)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs, st.floats(0.3, 1.0, exclude_max=True))
def test_archive_add_of_a_truncated_tgz(
    items: list[tuple[str, bytes, set[str]]], cut: float
) -> None:
    whole = _tgz(items)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "cut.tgz"
        p.write_bytes(whole[: int(len(whole) * cut)])
        assert_clean_run([p], read_all(p), _secrets(items))
