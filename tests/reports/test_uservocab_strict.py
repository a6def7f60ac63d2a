"""User vocabulary files from a user's point of view: each malformed file gives one clear
line per bad entry, and no input at all raises anything but an ``InputError``
(property tests over parsed values, over text and over raw bytes)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radpilot.errors import InputError, VocabularyError
from radpilot.reports.uservocab import (
    extend_vocabulary,
    extended_vocabulary,
    parse_user_vocabulary,
)
from radpilot.reports.vocabulary import load_vocabulary


def _error_of(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError) as err:
        extended_vocabulary(path)
    return str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        # YAML keeps the last of two equal keys silently; JSON input already refuses it
        (
            "dupkey.yaml",
            "findings:\n  - id: aa\n    name: one\n    name: two\n",
            "key 'name' appears twice in one object (line 4)",
        ),
        (
            "dupkey.json",
            '{"findings": [{"id": "aa", "name": "one", "name": "two"}]}',
            "key 'name' appears twice in one object",
        ),
        (
            "dupid.yaml",
            "findings:\n  - id: sarc\n    name: sarc\n  - id: sarc\n    name: sarcoid thing\n",
            "findings[1] (id 'sarc'): id: 'sarc' is also findings[0] (one entry per finding)",
        ),
        (
            "cycle.yaml",
            "findings:\n  - id: aa\n    name: aa thing\n    parent: bb\n"
            "  - id: bb\n    name: bb thing\n    parent: aa\n",
            "findings[0] (id 'aa'): parent: the parent chain aa -> bb -> aa comes back on itself\n"
            "{path}: findings[1] (id 'bb'): parent: the parent chain bb -> aa -> bb comes back "
            "on itself",
        ),
        (
            "self.yaml",
            "findings:\n  - id: aa\n    name: aa thing\n    parent: aa\n",
            "findings[0] (id 'aa'): parent: the parent chain aa -> aa comes back on itself",
        ),
        (
            "toplist.yaml",
            "- id: aa\n  name: aa\n",
            'is an array, expected an object with "findings"',
        ),
        ("empty.yaml", "", 'is empty, expected an object with "findings"'),
        (
            "bool.json",
            '{"findings": [{"id": "aa", "name": true}]}',
            "findings[0] (id 'aa'): name: Input should be a valid string (got a boolean)",
        ),
        # YAML 1.1 reads an unquoted yes / no / on / off as a boolean
        (
            "bool.yaml",
            "findings:\n  - id: aa\n    name: aa thing\n    synonyms: [on]\n",
            "findings[0] (id 'aa'): synonyms[0]: Input should be a valid string (got a boolean: "
            "YAML reads an unquoted yes, no, on or off as true or false; quote the word)",
        ),
        ("scalar.json", "5", 'is a number, expected an object with "findings"'),
    ],
)
def test_a_bad_file_is_one_clear_line(tmp_path: Path, name: str, text: str, expected: str) -> None:
    message = _error_of(tmp_path, name, text)
    path = tmp_path / name
    assert message == f"{path}: " + expected.replace("{path}", str(path))
    assert "_Outline" not in message


def test_a_cycle_through_a_packaged_finding_names_the_entry() -> None:
    doc = parse_user_vocabulary(
        {"findings": [{"id": "lung_abnormality", "parent": "lung_opacity"}]}, "mine.yaml"
    )
    with pytest.raises(VocabularyError) as err:
        extend_vocabulary(load_vocabulary(), doc, "mine.yaml")
    assert str(err.value).startswith(
        "mine.yaml: findings[0] (id 'lung_abnormality'): parent: the parent chain "
        "lung_abnormality -> lung_opacity -> "
    )


def test_an_error_of_a_users_file_is_an_input_error(tmp_path: Path) -> None:
    message = _error_of(tmp_path, "latin1.yaml", b"findings:\n  - id: aa\n    name: caf\xe9\n")
    assert message == f"{tmp_path / 'latin1.yaml'}: not UTF-8 text"
    with pytest.raises(InputError):
        extended_vocabulary(tmp_path / "latin1.yaml")
    with pytest.raises(InputError):
        parse_user_vocabulary({"findings": [{"id": "x"}], "extra": 1}, "mine.yaml")


# -- property tests -------------------------------------------------------------------

_KEYS = ["id", "name", "synonyms", "parent", "chexpert", "cxr14", "role", "abnormal", "x"]
_WORDS = ["sarcoid", "effusion", "lung_opacity", "Edema", "diagnosis", "", " ", "a b", "Ünï"]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.sampled_from(_WORDS),
    st.text(max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)
_entries = st.dictionaries(st.sampled_from(_KEYS), _values, max_size=8) | _values
_documents = st.one_of(
    _values,
    st.fixed_dictionaries(
        {"findings": st.lists(_entries, max_size=6)},
        optional={
            "remove_terms": st.lists(st.sampled_from(_WORDS) | _values, max_size=3),
            "version": _values,
            "description": _values,
        },
    ),
)


def _merged(raw: Any) -> None:
    doc = parse_user_vocabulary(raw, "mine.yaml")
    extend_vocabulary(load_vocabulary(), doc, "mine.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_any_parsed_document_merges_or_raises_an_input_error(raw: Any) -> None:
    try:
        _merged(raw)
    except InputError as exc:
        assert str(exc).startswith("mine.yaml")
        assert "Traceback" not in str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        _documents.map(lambda d: json.dumps(d, allow_nan=True)),
    ),
    st.sampled_from([".yaml", ".json", ".yml"]),
)
def test_any_file_content_merges_or_raises_an_input_error(
    content: str | bytes, suffix: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mine{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            extended_vocabulary(path)
        except InputError as exc:
            assert str(exc).startswith(str(path))
