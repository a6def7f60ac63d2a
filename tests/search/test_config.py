"""The search data files load strictly (radpilot.datafiles): a typo in a tuning file fails
loudly, naming the file, the key path and the allowed keys."""

from __future__ import annotations

import copy

import pytest

from radpilot.datafiles import parse
from radpilot.errors import VocabularyError
from radpilot.reports.models import Change, Laterality
from radpilot.search import config


def test_packaged_files_load() -> None:
    r = config.ranking()
    assert r.status_base.present > r.status_base.uncertain > 0
    qw = config.query_words()
    assert qw.change["unchanged"] is Change.STABLE
    assert qw.change["worsening"] is Change.WORSE


def test_laterality_is_the_readers() -> None:
    from radpilot.reports.rules import modifiers

    qw = config.query_words()
    reader = modifiers().laterality
    assert {k: v.value for k, v in qw.laterality.items()} == dict(reader)
    assert (
        qw.laterality["left"] is Laterality.LEFT
        and qw.laterality["both lungs"] is Laterality.BILATERAL
    )
    assert qw.longest_laterality == max(len(k.split()) for k in reader)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["bonus"].update(typo=1),
            "radpilot/search/data/ranking.json: bonus.typo: unknown key; allowed: "
            "historical_penalty, impression, literal, max_extra_mentions, per_extra_mention",
        ),
        (lambda d: d["weights"].pop("lexical"), "weights.lexical: missing key"),
        (
            lambda d: d.update(candidates=0),
            "candidates: Input should be greater than or equal to 1",
        ),
        (
            lambda d: d["hedge"].update(possible="much"),
            "hedge.possible: Input should be a valid number",
        ),
    ],
)
def test_ranking_file_is_strict(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(config.RANKING.raw())
    edit(raw)
    with pytest.raises(VocabularyError) as exc:
        parse(raw, config.RankingFile, config.RANKING.where)
    assert message in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(laterality={"left": ["left"]}), "laterality: unknown key; allowed:"),
        (lambda d: d["change"].update(sideways=["askew"]), "change.sideways"),
    ],
)
def test_query_words_file_is_strict(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(config.QUERY_WORDS.raw())
    edit(raw)
    with pytest.raises(VocabularyError) as exc:
        parse(raw, config.QueryWordsFile, config.QUERY_WORDS.where)
    assert message in str(exc.value)
