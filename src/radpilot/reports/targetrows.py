"""The ``targets`` field of a JSONL input row: read, checked, and explained when bad.

``"targets": [{"start": 12, "end": 20}, ...]`` gives character spans (Unicode code points,
as Python and spaCy count them) of concepts found elsewhere. Each is read as a
:class:`~radpilot.reports.rows.TargetSpan`; one that cannot be read (not an object, no
``start``/``end``, not integers, start not before end, past the text, past the characters
labelled, over the per-row limit) keeps its place with the reason, and the row gets one
warning that names the target indexes (never the text). Keys other than ``start`` and
``end`` are allowed and ignored (a caller's concept id, say). Targets may overlap.

>>> spans, note = read_targets_field([{"start": 0, "end": 4}, {"start": 9, "end": 3}, "x"], 20)
>>> [(s.start, s.end, s.error) for s in spans]
[(0, 4, None), (9, 3, 'start 9 is not before end 3'), (None, None, 'is a string, expected an object {"start", "end"}')]
>>> note
'targets: 2 of 3 not read (targets[1]: start 9 is not before end 3; targets[2]: is a string, expected an object {"start", "end"})'
"""

from __future__ import annotations

from typing import Any

from radpilot.reports.rows import MAX_REPORT_CHARS, TargetSpan
from radpilot.reports.targets import MAX_TARGETS, check_span

MAX_REASONS_SHOWN = 3


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else "a number")


def _one(item: Any, length: int, max_chars: int) -> TargetSpan:
    if not isinstance(item, dict):
        return TargetSpan(
            None, None, f'is {_type_name(item)}, expected an object {{"start", "end"}}'
        )
    start, end = item.get("start"), item.get("end")
    shown_start = start if isinstance(start, int) and not isinstance(start, bool) else None
    shown_end = end if isinstance(end, int) and not isinstance(end, bool) else None
    for key, value in (("start", start), ("end", end)):
        if key not in item:
            return TargetSpan(shown_start, shown_end, f"no {key}")
        if isinstance(value, bool) or not isinstance(value, int):
            return TargetSpan(
                shown_start, shown_end, f"{key} is {_type_name(value)}, expected an integer"
            )
    assert isinstance(start, int) and isinstance(end, int)
    problem = check_span((start, end), length)
    if problem is None and end > max_chars:
        problem = f"end {end} is past the first {max_chars:,} characters, which are labelled"
    return TargetSpan(start, end, problem)


def read_targets_field(
    raw: Any, length: int, max_chars: int = MAX_REPORT_CHARS
) -> tuple[tuple[TargetSpan, ...], str | None]:
    """The row's targets against a text of ``length`` characters, and a warning naming the
    ones that cannot be read (None when all can)."""
    if not isinstance(raw, list):
        return (), f"targets is {_type_name(raw)}, expected an array of {{start, end}}; not read"
    spans = [_one(item, length, max_chars) for item in raw[:MAX_TARGETS]]
    spans += [
        TargetSpan(None, None, f"over the {MAX_TARGETS:,} targets a row may carry")
        for _ in raw[MAX_TARGETS:]
    ]
    bad = [(i, s.error) for i, s in enumerate(spans) if s.error is not None]
    if not bad:
        return tuple(spans), None
    shown = "; ".join(f"targets[{i}]: {why}" for i, why in bad[:MAX_REASONS_SHOWN])
    more = len(bad) - MAX_REASONS_SHOWN
    tail = f"; and {more:,} more" if more > 0 else ""
    return tuple(spans), f"targets: {len(bad):,} of {len(spans):,} not read ({shown}{tail})"
