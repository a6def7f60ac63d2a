"""Negation-aware search, filters, ranking order, JSON shape, similar and cohort."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from radpilot.errors import InputError
from radpilot.interop.records import make_record
from radpilot.search.engine import fts_expression, hits_to_json, search
from radpilot.search.ingest import ingest_records
from radpilot.search.similar import similar
from radpilot.search.store import ArchiveStore, open_store

CliRun = Callable[..., tuple[int, str, str]]


def ids(store: ArchiveStore, query: str, **kw: object) -> list[str]:
    return [h.report.id for h in search(store, query, semantic=False, **kw).hits]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Present first, uncertain after; negated (A2, A4, A7) and indication-only (A7) never.
        ("pneumothorax", ["A1", "A5", "A6"]),
        ("+pneumothorax", ["A1", "A5"]),
        ("uncertain:pneumothorax", ["A6"]),
        ("absent:pneumothorax", ["A2", "A4", "A7"]),
        ("new left pneumothorax", ["A1"]),
        ("left pneumothorax", ["A1", "A5"]),
        ("better pneumothorax", ["A5"]),
        ("right pneumothorax", ["A6"]),
        ("cardiomegaly -effusion", ["A4", "A9"]),
        ("cardiomegaly absent:effusion", ["A4"]),
        ("stable cardiomegaly", ["A9"]),
        ("right pleural effusion", ["A3", "A8", "A10"]),  # bilateral A10 after (test_sides)
        ("worse pneumonia", ["A8"]),
        ("pneumothorax since:2024-01-01", ["A1", "A5"]),
        ("pneumothorax until:2023", ["A6"]),
        ("pneumothorax patient:P1", ["A1", "A5"]),
        ("pneumothorax modality:ct", ["A6"]),
        ("granuloma", ["A9"]),
        ('loc:"upper lobe" granuloma', ["A9"]),
        ("patient:P1", ["A5", "A1"]),  # filters only: newest first
        ("bilateral pleural effusion", ["A10"]),
        ("pulmonary edema bilateral", []),  # modifiers constrain the finding: edema has no side
        ("azygos", []),
    ],
)
def test_search_cases(small_archive: ArchiveStore, query: str, expected: list[str]) -> None:
    got = ids(small_archive, query)
    if query == "pneumothorax":
        assert got[-1] == expected[-1] and sorted(got) == sorted(expected)
    else:
        assert sorted(got) == sorted(expected)


def test_negated_never_returned_and_uncertain_marked(small_archive: ArchiveStore) -> None:
    res = search(small_archive, "pneumothorax", semantic=False)
    assert [h.report.id for h in res.hits][-1] == "A6"
    for h in res.hits:
        assert h.mentions, "every hit carries its evidence"
        assert h.uncertain == (h.report.id == "A6")
        for m in h.mentions:
            assert m.status in ("present", "uncertain")
            assert h.report.text[m.span[0] : m.span[1]].lower().startswith("pneumothorax")


def test_text_words_are_lexical(small_archive: ArchiveStore) -> None:
    got = ids(small_archive, "central")
    assert got == ["A1"]
    assert "A1" not in ids(small_archive, "pneumothorax -central")


def test_json_shape(small_archive: ArchiveStore) -> None:
    out = hits_to_json(search(small_archive, "new left pneumothorax", semantic=False))
    assert len(out) == 1
    hit = out[0]
    assert {"id", "score", "findings", "uncertain", "scores", "study_date", "patient_id"} <= set(
        hit
    )
    assert hit["id"] == "A1" and hit["score"] > 0
    f = hit["findings"][0]
    assert f["finding"] == "pneumothorax" and f["certainty"] == "present"
    assert f["laterality"] == "left" and f["change"] == "new"
    assert set(f["span"]) == {"start", "end", "text"} and f["span"]["text"] == "pneumothorax"
    json.dumps(out)


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "query is empty"), ("   ", "query is empty"), ("nope:1", "unknown filter")],
)
def test_bad_queries(small_archive: ArchiveStore, query: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        search(small_archive, query)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["a"], '"a"'),
        (['say "hi"'], '"say ""hi"""'),
        (["x", "central line"], '"x" OR "central line"'),
        (["(*)", "-"], None),
    ],
)
def test_fts_expression_quotes_user_text(words: list[str], expected: str | None) -> None:
    assert fts_expression(words) == expected


def test_fts_hostile_words_do_not_break(small_archive: ArchiveStore) -> None:
    assert ids(small_archive, 'NEAR AND OR NOT "*" ^') == []


def test_similar_without_embeddings(small_archive: ArchiveStore) -> None:
    res = similar(small_archive, "A1", limit=3, semantic=False)
    got = [h.report.id for h in res.hits]
    assert "A1" not in got and got[0] == "A5"  # the other left pneumothorax
    with pytest.raises(InputError, match=r"^no report with that id in ") as exc:
        similar(small_archive, "ZZ")
    assert "ZZ" not in str(exc.value)


