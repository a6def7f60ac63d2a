"""The audit trail's hash chain: each entry's hash covers its fields and the previous
entry's hash, so editing, inserting or deleting an entry anywhere but at the very end
breaks the chain from there on, and :func:`verify` names the first entry that does not
hold. (Cutting entries off the end leaves a shorter sound chain: ``radpilot audit verify``
prints the head hash so an operator can keep it elsewhere and compare.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from radpilot.server.models import AuditEntry, AuditEvent, ServiceStore

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: str, event: AuditEvent) -> str:
    """SHA-256 of the canonical JSON of the entry's fields and the previous hash."""
    payload = json.dumps(
        [prev_hash, seq, at, *event.values()],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head: str
    first_bad: int | None  # seq of the first entry that breaks the chain
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def verify_entries(entries: Iterable[AuditEntry]) -> Verification:
    """Walk the chain in order; stop at the first entry whose sequence number, previous
    hash or own hash does not follow from the entries before it."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return Verification(
                count,
                prev,
                entry.seq,
                f"entry {entry.seq}: expected entry {expected_seq} "
                "here (entries are missing or out of order)",
            )
        if entry.prev_hash != prev:
            return Verification(
                count,
                prev,
                entry.seq,
                f"entry {entry.seq}: its previous-hash does not match entry {entry.seq - 1}",
            )
        if entry_hash(prev, entry.seq, entry.at, entry.event) != entry.hash:
            return Verification(
                count, prev, entry.seq, f"entry {entry.seq}: its content does not match its hash"
            )
        prev, expected_seq = entry.hash, expected_seq + 1
    return Verification(count, prev, None, None)


def verify(store: ServiceStore, chunk: int = 10_000) -> Verification:
    """Verify the whole trail of ``store``, ``chunk`` entries at a time."""

    def all_entries() -> Iterable[AuditEntry]:
        after = 0
        while True:
            batch = store.audit_entries(after=after, limit=chunk)
            if not batch:
                return
            yield from batch
            after = batch[-1].seq

    return verify_entries(all_entries())
