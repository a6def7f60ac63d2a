"""What an exporter reads: a dataset's items, answers and final labels, read once, with
the optional de-identifier applied to every id, text and date it hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from radpilot.datasets.agreement import Resolution, resolve
from radpilot.datasets.models import Annotation, Dataset, Item
from radpilot.datasets.store import DatasetStore


class Deidentifier(Protocol):
    def pseudonym(self, kind: str, value: str) -> str: ...

    def text(self, value: str, known: tuple[str, ...]) -> str: ...


@dataclass
class Bundle:
    """Everything an exporter needs, read once."""

    dataset: Dataset
    items: list[Item]
    annotations: list[Annotation]
    resolution: Resolution
    deid: Deidentifier | None = None
    assignments: dict[str, Any] = field(default_factory=dict)  # store.assignments(...)
    problems: list[str] = field(default_factory=list)

    def ref(self, item: Item) -> str:
        return item.ref if self.deid is None else self.deid.pseudonym("rp", item.ref)

    def text(self, item: Item) -> str:
        if self.deid is None:
            return item.text
        # The patient id first: the de-identifier keys its date shift on it.
        known = tuple(
            v for v in (item.meta.get("patient_id"), item.ref) if isinstance(v, str) and v
        )
        return self.deid.text(item.text, known)

    def meta(self, item: Item) -> dict[str, Any]:
        meta = dict(item.meta)
        if self.deid is None:
            return meta
        for key, kind in (
            ("patient_id", "pt"),
            ("study_uid", "st"),
            ("series_uid", "se"),
            ("sop_uid", "so"),
        ):
            if isinstance(meta.get(key), str):
                meta[key] = self.deid.pseudonym(kind, meta[key])
        for key in ("study_date",):
            if isinstance(meta.get(key), str):
                meta[key] = meta[key][:4]
        return meta

    def file_stem(self, item: Item) -> str:
        """A file name for the item's image in an export (the position keeps it unique)."""
        stem = Path(item.ref).stem if self.deid is None else self.deid.pseudonym("im", item.ref)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80]
        return f"{item.position:05d}_{safe}"

    def labels(self, item: Item) -> dict[str, float | None]:
        final = self.resolution.labels[item.id]
        return {name: final.get(name) for name in self.dataset.labels}


def bundle(store: DatasetStore, name: str, deid: Deidentifier | None = None) -> Bundle:
    ds = store.get(name)
    items = store.items(ds)
    annotations = store.annotations(ds)
    return Bundle(ds, items, annotations, resolve(items, annotations), deid, store.assignments(ds))