def test_cli_search_json_and_table(small_archive_path: str, cli: CliRun) -> None:
    db = str(small_archive_path)
    code, out, err = cli("search", "pneumothorax", "--db", db, "--json", "--since", "2024-01-01")
    assert code == 0, err
    assert sorted(h["id"] for h in json.loads(out)) == ["A1", "A5"]
    assert "no embeddings" in err  # notes go to stderr with --json, so stdout stays JSON
    code, out, _ = cli("search", "right pleural effusion -cardiomegaly", "--db", db)
    # A3 has cardiomegaly; the bilateral A10 is a right effusion too.
    assert code == 0 and "2 results" in out and "A8" in out and "A10" in out and "A3" not in out
    code, out, _ = cli("search", "pneumothorax", "--db", db, "-n", "2")
    assert code == 0 and "no embeddings" in out
    assert "A1" in out and "A5" in out and "A6" not in out
    code, out, _ = cli("search", "azygos", "--db", db)
    assert (code, out.strip()) == (
        0,
        "note: no embeddings in this archive: run `radpilot archive embed` for semantic ranking\nno reports match 'azygos'",
    )
    code, out, _ = cli("similar", "A1", "--db", db, "--json")
    assert code == 0 and json.loads(out)[0]["id"] == "A5"
    code, _, err = cli("search", "since:soon", "--db", db)
    assert (
        code == 2
        and err == "error: query: since:'soon' is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "-cardiomegaly", "effusion"],
        ["search", "-cardiomegaly effusion"],
        ["search", "--db", "DB", "--json", "--no-semantic", "--", "-cardiomegaly", "effusion"],
        ["search", "-n", "20", "-cardiomegaly", "effusion"],
        ["search", "-cardiomegaly", "-n20", "effusion"],
        ["search", "effusion", "-cardiomegaly", "--limit=20"],
    ],
)
def test_query_may_start_with_a_minus(
    small_archive_path: str, cli: CliRun, argv: list[str]
) -> None:
    db = str(small_archive_path)
    if "DB" in argv:
        code, out, err = cli(*[db if a == "DB" else a for a in argv])
    else:
        code, out, err = cli(*argv, "--db", db, "--json", "--no-semantic")
    assert code == 0, err
    assert sorted(h["id"] for h in json.loads(out)) == ["A10", "A8"]  # not A3: cardiomegaly


def test_cohort_query_may_start_with_a_minus(
    small_archive_path: str, cli: CliRun, tmp_path: Path
) -> None:
    out_csv = tmp_path / "c.csv"
    code, out, err = cli(
        "cohort", "-cardiomegaly", "effusion", "-o", str(out_csv), "--db", str(small_archive_path)
    )
    assert code == 0, err
    assert out == f"2 reports (0 uncertain) -> {out_csv}\n"
    assert sorted(r["id"] for r in csv.DictReader(out_csv.open())) == ["A10", "A8"]


@pytest.mark.parametrize("query", ["!!!", "?", "...", "(*)", "- + --", '"" ??'])
def test_punctuation_only_query_is_a_clear_error(
    small_archive: ArchiveStore, small_archive_path: str, cli: CliRun, query: str
) -> None:
    with pytest.raises(InputError, match=r"^query has no letter or digit to search for"):
        search(small_archive, query, semantic=False)
    code, out, err = cli("search", "--db", str(small_archive_path), "--", query)
    assert (code, out) == (2, "") and err.startswith("error: query has no letter or digit")


def test_punctuation_among_words_is_ignored_with_a_note(small_archive: ArchiveStore) -> None:
    res = search(small_archive, "pneumothorax ??? !", semantic=False)
    assert sorted(h.report.id for h in res.hits) == ["A1", "A5", "A6"]
    assert res.notes == ("ignored '???', '!': no letter or digit to search for",)


def test_apostrophe_is_a_letter(
    small_archive: ArchiveStore, small_archive_path: str, cli: CliRun
) -> None:
    assert ids(small_archive, "patient's pneumothorax") == ids(small_archive, "pneumothorax")
    code, out, err = cli("search", "Morgagni's hernia", "--db", str(small_archive_path))
    assert code == 0 and err == "" and "no reports match" in out
    assert ids(small_archive, "O'Brien") == []


NEGATED = {
    "N1": "FINDINGS: No pneumothorax. No apical opacity.\nIMPRESSION: No acute disease.",
    "N2": "INDICATION: Evaluate for apical opacity.\nFINDINGS: Lungs are clear.",
    "S1": "FINDINGS: Small apical opacity on the right.\nIMPRESSION: Apical opacity.",
    "S2": "FINDINGS: No pneumothorax, but an apical opacity is seen.",
    "H1": "FINDINGS: Heart size is normal.",
}


