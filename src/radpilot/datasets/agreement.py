"""Agreement and the dataset's final labels.

Per label: Cohen's kappa for every pair of annotators (on the items both answered) and for
each annotator against radpilot's proposals, and Fleiss' kappa over the items every
annotator answered (``radpilot.evaluate.agreement``). A label's value is one of four
categories: present, absent, uncertain, or no label.

The final label of an item: the adjudicator's answer when a third reader gave one; else
the annotators' value when they agree (or the majority's, when there is one); else, an
unresolved disagreement: radpilot's proposal stands and the item is listed for
adjudication. An item nobody answered keeps radpilot's labels.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from radpilot.datasets.models import Annotation, Dataset, Item, LabelValue, Role
from radpilot.evaluate.agreement import cohen_kappa_score, fleiss_kappa_score, rating_counts

RADPILOT = "radpilot"
_CODE = {1.0: "present", 0.0: "absent", -1.0: "uncertain", None: "blank"}


@dataclass(frozen=True, slots=True)
class Kappa:
    label: str
    raters: tuple[str, ...]  # two names (Cohen) or every annotator (Fleiss)
    kind: str  # "cohen" or "fleiss"
    items: int
    kappa: float  # NaN where chance agreement is total

    def to_dict(self) -> dict[str, object]:
        k = None if math.isnan(self.kappa) else round(self.kappa, 4)
        return {
            "label": self.label,
            "raters": list(self.raters),
            "kind": self.kind,
            "items": self.items,
            "kappa": k,
        }


@dataclass(frozen=True, slots=True)
class Resolution:
    labels: dict[int, dict[str, LabelValue]]  # item id -> label -> final value
    how: dict[
        int, str
    ]  # item id -> radpilot | annotator | agreed | majority | adjudicated | disputed
    disputed: tuple[int, ...]  # item ids awaiting a third reader


def answers(
    items: Sequence[Item], annotations: Sequence[Annotation], role: Role | None = Role.ANNOTATOR
) -> dict[str, dict[int, dict[str, LabelValue]]]:
    """annotator -> item id -> their labels (only ``role``'s answers; None: all)."""
    by_id = {it.id: it for it in items}
    out: dict[str, dict[int, dict[str, LabelValue]]] = {}
    for a in annotations:
        if (role is None or a.role is role) and a.item_id in by_id:
            out.setdefault(a.annotator, {})[a.item_id] = a.labels(by_id[a.item_id])
    return out


def kappa_table(
    dataset: Dataset, items: Sequence[Item], annotations: Sequence[Annotation]
) -> list[Kappa]:
    """Every label's Cohen's kappas (annotator pairs, each annotator vs radpilot) and,
    for two or more annotators, Fleiss' kappa; labels in the dataset's order."""
    got = answers(items, annotations)
    ours = {it.id: it.radpilot_labels() for it in items}
    raters = sorted(got)
    out: list[Kappa] = []
    for label in dataset.labels:
        for a, b in combinations(raters, 2):
            common = sorted(set(got[a]) & set(got[b]))
            if common:
                ka = [_CODE[got[a][i].get(label)] for i in common]
                kb = [_CODE[got[b][i].get(label)] for i in common]
                out.append(Kappa(label, (a, b), "cohen", len(common), cohen_kappa_score(ka, kb)))
        for a in raters:
            common = sorted(got[a])
            ka = [_CODE[got[a][i].get(label)] for i in common]
            kr = [_CODE[ours[i].get(label)] for i in common]
            out.append(Kappa(label, (a, RADPILOT), "cohen", len(common), cohen_kappa_score(ka, kr)))
        if len(raters) >= 2:
            every = sorted(set.intersection(*(set(got[r]) for r in raters)))
            if every:
                table = [[_CODE[got[r][i].get(label)] for r in raters] for i in every]
                k = fleiss_kappa_score(rating_counts(table))
                out.append(Kappa(label, tuple(raters), "fleiss", len(every), k))
    return out


def resolve(items: Sequence[Item], annotations: Sequence[Annotation]) -> Resolution:
    readers = answers(items, annotations, Role.ANNOTATOR)
    judges = answers(items, annotations, Role.ADJUDICATOR)
    labels: dict[int, dict[str, LabelValue]] = {}
    how: dict[int, str] = {}
    disputed: list[int] = []
    for it in items:
        ours = it.radpilot_labels()
        given = [r[it.id] for r in readers.values() if it.id in r]
        judged = [j[it.id] for j in judges.values() if it.id in j]
        if judged:
            labels[it.id], how[it.id] = judged[-1], "adjudicated"
            continue
        if not given:
            labels[it.id], how[it.id] = ours, RADPILOT
            continue
        names = list(dict.fromkeys([*ours, *(k for g in given for k in g)]))
        final: dict[str, LabelValue] = {}
        state = "annotator" if len(given) == 1 else "agreed"
        for name in names:
            votes = Counter(g.get(name) for g in given)
            (top, n), *rest = votes.most_common()
            if not rest:
                final[name] = top
            elif n > rest[0][1]:
                final[name], state = top, "majority" if state != "disputed" else state
            else:
                final[name], state = ours.get(name), "disputed"
        labels[it.id] = {k: v for k, v in final.items() if v is not None or k in ours}
        how[it.id] = state
        if state == "disputed":
            disputed.append(it.id)
    return Resolution(labels, how, tuple(disputed))


def disagreements(items: Sequence[Item], annotations: Sequence[Annotation]) -> list[int]:
    """Items whose annotators disagree on some label (for a third reader)."""
    return list(resolve(items, [a for a in annotations if a.role is Role.ANNOTATOR]).disputed)
