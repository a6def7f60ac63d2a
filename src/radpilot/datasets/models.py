"""The dataset builder's value types: a dataset, its items with radpilot's proposals, and
an annotator's answer to one item.

A proposal is one label radpilot offers for an item (a report-level label with the text
spans that gave it, or an image finding with its score and heatmap box); an annotator
answers each with a decision. The answer's labels are the proposals' values after the
decisions, so an item nobody annotated still has radpilot's own labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from radpilot.errors import InputError


class DatasetError(InputError):
    """A dataset that cannot be used as asked (unknown name, name taken, bad answer);
    the message names the dataset, item or field, never report text."""


class Task(StrEnum):
    REPORT_LABELS = "report-labels"
    IMAGE_FINDINGS = "image-findings"
    IMAGE_REGIONS = "image-regions"

    @property
    def on_images(self) -> bool:
        return self is not Task.REPORT_LABELS


class ItemKind(StrEnum):
    REPORT = "report"
    IMAGE = "image"
    PAIR = "pair"  # a report and its image


class Action(StrEnum):
    ACCEPT = "accept"  # the proposal stands
    FLIP = "flip"  # the next certainty (present -> uncertain -> absent; image: +/-)
    REJECT = "reject"  # the proposal is wrong: no such label for this item
    ADD = "add"  # a label radpilot did not propose
    BOX = "box"  # the proposal stands with the box the annotator drew


class Role(StrEnum):
    ANNOTATOR = "annotator"
    ADJUDICATOR = "adjudicator"  # a third reader who settles disagreements


LabelValue = float | None  # 1.0 present, 0.0 absent, -1.0 uncertain, None no label
VALUES: tuple[LabelValue, ...] = (1.0, 0.0, -1.0, None)
_FLIP_TEXT: dict[LabelValue, LabelValue] = {1.0: -1.0, -1.0: 0.0, 0.0: 1.0, None: 1.0}
_FLIP_IMAGE: dict[LabelValue, LabelValue] = {1.0: 0.0, 0.0: 1.0, -1.0: 1.0, None: 1.0}


def flipped(value: LabelValue, *, on_image: bool) -> LabelValue:
    """The certainty after one flip: text labels cycle present -> uncertain -> absent;
    an image finding is positive or negative."""
    return (_FLIP_IMAGE if on_image else _FLIP_TEXT)[value]


@dataclass(frozen=True, slots=True)
class Box:
    """x = column, y = row of the top-left corner, in the source image's pixels."""

    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, obj: Any, where: str) -> Box:
        if not isinstance(obj, dict) or set(obj) != {"x", "y", "width", "height"}:
            raise DatasetError(f"{where}: a box is {{x, y, width, height}}")
        vals = [obj[k] for k in ("x", "y", "width", "height")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vals):
            raise DatasetError(f"{where}: box values must be non-negative integers")
        if vals[2] < 1 or vals[3] < 1:
            raise DatasetError(f"{where}: a box is at least 1 x 1 pixel")
        return cls(*vals)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A text span that gave a proposal (character offsets into the item's text)."""

    start: int
    end: int
    certainty: str  # the mention's: present, absent, uncertain
    finding: str  # vocabulary id


@dataclass(frozen=True, slots=True)
class Proposal:
    label: str
    value: LabelValue
    source: str  # "reader" or "image"
    evidence: tuple[Evidence, ...] = ()
    score: float | None = None  # image model probability
    threshold: float | None = None
    box: Box | None = None
    hedged: bool = False  # a mention behind it is uncertain


@dataclass(frozen=True, slots=True)
class Item:
    id: int  # the store's key
    position: int  # 1-based, the order the items were added (exports keep it)
    kind: ItemKind
    ref: str  # the report id or the image file name
    text: str = ""
    image: str | None = None  # path of the image (an image or pair item)
    meta: dict[str, Any] = field(default_factory=dict)  # image size, patient id, study uid
    proposals: tuple[Proposal, ...] = ()

    def radpilot_labels(self, source: str | None = None) -> dict[str, LabelValue]:
        """radpilot's own value per proposed label (``source``: only the reader's or the
        image model's). On a report+image pair the reader's value is radpilot's label and
        the image model's only fills labels the reader left blank, so a pair exports what
        ``radpilot label`` writes for its report."""
        out: dict[str, LabelValue] = {}
        for p in sorted(self.proposals, key=lambda p: p.source != "reader"):
            if (source is None or p.source == source) and p.label not in out:
                out[p.label] = p.value
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    proposal: int  # index into the item's proposals; -1 for an added label
    action: Action
    label: str
    value: LabelValue
    box: Box | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    item_id: int
    annotator: str
    role: Role
    decisions: tuple[Decision, ...]
    seconds: float  # time on the item, as the page measured it
    created_at: str = ""

    def labels(self, item: Item) -> dict[str, LabelValue]:
        """The answer: every proposal's value after its decision, plus added labels."""
        out = item.radpilot_labels()
        for d in self.decisions:
            out[d.label] = d.value
        return out

    def boxes(self, item: Item) -> dict[str, Box]:
        out = {p.label: p.box for p in item.proposals if p.box is not None}
        for d in self.decisions:
            if d.box is not None:
                out[d.label] = d.box
            elif d.action is Action.REJECT or d.value in (0.0, None):
                out.pop(d.label, None)
        return out


@dataclass(frozen=True, slots=True)
class Dataset:
    id: int
    name: str
    task: Task
    label_set: str  # chexpert, chestxray14, or a vocabulary file's name
    labels: tuple[str, ...]  # the columns of its exports, in order
    source: str  # where the items came from (a query or file names), for the datasheet
    licence: str
    created_at: str
    annotators: tuple[str, ...] = ()

    def with_annotators(self, names: tuple[str, ...]) -> Dataset:
        return replace(self, annotators=names)


def decide(item: Item, index: int, action: Action, *, box: Box | None = None) -> Decision:
    """One decision on proposal ``index`` of ``item`` (not for ``ADD``)."""
    if not 0 <= index < len(item.proposals):
        raise DatasetError(f"item {item.position}: no proposal {index}")
    p = item.proposals[index]
    if action is Action.ACCEPT:
        return Decision(index, action, p.label, p.value)
    if action is Action.FLIP:
        return Decision(index, action, p.label, flipped(p.value, on_image=p.source == "image"))
    if action is Action.REJECT:
        return Decision(index, action, p.label, None)
    if action is Action.BOX:
        if box is None:
            raise DatasetError(f"item {item.position}: a box decision needs the box")
        value = p.value if p.value not in (None, 0.0) else 1.0
        return Decision(index, action, p.label, value, box)
    raise DatasetError(f"item {item.position}: '{action}' is not a decision on a proposal")