@pytest.fixture(scope="module")
def negation_archive(new_archive: Callable[[str], str]) -> Iterator[ArchiveStore]:
    store = open_store(new_archive("neg"))
    recs = [make_record(rid=k, text=v) for k, v in NEGATED.items()]
    ingest_records(store, recs, jobs=1)
    yield store
    store.close()


def test_free_words_count_only_where_stated(negation_archive: ArchiveStore) -> None:
    """ "apical" is no finding: BM25 finds it in all four raw texts; only the reports that
    state it are answers ("No apical opacity" and "Evaluate for apical opacity" are not)."""
    assert sorted(ids(negation_archive, "apical")) == ["S1", "S2"]
    assert sorted(ids(negation_archive, "apical -zzz")) == ["S1", "S2"]
    # "Heart size is normal." is all one (absent) mention: its own words still count.
    assert ids(negation_archive, "heart size") == ["H1"]
    lex = {
        h.report.id: h.parts["lexical"]
        for h in search(negation_archive, "opacity apical", semantic=False).hits
    }
    assert set(lex) >= {"S1", "S2"} and lex.get("N1", 0.0) == 0.0 and lex.get("N2", 0.0) == 0.0


def test_asserted_text_leaves_out_negated_and_context_sentences(
    negation_archive: ArchiveStore,
) -> None:
    rowid = {k: r.rowid for k in NEGATED if (r := negation_archive.get(k)) is not None}
    texts = negation_archive.asserted_texts(list(rowid.values()))
    got = {k: texts[rowid[k]] for k in NEGATED}
    assert "pneumothorax" not in got["N1"] and "apical" not in got["N1"]
    assert "apical" not in got["N2"] and "Lungs are clear" in got["N2"]
    assert got["S1"] == NEGATED["S1"] and got["H1"] == "FINDINGS:"
    # A sentence that also states a finding keeps it, without the negated finding's words.
    assert "pneumothorax" not in got["S2"] and "apical opacity is seen" in got["S2"]


def test_similar_without_embeddings_holds_negation(negation_archive: ArchiveStore) -> None:
    got = [h.report.id for h in similar(negation_archive, "S1", semantic=False).hits]
    assert got == ["S2"]  # N1 and N2 share only words they negate or ask about


def test_cohort_export(small_archive_path: str, tmp_path: Path, cli: CliRun) -> None:
    out = tmp_path / "c" / "cohort.csv"
    code, stdout, err = cli(
        "cohort", "cardiomegaly -effusion", "--db", str(small_archive_path), "-o", str(out)
    )
    assert code == 0, err
    assert stdout == f"2 reports (0 uncertain) -> {out}\n"
    rows = list(csv.DictReader(out.open()))
    assert sorted(r["id"] for r in rows) == ["A4", "A9"]
    a4 = next(r for r in rows if r["id"] == "A4")
    assert a4["Cardiomegaly"] == "1.0" and a4["Pleural Effusion"] == "0.0"
    assert a4["patient_id"] == "P4" and a4["study_date"] == "2024-07-01"
    assert "cardiomegaly:present" in a4["matched_findings"]
    from radpilot.reports.labels import CHEXPERT_LABELS

    assert list(rows[0])[-14:] == list(CHEXPERT_LABELS)


@pytest.mark.parametrize(
    "query",
    [
        "pneumothorax",
        "new left pneumothorax",
        "cardiomegaly -effusion",
        "cardiomegaly absent:effusion",
        "stable cardiomegaly granuloma",
        "right pleural effusion since:2023-01-01",
        'loc:"upper lobe" granuloma',
        "better pneumothorax -central",
    ],
)
def test_tag_index_path_agrees_with_walk(
    small_archive: ArchiveStore, backend: str, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """Rare conjunctions go through the finding-tag index: same answers as the walk."""
    from radpilot.search import sqlite_query

    walked = ids(small_archive, query)
    monkeypatch.setattr(sqlite_query, "WALK_ROWS", 0)
    if backend == "postgres":  # the whole finding joined
        from radpilot.search import pg_query

        monkeypatch.setattr(pg_query, "WALK_ROWS", 0)
    assert sorted(ids(small_archive, query)) == sorted(walked)


def test_uncertain_ranks_below_present_whatever_the_words(small_archive: ArchiveStore) -> None:
    res = search(small_archive, "pneumothorax cannot exclude", semantic=False)
    got = [h.report.id for h in res.hits]
    assert got[-1] == "A6" and res.hits[-1].uncertain
    assert res.hits[-1].parts["lexical"] > max(h.parts["lexical"] for h in res.hits[:-1])
