"""Targets and user vocabularies on generated and mutated input: every target of every row
accounted for (asserted, or kept in place with its reason), no traceback, no report text on
stderr; every vocabulary file either loads or fails with one VocabularyError that names
the file (never a traceback, never another exception)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_cli import MARKER, check_batch, label

from radpilot.errors import VocabularyError
from radpilot.reports import read, read_targets
from radpilot.reports.uservocab import extended_vocabulary

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.sampled_from(
    [
        MARKER,
        "no",
        "denies",
        "history of",
        "mother",
        "if",
        "possible",
        "or",
        "but",
        ";",
        "pain",
        "fever",
        "?",
        ".",
        "\n",
        "non-",
        "ruled out",
        "é",
        "İ",
        "\x07",
        "  ",
    ]
)
TEXT = st.lists(WORDS, min_size=0, max_size=25).map(" ".join)
INTS = st.integers(-5, 300)
TARGET = st.one_of(
    st.fixed_dictionaries({"start": INTS, "end": INTS}),
    st.fixed_dictionaries({"start": INTS}),
    st.dictionaries(
        st.sampled_from(["start", "end", "cui"]),
        st.one_of(INTS, st.text(max_size=3), st.none(), st.booleans(), st.floats()),
    ),
    st.one_of(st.none(), INTS, st.text(max_size=4), st.lists(INTS, max_size=2)),
)
TARGETS = st.one_of(st.lists(TARGET, max_size=12), TARGET)


@SETTINGS
@given(st.lists(st.tuples(TEXT, TARGETS), min_size=1, max_size=8))
def test_every_target_is_accounted_for(rows: list[tuple[str, object]]) -> None:
    lines = [json.dumps({"id": str(i), "text": t, "targets": g}) for i, (t, g) in enumerate(rows)]
    result = label({"in.jsonl": ("\n".join(lines) + "\n").encode()}, "in.jsonl")
    check_batch(result, rows_in=len(rows))
    for (text, given_targets), row in zip(rows, result.rows, strict=True):
        out = row["targets"]
        if not isinstance(given_targets, list):
            assert out == []
            continue
        assert len(out) == len(given_targets)
        for g, o in zip(given_targets, out, strict=True):
            if o["certainty"] is None:
                assert o["error"]
            else:
                assert (o["start"], o["end"]) == (g["start"], g["end"])  # type: ignore[index]
                assert 0 <= o["start"] < o["end"] <= len(text)
                assert o["certainty"] in ("present", "absent", "uncertain")
                assert o["experiencer"] in ("patient", "other")


@SETTINGS
@given(TEXT, st.lists(st.tuples(st.integers(0, 200), st.integers(1, 80)), max_size=20))
def test_read_targets_on_any_text(text: str, pairs: list[tuple[int, int]]) -> None:
    spans = [(s, s + w) for s, w in pairs if s + w <= len(text)]
    out = read_targets(text, spans)
    assert [(a.start, a.end) for a in out] == spans


KEYS = st.sampled_from(
    ["id", "name", "synonyms", "parent", "chexpert", "cxr14", "role", "abnormal", "colour"]
)
VALUES = st.one_of(
    st.sampled_from(
        ["sarcoidosis", "lung_abnormality", "Effusion", "Hernia", "diagnosis", "x", "", "?"]
    ),
    st.lists(st.sampled_from(["sarcoid", "line", "effusion", MARKER, "", "sarcoid"]), max_size=4),
    st.none(),
    st.booleans(),
    st.integers(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ENTRY = st.one_of(st.dictionaries(KEYS, VALUES, max_size=6), VALUES)
DOC = st.fixed_dictionaries(
    {"findings": st.one_of(st.lists(ENTRY, max_size=6), VALUES)},
    optional={
        "remove_terms": st.lists(st.sampled_from(["line", "effusion", "nothing", ""]), max_size=3),
        "extra": st.integers(),
    },
)


@SETTINGS
@given(DOC, st.sampled_from([".json", ".yaml"]), st.booleans())
def test_a_vocabulary_file_loads_or_names_itself(doc: dict, suffix: str, mutate: bool) -> None:  # type: ignore[type-arg]
    import yaml

    text = json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc)
    if mutate:
        text = text[: len(text) // 2]  # a file cut short
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"v{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            vocab = extended_vocabulary(path)
        except VocabularyError as exc:
            assert str(exc).startswith(str(path)) or str(exc).startswith(f"{path}:")
            for line in str(exc).splitlines():
                assert line.startswith(str(path)) or line.startswith("...")
            return
    report = read(f"Possible {MARKER}. Sarcoid. No effusion.", vocabulary=vocab)
    assert all(m.finding in vocab.findings for m in report.mentions)
