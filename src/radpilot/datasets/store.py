"""Where datasets live: the ``DatasetStore`` interface and its SQLite backend.

Datasets are kept in the archive's own database file, in tables of their own
(``dataset_*``), so a dataset built from archive reports travels with the archive. A new
file is made an archive first (``radpilot.search.open_store``), so `radpilot archive`
commands still recognise it. Callers use the Protocol only; another backend (PostgreSQL)
can be added without touching them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from radpilot.datasets.codec import (
    decisions_from_json,
    decisions_json,
    proposals_from_json,
    proposals_json,
)
from radpilot.datasets.models import (
    Annotation,
    Dataset,
    DatasetError,
    Item,
    ItemKind,
    Proposal,
    Role,
    Task,
)


@dataclass(frozen=True, slots=True)
class NewItem:
    kind: ItemKind
    ref: str
    text: str = ""
    image: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    proposals: tuple[Proposal, ...] = ()


class DatasetStore(Protocol):
    location: str

    def create(
        self,
        name: str,
        task: Task,
        label_set: str,
        labels: Sequence[str],
        source: str,
        licence: str,
    ) -> Dataset: ...

    def add_items(self, dataset: Dataset, items: Sequence[NewItem]) -> int: ...

    def get(self, name: str) -> Dataset:
        """The dataset called ``name``; ``DatasetError`` listing the names when absent."""
        ...

    def names(self) -> list[str]: ...

    def items(self, dataset: Dataset) -> list[Item]:
        """Every item, in the order it was added."""
        ...

    def item(self, dataset: Dataset, item_id: int) -> Item: ...

    def assign(self, dataset: Dataset, annotator: str, item_ids: Sequence[int], role: Role) -> int:
        """Give ``annotator`` these items (again: no change); how many were new."""
        ...

    def assignments(self, dataset: Dataset) -> dict[str, tuple[Role, list[int]]]:
        """annotator -> (role, item ids in item order)."""
        ...

    def save(self, dataset: Dataset, annotation: Annotation) -> None:
        """Store an annotator's answer to an assigned item (a later answer replaces it)."""
        ...

    def annotations(self, dataset: Dataset, annotator: str | None = None) -> list[Annotation]: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS dataset_sets (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, task TEXT NOT NULL,
    label_set TEXT NOT NULL, labels TEXT NOT NULL, source TEXT NOT NULL,
    licence TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dataset_items (
    id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES dataset_sets(id),
    position INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, text TEXT NOT NULL,
    image TEXT, meta TEXT NOT NULL, proposals TEXT NOT NULL,
    UNIQUE (dataset_id, position));
CREATE TABLE IF NOT EXISTS dataset_assignments (
    dataset_id INTEGER NOT NULL, annotator TEXT NOT NULL, item_id INTEGER NOT NULL,
    role TEXT NOT NULL, PRIMARY KEY (dataset_id, annotator, item_id));
CREATE TABLE IF NOT EXISTS dataset_annotations (
    dataset_id INTEGER NOT NULL, item_id INTEGER NOT NULL, annotator TEXT NOT NULL,
    role TEXT NOT NULL, decisions TEXT NOT NULL, seconds REAL NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (dataset_id, item_id, annotator));
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SQLiteDatasetStore:
    """``DatasetStore`` on the archive's SQLite file."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.location = str(path)
        if not readonly and not path.exists():
            from radpilot.search.store import open_store

            open_store(path, create=True).close()  # a real (empty) archive: one DB for both
        if not path.exists():
            raise DatasetError(f"{path}: no database here (create a dataset first)")
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            else:
                self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DatasetError(f"{path}: cannot hold datasets ({exc})") from None

    # ------------------------------------------------------------- datasets
    def create(
        self,
        name: str,
        task: Task,
        label_set: str,
        labels: Sequence[str],
        source: str,
        licence: str,
    ) -> Dataset:
        if self._db.execute("SELECT 1 FROM dataset_sets WHERE name = ?", (name,)).fetchone():
            raise DatasetError(f"dataset {name!r} exists already in {self.location}")
        with self._db:
            self._db.execute(
                "INSERT INTO dataset_sets (name, task, label_set, labels, source, licence, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, task.value, label_set, json.dumps(list(labels)), source, licence, _now()),
            )
        return self.get(name)

    def names(self) -> list[str]:
        try:
            rows = self._db.execute("SELECT name FROM dataset_sets ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # a read-only archive that never held datasets
            return []
        return [r[0] for r in rows]

    def get(self, name: str) -> Dataset:
        try:
            row = self._db.execute(
                "SELECT id, name, task, label_set, labels, source, licence, created_at "
                "FROM dataset_sets WHERE name = ?",
                (name,),
            ).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            known = ", ".join(self.names()) or "none yet"
            raise DatasetError(f"no dataset {name!r} in {self.location}; datasets: {known}")
        ds = Dataset(row[0], row[1], Task(row[2]), row[3], tuple(json.loads(row[4])), *row[5:])
        return ds.with_annotators(tuple(self.assignments(ds)))

    # ---------------------------------------------------------------- items
    def add_items(self, dataset: Dataset, items: Sequence[NewItem]) -> int:
        start = self._db.execute(
            "SELECT coalesce(max(position), 0) FROM dataset_items WHERE dataset_id = ?",
            (dataset.id,),
        ).fetchone()[0]
        rows = [
            (
                dataset.id,
                start + i + 1,
                it.kind.value,
                it.ref,
                it.text,
                it.image,
                json.dumps(it.meta),
                proposals_json(it.proposals),
            )
            for i, it in enumerate(items)
        ]
        with self._db:  # one transaction: all items or none
            self._db.executemany(
                "INSERT INTO dataset_items (dataset_id, position, kind, ref, text, image, meta, "
                "proposals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    _ITEM_SQL = "SELECT id, position, kind, ref, text, image, meta, proposals FROM dataset_items "

    def _item(self, row: tuple[Any, ...]) -> Item:
        where = f"item {row[1]}"
        return Item(
            row[0],
            row[1],
            ItemKind(row[2]),
            row[3],
            row[4],
            row[5],
            json.loads(row[6]),
            proposals_from_json(row[7], f"{where} proposals"),
        )

    def items(self, dataset: Dataset) -> list[Item]:
        sql = self._ITEM_SQL + "WHERE dataset_id = ? ORDER BY position"
        return [self._item(r) for r in self._db.execute(sql, (dataset.id,))]

    def item(self, dataset: Dataset, item_id: int) -> Item:
        sql = self._ITEM_SQL + "WHERE dataset_id = ? AND id = ?"
        row = self._db.execute(sql, (dataset.id, item_id)).fetchone()
        if row is None:
            raise DatasetError(f"dataset {dataset.name!r}: no item {item_id}")
        return self._item(row)

    # ------------------------------------------------------------ annotators
    def assign(self, dataset: Dataset, annotator: str, item_ids: Sequence[int], role: Role) -> int:
        roles = self.assignments(dataset)
        if annotator in roles and roles[annotator][0] is not role:
            raise DatasetError(
                f"dataset {dataset.name!r}: {annotator!r} is an {roles[annotator][0].value} here"
            )
        before = self._db.total_changes
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO dataset_assignments (dataset_id, annotator, item_id, role) "
                "VALUES (?, ?, ?, ?)",
                [(dataset.id, annotator, i, role.value) for i in item_ids],
            )
        return self._db.total_changes - before

    def assignments(self, dataset: Dataset) -> dict[str, tuple[Role, list[int]]]:
        out: dict[str, tuple[Role, list[int]]] = {}
        for who, item_id, role in self._db.execute(
            "SELECT a.annotator, a.item_id, a.role FROM dataset_assignments a JOIN dataset_items i "
            "ON i.id = a.item_id WHERE a.dataset_id = ? ORDER BY a.rowid, i.position",
            (dataset.id,),
        ):
            out.setdefault(who, (Role(role), []))[1].append(item_id)
        return out

    def save(self, dataset: Dataset, annotation: Annotation) -> None:
        who = self.assignments(dataset).get(annotation.annotator)
        if who is None or annotation.item_id not in who[1]:
            raise DatasetError(
                f"dataset {dataset.name!r}: item {annotation.item_id} is not assigned to "
                f"{annotation.annotator!r}"
            )
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO dataset_annotations (dataset_id, item_id, annotator, "
                "role, decisions, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset.id,
                    annotation.item_id,
                    annotation.annotator,
                    who[0].value,
                    decisions_json(annotation.decisions),
                    max(0.0, float(annotation.seconds)),
                    _now(),
                ),
            )

    def annotations(self, dataset: Dataset, annotator: str | None = None) -> list[Annotation]:
        sql = (
            "SELECT a.item_id, a.annotator, a.role, a.decisions, a.seconds, a.created_at FROM "
            "dataset_annotations a JOIN dataset_items i ON i.id = a.item_id WHERE a.dataset_id = ?"
        )
        args: list[Any] = [dataset.id]
        if annotator is not None:
            sql += " AND a.annotator = ?"
            args.append(annotator)
        rows = self._db.execute(sql + " ORDER BY i.position, a.annotator", args).fetchall()
        return [
            Annotation(
                r[0], r[1], Role(r[2]), decisions_from_json(r[3], f"item {r[0]}"), r[4], r[5]
            )
            for r in rows
        ]

    def close(self) -> None:
        self._db.close()


def open_datasets(location: str | Path | None = None, *, readonly: bool = False) -> DatasetStore:
    """The dataset store in the archive database at ``location`` (default: the archive's
    default path)."""
    from radpilot.search.store import default_db_path

    path = Path(location) if location is not None else default_db_path()
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder; name the database file")
    return SQLiteDatasetStore(path, readonly=readonly)
