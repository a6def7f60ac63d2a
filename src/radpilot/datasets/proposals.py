"""radpilot's proposals for an item: report labels with their evidence spans, image
findings with their score and heatmap box.

A report's proposals are exactly the labels ``radpilot label`` writes for it (same label
set, same uncertainty policy, same 100,000-character reading limit): one proposal per label
with a value, in the label set's column order, each with the spans of the mentions that set
it. So a dataset nobody has annotated exports radpilot's own labels, row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from radpilot.datasets.models import Box, DatasetError, Evidence, Proposal
from radpilot.reports import read
from radpilot.reports.labels import counted, label, label_set, rollup
from radpilot.reports.labelsets import LabelSet
from radpilot.reports.models import Certainty, Report
from radpilot.reports.policy import DEFAULT_POLICY, UncertaintyPolicy
from radpilot.reports.vocabulary import Vocabulary, vocabulary_of

MAX_REPORT_CHARS = 100_000  # what `radpilot label` reads of a report
_VALUE = {Certainty.PRESENT: 1.0, Certainty.UNCERTAIN: -1.0, Certainty.ABSENT: 0.0}
_RANK = {None: 0, 0.0: 1, -1.0: 2, 1.0: 3}  # positive beats uncertain beats negative


@dataclass(frozen=True)
class Labelling:
    """How report proposals are made: a packaged label set, or a vocabulary file's own
    findings (``--labels VOCAB``: one label per finding id the file names)."""

    name: str
    labels: tuple[str, ...]
    label_set: LabelSet | None = None
    vocabulary: Vocabulary | None = None
    policy: UncertaintyPolicy = DEFAULT_POLICY

    @cached_property
    def _wanted(self) -> frozenset[str]:
        return frozenset(self.labels)


def labelling(name: str) -> Labelling:
    """``chexpert``, ``chestxray14`` (any registered label set), or a vocabulary file."""
    path = Path(name)
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        from radpilot.reports.uservocab import extended_vocabulary, load_user_vocabulary

        if not path.is_file():
            raise DatasetError(f"{path}: no such vocabulary file")
        doc = load_user_vocabulary(path)
        ids = tuple(dict.fromkeys(f.id for f in doc.findings))
        if not ids:
            raise DatasetError(f"{path}: names no findings to label")
        return Labelling(path.name, ids, vocabulary=extended_vocabulary(path))
    ls = label_set(name)
    return Labelling(ls.name, ls.labels, label_set=ls)


def report_proposals(text: str, how: Labelling) -> tuple[Proposal, ...]:
    report = read(text[:MAX_REPORT_CHARS], vocabulary=how.vocabulary)
    if how.label_set is None:
        return _finding_proposals(report, how)
    values = label(report, how.label_set, policy=how.policy)
    vocab = vocabulary_of(report)
    evidence: dict[str, list[Evidence]] = {}
    hedged: set[str] = set()
    for m in how.policy.select(report, counted(report), vocab):
        for name, _value in rollup(m, how.label_set, vocab):
            ev = Evidence(m.span.start, m.span.end, m.certainty.value, m.finding)
            evidence.setdefault(name, []).append(ev)
            if m.certainty is Certainty.UNCERTAIN:
                hedged.add(name)
    return tuple(
        Proposal(name, v, "reader", tuple(evidence.get(name, ())), hedged=name in hedged)
        for name, v in values.items()
        if v is not None
    )


def _finding_proposals(report: Report, how: Labelling) -> tuple[Proposal, ...]:
    values: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}
    for m in counted(report):
        if m.finding not in how._wanted:
            continue
        v = _VALUE[m.certainty]
        if _RANK[v] > _RANK[values.get(m.finding)]:
            values[m.finding] = v
        ev = Evidence(m.span.start, m.span.end, m.certainty.value, m.finding)
        evidence.setdefault(m.finding, []).append(ev)
    return tuple(
        Proposal(f, values[f], "reader", tuple(evidence[f]), hedged=values[f] == -1.0)
        for f in how.labels
        if f in values
    )


@dataclass(frozen=True, slots=True)
class ImageProposals:
    path: str
    proposals: tuple[Proposal, ...]
    meta: dict[str, object]
    error: str | None = None


def image_proposals(
    paths: Sequence[Path], *, boxes: bool, model: str | None = None
) -> list[ImageProposals]:
    """One entry per image file, in order: every model finding as a proposal (positive
    1.0 / negative 0.0, with its probability and threshold); with ``boxes``, a heatmap box
    on every finding, else on the positive ones."""
    from radpilot.imaging.analyze import analyze
    from radpilot.imaging.results import meta_dict

    out: list[ImageProposals] = []
    for r in analyze(paths, model=model, all_heatmaps=boxes):
        meta: dict[str, object] = {"model": r.model}
        if r.meta is not None:
            meta.update(meta_dict(r.meta))
        props = tuple(
            Proposal(
                f.name,
                1.0 if f.positive else 0.0,
                "image",
                score=float(f.probability),
                threshold=float(f.threshold),
                box=None if f.box is None else Box(f.box.x, f.box.y, f.box.width, f.box.height),
            )
            for f in r.findings
        )
        out.append(ImageProposals(r.path, props, meta, r.error))
    return out
