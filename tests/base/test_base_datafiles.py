"""The strict loader: errors name the file, the key path and the allowed keys; every
packaged data file validates and its published JSON Schema is current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from radpilot import datafiles
from radpilot.datafiles import DataDocument, DataModel, load_path, parse, parse_text
from radpilot.errors import VocabularyError


class Cue(DataModel):
    phrase: str
    scope: int = 40


class Rules(DataDocument):
    version: str
    cues: list[Cue]
    tables: dict[str, list[str]] = Field(default_factory=dict)


def test_an_unknown_key_names_the_path_and_the_allowed_keys() -> None:
    raw = {"version": "1", "cues": [{"phrase": "no"}, {"phrase": "not", "scop": 3}]}
    with pytest.raises(VocabularyError) as err:
        parse(raw, Rules, "rules.json")
    assert str(err.value) == "rules.json: cues[1].scop: unknown key; allowed: phrase, scope"


def test_a_missing_key_and_a_wrong_type_are_named() -> None:
    with pytest.raises(VocabularyError, match=r"^rules\.json: version: missing key$"):
        parse({"cues": []}, Rules, "rules.json")
    with pytest.raises(VocabularyError, match=r"rules\.json: cues\[0\]\.scope: .*integer"):
        parse({"version": "1", "cues": [{"phrase": "no", "scope": "far"}]}, Rules, "rules.json")


def test_top_level_unknown_keys_list_the_document_keys() -> None:
    with pytest.raises(VocabularyError, match=r"allowed: \$schema, cues, description, tables"):
        parse({"version": "1", "cues": [], "extra": 1}, Rules, "r.json")


def test_many_errors_are_capped_on_one_line() -> None:
    raw = {"version": 1, "cues": [{"phrase": i} for i in range(10)]}
    with pytest.raises(VocabularyError) as err:
        parse(raw, Rules, "r.json")
    message = str(err.value)
    assert "\n" not in message and "more)" in message


def test_duplicate_keys_are_rejected_not_overwritten() -> None:
    with pytest.raises(VocabularyError, match=r"key 'a' appears twice"):
        parse_text('{"a": 1, "a": 2}', "dup.json")


def test_deep_nesting_is_one_line_not_a_recursion_error() -> None:
    with pytest.raises(VocabularyError, match=r"deep\.json"):
        parse_text("[" * 100_000 + "]" * 100_000, "deep.json")


def test_user_files_json_and_yaml(tmp_path: Path) -> None:
    good = {"version": "2", "cues": [{"phrase": "without"}]}
    (tmp_path / "r.json").write_text(json.dumps(good))
    (tmp_path / "r.yaml").write_text("version: '2'\ncues:\n  - phrase: without\n")
    assert load_path(tmp_path / "r.json", Rules) == load_path(tmp_path / "r.yaml", Rules)
    with pytest.raises(VocabularyError, match="no such file"):
        load_path(tmp_path / "missing.json", Rules)
    (tmp_path / "bad.yaml").write_text("version: [unclosed\n")
    with pytest.raises(VocabularyError, match=r"bad\.yaml: not valid YAML"):
        load_path(tmp_path / "bad.yaml", Rules)
    (tmp_path / "latin.json").write_bytes(b'{"version": "\xe9"}')
    with pytest.raises(VocabularyError, match="not UTF-8"):
        load_path(tmp_path / "latin.json", Rules)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_any_json_value_either_validates_or_raises_one_clear_error(raw: object) -> None:
    try:
        parse(raw, Rules, "any.json")
    except VocabularyError as exc:
        assert str(exc).startswith("any.json") and "\n" not in str(exc)


PACKAGED = datafiles.packaged()


@pytest.mark.parametrize("spec", PACKAGED, ids=[s.where for s in PACKAGED])
def test_every_packaged_file_loads_and_its_schema_is_current(spec: datafiles.DataFile) -> None:  # type: ignore[type-arg]
    spec.load()
    on_disk = spec.schema_on_disk()
    assert on_disk.is_file(), f"run `python -m radpilot.datafiles` to write {on_disk.name}"
    assert on_disk.read_text(encoding="utf-8") == spec.schema_text(), (
        f"{on_disk} is stale: run `python -m radpilot.datafiles`"
    )
