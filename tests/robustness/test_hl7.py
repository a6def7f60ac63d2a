"""HL7 v2 files: generated ORU and other messages in several character sets, and mutated
bytes. Never a traceback; every message a record or an error; a fallback decoding is a
note; no report text, patient id or accession in any message."""

from __future__ import annotations

import tempfile
from pathlib import Path

from archive_inputs import (
    assert_clean_run,
    assert_no_leak,
    assert_one_line_each,
    identifier,
    mutated,
    read_all,
    report_text,
    split,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.interop.records import RecordNote

CHARSETS = {"": "utf-8", "8859/1": "latin-1", "UNICODE UTF-8": "utf-8", "ASCII": "ascii"}
accented = st.sampled_from(["", " Épanchement", " côté gauche", " naïve"])


@st.composite
def message(draw: st.DrawFn) -> tuple[str, bytes, set[str], str]:
    """(kind, bytes, secrets, charset): kind 'oru' (a good report), 'other' (not ORU),
    'noid' (no accession), 'notext' (no OBX text)."""
    kind = draw(st.sampled_from(["oru", "oru", "oru", "other", "noid", "notext"]))
    charset = draw(st.sampled_from(sorted(CHARSETS)))
    acc, pid = draw(identifier), draw(identifier)
    text = draw(report_text()).replace("\r", " ").replace("\n", " ").replace("|", "/")
    text = "".join(ch for ch in text if ch.isprintable()) + draw(accented)
    mtype = "ORU^R01" if kind != "other" else draw(st.sampled_from(["ADT^A01", "ORM^O01", "X"]))
    enc = CHARSETS[charset]
    if enc == "ascii":
        text = text.encode("ascii", "replace").decode("ascii")
    msh18 = f"||||||{charset}" if charset else ""  # MSH-13..17 empty, MSH-18
    segs = [
        f"MSH|^~\\&|RIS|H|EMR|H|20240101||{mtype}|1|P|2.5{msh18}",
        f"PID|1||{pid}||DOE^JANE",
        f"OBR|1||{'' if kind == 'noid' else acc}|71046|||20240102",
    ]
    if kind != "notext":
        segs.append(f"OBX|1|TX|X||{text}")
    raw = ("\r".join(segs) + "\r").encode(enc, errors="replace")
    secrets = {acc, pid, "DOE", "JANE", *(w.strip(".") for w in text.split() if "zq" in w)}
    return kind, raw, secrets, charset


@st.composite
def hl7_file(draw: st.DrawFn) -> tuple[list[tuple[str, bytes, set[str], str]], bytes]:
    msgs = draw(st.lists(message(), min_size=1, max_size=6))
    framing = draw(st.sampled_from([(b"", b""), (b"\x0b", b"\x1c\r")]))
    return msgs, b"".join(framing[0] + m[1] + framing[1] for m in msgs)


def _secrets(msgs: list[tuple[str, bytes, set[str], str]]) -> set[str]:
    return {s for m in msgs for s in m[2]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hl7_file())
def test_every_message_is_a_record_or_an_error(
    f: tuple[list[tuple[str, bytes, set[str], str]], bytes],
) -> None:
    msgs, raw = f
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.hl7"
        p.write_bytes(raw)
        items = read_all(p)
        recs, errs = split(items)
        assert len(recs) + len(errs) == len(msgs)
        assert len(recs) == sum(kind == "oru" for kind, *_ in msgs)
        # Declared or UTF-8 with nothing declared: decoded without a note, text intact.
        assert not [i for i in items if isinstance(i, RecordNote)]
        assert_one_line_each(items)
        assert_no_leak((str(e) for e in errs), _secrets(msgs))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message(), min_size=1, max_size=4))
def test_latin1_bytes_without_msh18_are_one_note_each(
    msgs: list[tuple[str, bytes, set[str], str]],
) -> None:
    bodies = [m[1].replace(b"||||||" + m[3].encode(), b"") + b"OBX|2|TX|X||\xe9\r" for m in msgs]
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "l.hl7"
        p.write_bytes(b"".join(bodies))
        items = read_all(p)
        recs, errs = split(items)
        assert len(recs) + len(errs) == len(msgs)
        notes = [i for i in items if isinstance(i, RecordNote)]
        # The file is never rejected; each message says how it was decoded.
        assert [n.message.rsplit(" ", 1)[-1] for n in notes] == [_fallback(b) for b in bodies]


def _fallback(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hl7_file())
def test_archive_add_of_generated_hl7(
    f: tuple[list[tuple[str, bytes, set[str], str]], bytes],
) -> None:
    msgs, raw = f
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.hl7"
        p.write_bytes(raw)
        assert_clean_run([p], read_all(p), _secrets(msgs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_hl7_never_breaks_the_reader(data: st.DataObject) -> None:
    msgs, raw = data.draw(hl7_file())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.hl7"
        p.write_bytes(data.draw(mutated(raw)))
        items = read_all(p)
        assert_one_line_each(items)
        assert_no_leak((str(i) for i in items if not hasattr(i, "text")), _secrets(msgs))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_archive_add_of_mutated_hl7(data: st.DataObject) -> None:
    msgs, raw = data.draw(hl7_file())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "m.hl7"
        p.write_bytes(data.draw(mutated(raw)))
        assert_clean_run([p], read_all(p), _secrets(msgs))
