"""Who annotates what: every item to each annotator, or each item to ``per_item`` of them
in turn; an adjudicator gets the items its annotators disagree on."""

from __future__ import annotations

from collections.abc import Sequence

from radpilot.datasets.agreement import disagreements
from radpilot.datasets.models import Dataset, DatasetError, Role
from radpilot.datasets.store import DatasetStore

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= _NAME_OK:
        raise DatasetError(f"{name!r}: an annotator name is letters, digits and . _ - @")
    if name == "radpilot":
        raise DatasetError("'radpilot' names the proposals; choose another annotator name")
    return name


def assign(
    store: DatasetStore, ds: Dataset, annotators: Sequence[str], *, per_item: int | None = None
) -> dict[str, int]:
    """annotator -> items newly assigned. ``per_item``: how many annotators see each item
    (round robin over the items); None: all of them."""
    names = [check_name(a) for a in annotators]
    if not names:
        raise DatasetError("name at least one annotator")
    if per_item is not None and not 1 <= per_item <= len(names):
        raise DatasetError(f"--per-item must be between 1 and {len(names)}")
    ids = [it.id for it in store.items(ds)]
    k = per_item or len(names)
    plan: dict[str, list[int]] = {n: [] for n in names}
    for pos, item_id in enumerate(ids):
        for j in range(k):
            plan[names[(pos + j) % len(names)]].append(item_id)
    return {n: store.assign(ds, n, plan[n], Role.ANNOTATOR) for n in names}


def assign_adjudicator(store: DatasetStore, ds: Dataset, name: str) -> int:
    """Give a third reader the items with disagreements; how many were new."""
    check_name(name)
    if name in store.assignments(ds) and store.assignments(ds)[name][0] is Role.ANNOTATOR:
        raise DatasetError(f"{name!r} annotates this dataset; an adjudicator is a third reader")
    todo = disagreements(store.items(ds), store.annotations(ds))
    return store.assign(ds, name, todo, Role.ADJUDICATOR)
