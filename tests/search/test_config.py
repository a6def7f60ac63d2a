"""The search data files load strictly: a typo in a tuning file fails loudly."""

from __future__ import annotations

import pytest

from radpilot.errors import VocabularyError
from radpilot.reports.models import Change, Laterality
from radpilot.search import config


def test_packaged_files_load() -> None:
    r = config.ranking()
    assert r.status_base["present"] > r.status_base["uncertain"] > 0
    qw = config.query_words()
    assert qw.laterality["bilat"] is Laterality.BILATERAL
    assert qw.change["unchanged"] is Change.STABLE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": 1, "b": 2, "typo": 3}, "unknown key(s) typo; allowed: a, b"),
        ({"a": 1}, "missing key(s) b"),
        ({"_about": "x", "a": 1, "b": 2}, None),
    ],
)
def test_check_keys(data: dict, message: str | None) -> None:
    if message is None:
        config._check_keys("f.json", data, {"a", "b"})
        return
    with pytest.raises(VocabularyError) as exc:
        config._check_keys("f.json", data, {"a", "b"})
    assert message in str(exc.value) and str(exc.value).startswith("f.json")


def test_bad_modifier_value_is_a_vocabulary_error(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"laterality": {"up": ["up"]}, "change": {}, "stopwords": []}
    monkeypatch.setattr(config, "_load", lambda name: bad)
    config.query_words.cache_clear()
    try:
        with pytest.raises(VocabularyError, match=r"query_words\.json"):
            config.query_words()
    finally:
        config.query_words.cache_clear()
