"""User vocabularies: strict per-entry errors, the merge, reading and labelling with it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from radpilot.errors import VocabularyError
from radpilot.reports import labels, read
from radpilot.reports.uservocab import (
    extend_vocabulary,
    extended_vocabulary,
    parse_user_vocabulary,
)
from radpilot.reports.vocabulary import load_vocabulary

YAML = """\
findings:
  - id: sarcoidosis
    name: sarcoidosis
    synonyms: [sarcoid]
    parent: lung_abnormality
    role: diagnosis
  - id: hiatal_hernia
    synonyms: [hiatus hernia]
    cxr14: null
  - id: port_catheter
    name: port catheter
    synonyms: [port-a-cath]
    chexpert: Support Devices
    abnormal: false
remove_terms: [line]
"""


@pytest.fixture()
def vocab_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def test_a_user_file_adds_and_overrides(vocab_file: Path) -> None:
    v = extended_vocabulary(vocab_file)
    base = load_vocabulary()
    assert v.lookup("sarcoid") == "sarcoidosis" and base.lookup("sarcoid") is None
    assert v.lookup("hiatus hernias") == "hiatal_hernia"  # generated plurals
    assert v.get("hiatal_hernia").cxr14 is None and base.get("hiatal_hernia").cxr14 == "Hernia"
    assert v.get("hiatal_hernia").chexpert == base.get("hiatal_hernia").chexpert  # kept
    assert v.lookup("line") is None and base.lookup("line") == "support_device"
    assert v.ancestors("sarcoidosis") == ("lung_abnormality",)
    assert v.digest != base.digest and v.extended and not base.extended


def test_read_and_labels_follow_the_merged_vocabulary(vocab_file: Path) -> None:
    v = extended_vocabulary(vocab_file)
    text = "Possible sarcoidosis. Large hiatus hernia. Port-a-cath in place. No pneumothorax."
    r = read(text, vocabulary=v)
    found = {m.finding: m.certainty.value for m in r.mentions}
    assert found == {
        "sarcoidosis": "uncertain",
        "hiatal_hernia": "present",
        "port_catheter": "present",
        "pneumothorax": "absent",
    }
    assert labels.chestxray14(r)["Hernia"] is None  # the override: no roll-up
    assert labels.chestxray14(read(text))["Hernia"] == 1.0
    assert labels.chexpert(r)["Support Devices"] == 1.0
    # The packaged reader is untouched by the user's file.
    assert "sarcoidosis" not in {m.finding for m in read(text).mentions}


def test_a_merged_vocabulary_pickles_small_and_restores_the_same(vocab_file: Path) -> None:
    v = extended_vocabulary(vocab_file)
    blob = pickle.dumps(v)
    assert len(blob) < 4_000
    assert pickle.loads(blob) is v  # found again by digest
    assert pickle.loads(pickle.dumps(load_vocabulary())) is load_vocabulary()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"id": "Bad", "name": "x"}], "findings[0] (id 'Bad'): id: 'Bad' is not lower_snake_case"),
        (
            [{"id": "x", "name": "x", "chexpert": "Efusion"}],
            "chexpert: 'Efusion' is not a CheXpert label",
        ),
        (
            [{"id": "x", "name": "x", "cxr14": "No Finding"}],
            "cxr14: 'No Finding' is not a ChestX-ray14 label",
        ),
        (
            [{"id": "x", "name": "x", "colour": 1}],
            "colour: unknown key; allowed: abnormal, chexpert",
        ),
        ([{"id": "x", "name": "x", "role": "cause"}], "findings[0] (id 'x'): role:"),
        ([{"id": "x", "name": "?!"}], "name: '?!' has no letter or digit"),
        (["x"], "findings[0]: is str, expected an object (one finding)"),
    ],
)
def test_each_bad_entry_is_named(entries: list[object], message: str) -> None:
    with pytest.raises(VocabularyError, match=__import__("re").escape(message)):
        parse_user_vocabulary({"findings": entries}, "mine.yaml")


def test_every_bad_entry_at_once_and_references_after() -> None:
    with pytest.raises(VocabularyError) as err:
        parse_user_vocabulary(
            {"findings": [{"id": "A"}, {"id": "ok", "name": "ok"}, {"id": "b", "chexpert": 3}]},
            "mine.yaml",
        )
    lines = str(err.value).splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "findings[0] (id 'A')",
        "findings[2] (id 'b')",
    ]
    doc = parse_user_vocabulary(
        {
            "findings": [
                {"id": "new_one"},
                {"id": "two", "name": "two", "parent": "nope"},
                {"id": "c", "name": "shared"},
                {"id": "d", "name": "shared"},
            ],
            "remove_terms": ["not a term at all"],
        },
        "mine.yaml",
    )
    with pytest.raises(VocabularyError) as err:
        extend_vocabulary(load_vocabulary(), doc, "mine.yaml")
    text = str(err.value)
    assert "remove_terms[0]: 'not a term at all' is not a term of the vocabulary" in text
    assert "findings[0] (id 'new_one'): name: missing key (a new finding needs a name)" in text
    assert "findings[3] (id 'd'): term 'shared' is also listed by findings[2]" in text
    assert "findings[1] (id 'two'): parent: 'nope' is not a finding id" in text


def test_a_parent_cycle_is_an_error() -> None:
    doc = parse_user_vocabulary(
        {"findings": [{"id": "lung_abnormality", "parent": "lung_opacity"}]}, "mine.yaml"
    )
    with pytest.raises(VocabularyError, match=r"the parent chain .* comes back on itself"):
        extend_vocabulary(load_vocabulary(), doc, "mine.yaml")


def test_label_cli_takes_vocab_and_refuses_a_bad_file(tmp_path: Path, vocab_file: Path) -> None:
    import contextlib
    import io

    from radpilot.commands.main import run

    src = tmp_path / "r.csv"
    src.write_text("Possible sarcoidosis. Hiatus hernia.\n", encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = run(
            [
                "label",
                str(src),
                "-o",
                str(tmp_path / "o.jsonl"),
                "--format",
                "jsonl",
                "--vocab",
                str(vocab_file),
            ]
        )
    assert code == 0
    # hiatal_hernia, and the two packaged findings that lose "line" and "port-a-cath"
    assert "2 finding(s) added, 3 overridden" in err.getvalue()
    out = (tmp_path / "o.jsonl").read_text(encoding="utf-8")
    assert '"finding": "sarcoidosis"' in out
    bad = tmp_path / "bad.json"
    bad.write_text('{"findings": [{"id": "x", "chexpert": "Nope"}]}', encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = run(["label", str(src), "-o", str(tmp_path / "o2.csv"), "--vocab", str(bad)])
    assert code == 2
    assert err.getvalue().startswith(f"error: {bad}: findings[0] (id 'x'): chexpert: 'Nope'")
    assert not (tmp_path / "o2.csv").exists()


def test_workers_read_with_the_same_merged_vocabulary(tmp_path: Path, vocab_file: Path) -> None:
    """--jobs 2: each worker process rebuilds the merged vocabulary from what it is sent."""
    import contextlib
    import io
    import json

    from radpilot.commands.main import run

    src = tmp_path / "r.jsonl"
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": "Possible sarcoid."}) + "\n" for i in range(40)),
        encoding="utf-8",
    )
    out = tmp_path / "o.jsonl"
    with contextlib.redirect_stderr(io.StringIO()):
        code = run(
            [
                "label",
                str(src),
                "-o",
                str(out),
                "--format",
                "jsonl",
                "-q",
                "--jobs",
                "2",
                "--chunk-size",
                "5",
                "--vocab",
                str(vocab_file),
            ]
        )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [[m["finding"] for m in r["mentions"]] for r in rows] == [["sarcoidosis"]] * 40


def test_the_readme_vocab_transcript_matches_the_bundled_samples(tmp_path: Path) -> None:
    """The README's `--vocab` lines are what the command prints for the bundled samples."""
    import contextlib
    import io
    import json
    import os

    from radpilot import samples
    from radpilot.commands.main import run

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("#### Your own findings") : readme.index("#### Concepts found")]
    for name in ("my_findings.yaml", "bad_vocab.yaml", "notes.jsonl"):
        (tmp_path / name).write_bytes(samples.get(name).read_bytes())
    shown_file = section.split("$ cat my_findings.yaml\n", 1)[1].split("$ radpilot", 1)[0]
    assert shown_file == samples.get("my_findings.yaml").read_text(encoding="utf-8")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for command in [line[2:] for line in section.splitlines() if line.startswith("$ radpilot")]:
            expected = section.split("$ " + command + "\n", 1)[1].splitlines()[0]
            argv = command.split()[1:]
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = run(argv)
            first = err.getvalue().splitlines()[0]
            if expected.endswith("…"):
                assert first.startswith(expected[:-1].rstrip(", ")), (first, expected)
            else:
                assert first == expected
            assert code == (2 if "bad_vocab" in command else 0)
        row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    finally:
        os.chdir(here)
    assert [(m["finding"], m["certainty"]) for m in row["mentions"]] == [
        ("sarcoidosis", "uncertain"),
        ("hiatal_hernia", "present"),
        ("pleural_effusion", "absent"),
    ]
    assert row["labels"]["Hernia"] is None


def test_the_readme_targets_transcript_holds() -> None:
    """The README's targets example: the offsets and the assertions it shows."""
    from radpilot.reports import read_targets

    text = "Denies chest pain. Mother has diabetes. History of asthma."
    got = [a.to_dict() for a in read_targets(text, [(7, 17), (30, 38), (51, 57)])]
    assert [text[a["start"] : a["end"]] for a in got] == ["chest pain", "diabetes", "asthma"]
    assert [(a["certainty"], a["historical"], a["experiencer"], a["cues"]) for a in got] == [
        ("absent", False, "patient", ["denies"]),
        ("present", False, "other", ["mother"]),
        ("present", True, "patient", ["history of"]),
    ]
