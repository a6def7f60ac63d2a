"""Negation-aware search, filters, ranking order, JSON shape, similar and cohort."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.errors import InputError
from radpilot.search.engine import fts_expression, hits_to_json, search, similar
from radpilot.search.store import ArchiveStore

runner = CliRunner()


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
        ("right pleural effusion", ["A3", "A8"]),
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
    with pytest.raises(InputError, match="no report 'ZZ'"):
        similar(small_archive, "ZZ")


def test_cli_search_json_and_table(small_archive_path: Path) -> None:
    db = str(small_archive_path)
    res = runner.invoke(
        app, ["search", "pneumothorax", "--db", db, "--json", "--since", "2024-01-01"]
    )
    assert res.exit_code == 0, res.output
    assert sorted(h["id"] for h in json.loads(res.stdout)) == ["A1", "A5"]
    res = runner.invoke(app, ["search", "left pleural effusion -cardiomegaly", "--db", db])
    assert res.exit_code == 0
    res = runner.invoke(app, ["search", "pneumothorax", "--db", db, "-n", "2"])
    assert res.exit_code == 0 and "no embeddings" in res.stdout
    assert "A1" in res.stdout and "A5" in res.stdout and "A6" not in res.stdout
    res = runner.invoke(app, ["search", "azygos", "--db", db])
    assert "no reports match" in res.stdout
    res = runner.invoke(app, ["similar", "A1", "--db", db, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["id"] == "A5"
    res = runner.invoke(app, ["search", "since:soon", "--db", db])
    assert res.exit_code != 0 and "is not a date" in str(res.exception)


def test_cohort_export(small_archive_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "c" / "cohort.csv"
    res = runner.invoke(
        app, ["cohort", "cardiomegaly -effusion", "--db", str(small_archive_path), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "2 reports (0 uncertain)" in res.stdout
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
    small_archive: ArchiveStore, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """Rare conjunctions go through the finding-tag index: same answers as the walk."""
    from radpilot.search import sqlite_store

    walked = ids(small_archive, query)
    monkeypatch.setattr(sqlite_store, "WALK_ROWS", 0)
    assert sorted(ids(small_archive, query)) == sorted(walked)


def test_uncertain_ranks_below_present_whatever_the_words(small_archive: ArchiveStore) -> None:
    res = search(small_archive, "pneumothorax cannot exclude", semantic=False)
    got = [h.report.id for h in res.hits]
    assert got[-1] == "A6" and res.hits[-1].uncertain
    assert res.hits[-1].parts["lexical"] > max(h.parts["lexical"] for h in res.hits[:-1])
