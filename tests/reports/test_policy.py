"""radpilot's uncertainty policy for report-level labels, pinned by hand-written cases.

``regression_policy.jsonl`` holds one case per line: ``expect`` is what ``chexpert(report)``
gives under the default ``radpilot`` policy, ``chexpert`` (optional) what the CheXpert
labeler's convention gives (``policy="chexpert"``), ``hedge`` (optional) the hedge kind of
some mention of a finding id. The expectations follow the policy's stated rule (labels.py,
rule 4), written from radiology, not from the implementation:

* hypothesis: a diagnosis offered as a possible explanation of an observation the report
  states is no label of its own (blank), and the observation keeps its label;
* hedged-observation: a hedged observation stays -1.0;
* leaning: a diagnosis the radiologist leans towards or names as one of two alternatives
  stays -1.0;
* no-observation: a possibility stated with nothing to explain stays -1.0;
* definite: 1.0; negated: 0.0.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from radpilot.cli import app
from radpilot.errors import InputError
from radpilot.reports import read
from radpilot.reports.labels import (
    CHEXPERT_LABELS,
    DEFAULT_POLICY,
    UncertaintyPolicy,
    chestxray14,
    chexpert,
    uncertainty_policy,
)
from radpilot.reports.models import Certainty, Hedge, Mention, Report, Sentence, Span

CASES_FILE = Path(__file__).resolve().parent / "regression_policy.jsonl"
KINDS = ("hypothesis", "hedged-observation", "leaning", "no-observation", "definite", "negated")
MIN_PER_KIND = 2
_REQUIRED = {"id", "kind", "text", "expect"}
_OPTIONAL = {"chexpert", "hedge", "note"}


class CaseError(ValueError):
    pass


@dataclass(frozen=True)
class PolicyCase:
    id: str
    kind: str
    text: str
    expect: dict[str, float | None]
    chexpert: dict[str, float | None]
    hedge: dict[str, str]


def _labels(raw: Any, where: str, key: str) -> dict[str, float | None]:
    if not isinstance(raw, dict) or not raw:
        raise CaseError(f"{where}: {key} must be a non-empty object")
    for name, value in raw.items():
        if name not in CHEXPERT_LABELS:
            raise CaseError(f"{where}: {key}: unknown label {name!r}")
        if isinstance(value, bool) or value not in (1.0, 0.0, -1.0, None):
            raise CaseError(f"{where}: {key}: {name} {value!r} is not one of 1.0, 0.0, -1.0, null")
    return raw


def parse_case(row: Any, where: str) -> PolicyCase:
    if not isinstance(row, dict):
        raise CaseError(f"{where}: a case must be a JSON object")
    unknown = sorted(set(row) - _REQUIRED - _OPTIONAL)
    missing = sorted(_REQUIRED - set(row))
    if unknown or missing:
        allowed = ", ".join(sorted(_REQUIRED | _OPTIONAL))
        raise CaseError(
            f"{where}: unknown {unknown} / missing {missing} key(s); allowed: {allowed}"
        )
    if not isinstance(row["id"], str) or not re.fullmatch(r"[a-z]+-\d\d", row["id"]):
        raise CaseError(f"{where}: id must look like 'hyp-01'")
    if row["kind"] not in KINDS:
        raise CaseError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    if not isinstance(row["text"], str) or not row["text"].strip():
        raise CaseError(f"{where}: text must be a non-empty string")
    hedge = row.get("hedge", {})
    kinds = [h.value for h in Hedge]
    if not isinstance(hedge, dict) or not all(v in kinds for v in hedge.values()):
        raise CaseError(f"{where}: hedge must map finding ids to one of {', '.join(kinds)}")
    return PolicyCase(
        row["id"],
        row["kind"],
        row["text"],
        _labels(row["expect"], where, "expect"),
        _labels(row["chexpert"], where, "chexpert") if "chexpert" in row else {},
        hedge,
    )


def load_cases(path: Path) -> list[PolicyCase]:
    cases: list[PolicyCase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CaseError(f"{where}: not valid JSON ({err.msg})") from None
        case = parse_case(row, where)
        if any(c.id == case.id for c in cases):
            raise CaseError(f"{where}: duplicate id {case.id!r}")
        cases.append(case)
    return cases


CASES = load_cases(CASES_FILE)


@cache
def _read(text: str) -> Report:
    return read(text)


def _show(report: Report) -> str:
    return "\n".join(
        f"    {m.finding}: {m.certainty.value} hedge={m.hedge} cues={list(m.cues)}"
        for m in report.mentions
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_policy_case(case: PolicyCase) -> None:
    report = _read(case.text)
    problems = []
    for policy, expect in (("radpilot", case.expect), ("chexpert", case.chexpert)):
        got = chexpert(report, policy=policy)
        problems += [
            f"  {policy}: {name} expected {want}, got {got[name]}"
            for name, want in expect.items()
            if got[name] != want
        ]
    for finding, kind in case.hedge.items():
        hedges = [
            m.hedge.value if m.hedge else None for m in report.mentions if m.finding == finding
        ]
        if kind not in hedges:
            problems.append(f"  hedge of {finding}: expected {kind}, got {hedges}")
    if problems:
        pytest.fail(
            f"[{case.kind}] {case.text!r}\n" + "\n".join(problems) + "\n" + _show(report),
            pytrace=False,
        )


def test_every_kind_is_pinned() -> None:
    assert len(CASES) >= 15
    for kind in KINDS:
        assert sum(c.kind == kind for c in CASES) >= MIN_PER_KIND, kind


def test_policy_never_changes_the_mentions() -> None:
    """The evidence stays in the mention: the policy only decides what becomes a label."""
    report = _read("Right basilar opacity, may represent pneumonia.")
    pneumonia = [m for m in report.mentions if m.finding == "pneumonia"]
    assert [(m.certainty, m.hedge, m.cues) for m in pneumonia] == [
        (Certainty.UNCERTAIN, Hedge.POSSIBLE, ("may represent",))
    ]
    assert pneumonia[0].to_dict()["hedge"] == "possible"
    assert chexpert(report)["Pneumonia"] is None
    assert chestxray14(report)["Pneumonia"] is None
    assert chestxray14(report, policy="chexpert")["Pneumonia"] == -1.0


def test_default_policy_is_radpilot() -> None:
    assert DEFAULT_POLICY is UncertaintyPolicy.RADPILOT
    report = _read("Patchy left lower lobe airspace disease, concerning for pneumonia.")
    assert chexpert(report) == chexpert(report, policy=UncertaintyPolicy.RADPILOT)


P, U = Certainty.PRESENT, Certainty.UNCERTAIN
_OPACITY = ("lung_opacity", P, None, 0)


@pytest.mark.parametrize(
    ("mentions", "label", "value", "strict"),
    [
        # Hand-built reports test the rule apart from the reader. The last number is the
        # sentence a mention sits in; "gap" is a sentence with no finding in it.
        ([_OPACITY, ("pneumonia", U, Hedge.POSSIBLE, 0)], "Pneumonia", None, -1.0),
        ([_OPACITY, ("pneumonia", U, Hedge.PROBABLE, 0)], "Pneumonia", -1.0, -1.0),
        ([_OPACITY, ("pneumonia", U, Hedge.ALTERNATIVE, 0)], "Pneumonia", -1.0, -1.0),
        ([_OPACITY, ("pneumonia", U, Hedge.POSSIBLE, 2)], "Pneumonia", None, -1.0),
        ([("pneumonia", U, Hedge.POSSIBLE, 0)], "Pneumonia", -1.0, -1.0),  # nothing to explain
        ([("picc", P, None, 0), ("pneumonia", U, Hedge.POSSIBLE, 0)], "Pneumonia", -1.0, -1.0),
        ([_OPACITY, ("infection", P, None, 1)], "Pneumonia", None, 1.0),
        ([("infection", P, None, 0)], "Pneumonia", 1.0, 1.0),
        ([_OPACITY, ("nodule", U, Hedge.POSSIBLE, 0)], "Lung Lesion", None, -1.0),
        ([_OPACITY, ("nodule", U, Hedge.POSSIBLE, 1)], "Lung Lesion", None, -1.0),
        ([_OPACITY, ("gap", P, None, 1), ("nodule", U, Hedge.POSSIBLE, 2)], "Lung Lesion", -1.0, -1.0),
        ([("nodule", P, None, 0), ("nodule", U, Hedge.POSSIBLE, 1)], "Lung Lesion", 1.0, 1.0),
        ([("nodule", U, Hedge.POSSIBLE, 0), ("nodule", U, Hedge.POSSIBLE, 1)], "Lung Lesion", -1.0, -1.0),
    ],
)  # fmt: skip
def test_policy_rule_on_hand_built_reports(
    mentions: list[tuple[str, Certainty, Hedge | None, int]],
    label: str,
    value: float | None,
    strict: float,
) -> None:
    sentences = tuple(Sentence("findings", 10 * n, 10 * n + 9, "x") for *_, n in mentions)
    built = tuple(
        Mention(f, c, Span(10 * n, 10 * n + 1, "x"), Span(10 * n, 10 * n + 9, "x"), "findings",
                hedge=h)
        for f, c, h, n in mentions
        if f != "gap"
    )  # fmt: skip
    report = Report(text="x" * 100, sentences=sentences, mentions=built)
    assert chexpert(report)[label] == value
    assert chexpert(report, policy="chexpert")[label] == strict


@pytest.mark.parametrize("name", ["", "CheXpert", "strict", "none"])
def test_unknown_policy_lists_the_valid_ones(name: str) -> None:
    with pytest.raises(
        InputError, match=r"unknown uncertainty policy .*; valid: radpilot, chexpert"
    ):
        uncertainty_policy(name)
    with pytest.raises(InputError):
        chexpert(_read("Possible pneumonia."), policy=name)


_DEF = {"id": "def-99", "kind": "definite", "text": "x", "expect": {"Edema": 1.0}}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "hyp-99", "kind": "hypothesis", "text": "x"}, "missing ['expect']"),
        (
            {"id": "hyp-99", "kind": "maybe", "text": "x", "expect": {"Edema": 1.0}},
            "kind 'maybe' is not one of",
        ),
        ({"id": "Bad", "kind": "definite", "text": "x", "expect": {"Edema": 1.0}}, "id must"),
        (
            {"id": "def-99", "kind": "definite", "text": "x", "expect": {"Oedema": 1.0}},
            "unknown label 'Oedema'",
        ),
        (
            {"id": "def-99", "kind": "definite", "text": "x", "expect": {"Edema": 0.5}},
            "0.5 is not one of",
        ),
        (
            {"id": "def-99", "kind": "definite", "text": "x", "expect": {"Edema": 1.0}, "x": 1},
            "unknown ['x']",
        ),
        (
            {**_DEF, "hedge": {"edema": "maybe"}},
            "hedge must map",
        ),
        ([], "must be a JSON object"),
    ],
)
def test_case_loader_rejects(row: Any, message: str) -> None:
    with pytest.raises(CaseError, match=re.escape(message)):
        parse_case(row, "regression_policy.jsonl:3")


_TEXT = (
    "FINDINGS: Right basilar opacity. IMPRESSION: Right basilar opacity, may represent pneumonia."
)


@pytest.mark.parametrize(
    ("args", "pneumonia"),
    [([], ""), (["--uncertainty", "radpilot"], ""), (["--uncertainty", "chexpert"], "-1.0")],
)
def test_label_cli_uncertainty_option(tmp_path: Path, args: list[str], pneumonia: str) -> None:
    src = tmp_path / "reports.csv"
    src.write_text(f'"{_TEXT}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["label", str(src), "-q", *args])
    assert result.exit_code == 0, result.output
    header, row = csv.reader(io.StringIO(result.stdout))
    values = dict(zip(header, row, strict=True))
    assert values["Pneumonia"] == pneumonia
    assert values["Lung Opacity"] == "1.0"


def test_label_cli_rejects_an_unknown_policy(tmp_path: Path) -> None:
    src = tmp_path / "reports.csv"
    src.write_text(f'"{_TEXT}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["label", str(src), "--uncertainty", "strict"])
    assert result.exit_code == 2
