"""A user's vocabulary file: findings added to, or overriding, the packaged vocabulary.

``radpilot label --vocab FILE`` (and, from Python, ``extended_vocabulary(FILE)``) reads a
JSON or YAML file of this shape::

    description: Findings our study labels        # optional
    findings:
      - id: sarcoidosis                           # new: id and name are required
        name: sarcoidosis
        synonyms: [sarcoid, pulmonary sarcoidosis]
        parent: lung_abnormality                  # optional: a finding id
        role: diagnosis                           # observation (default) | diagnosis | etiology
      - id: hiatal_hernia                         # an existing id: an override
        synonyms: [hiatus hernia]                 # added to the packaged synonyms
        cxr14: null                               # a key given replaces the packaged value
    remove_terms: [line]                          # packaged terms that name nothing any more

Keys of an entry: ``id``, ``name``, ``synonyms``, ``parent``, ``chexpert``, ``cxr14``
(label names of those sets, validated; any spelling ``canonical_finding`` knows, such as
"Effusion" for CheXpert's "Pleural Effusion", is accepted), ``role`` and ``abnormal``
(false: it does not block "No Finding"). A term listed by an entry names that entry's
finding, even where the packaged vocabulary gave it to another (the override is the point);
two entries of one file naming one term is an error. Each bad entry is one line naming the
file, ``findings[i]``, its id and the key: every malformed entry at once, then (once each
entry is well formed) every reference that does not hold (a new finding without a name,
an unknown parent, a term listed twice).

>>> doc = parse_user_vocabulary(
...     {"findings": [{"id": "sarcoidosis", "name": "sarcoidosis", "synonyms": ["sarcoid"]}]},
...     "my.yaml")
>>> vocab = extend_vocabulary(load_vocabulary(), doc, "my.yaml")
>>> vocab.lookup("sarcoid"), vocab.extended, load_vocabulary().lookup("sarcoid")
('sarcoidosis', True, None)
>>> parse_user_vocabulary({"findings": [{"id": "x", "name": "x", "chexpert": "Efusion"}]},
...                       "my.yaml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
radpilot.errors.UserVocabularyError: my.yaml: findings[0] (id 'x'): chexpert: 'Efusion' is not a CheXpert label; valid: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

from pydantic import AfterValidator, Field, StrictBool

from radpilot.datafiles import DataDocument, DataModel, parse, read_path
from radpilot.errors import UserVocabularyError, VocabularyError
from radpilot.reports.labelnames import canonical_finding
from radpilot.reports.labelsets import CHEXPERT_LABELS, CXR14_LABELS
from radpilot.reports.vocabulary import (
    Finding,
    FindingId,
    FindingRole,
    Phrase,
    Vocabulary,
    check_parents,
    load_vocabulary,
    normalize_term,
    remember,
    restored,
)

MAX_USER_FINDINGS = 10_000  # a guard against a runaway file, far above any real list
MAX_ERRORS_LISTED = 20
MAX_CHAIN_SHOWN = 8

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def _users_fault() -> Iterator[None]:
    """A bad user file is bad input: re-raise as ``UserVocabularyError`` (an ``InputError``
    too), so callers that catch input errors catch these."""
    try:
        yield
    except UserVocabularyError:
        raise
    except VocabularyError as exc:
        raise UserVocabularyError(str(exc)) from None


def _user_input(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _users_fault():
            return func(*args, **kwargs)

    return wrapper


def _has_word(value: str) -> str:
    if not any(ch.isalnum() for ch in value):
        raise ValueError(f"{value!r} has no letter or digit (a term names a finding in words)")
    return value


Term = Annotated[Phrase, AfterValidator(_has_word)]


def _rollup(labels: tuple[str, ...], set_name: str) -> AfterValidator:
    """A label name of one set, by any spelling the label-name resolver knows."""
    members = {canonical_finding(label): label for label in labels if label != "No Finding"}

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        found = members.get(canonical_finding(value))
        if found is None:
            valid = ", ".join(label for label in labels if label != "No Finding")
            raise ValueError(f"{value!r} is not a {set_name} label; valid: {valid}")
        return found

    return AfterValidator(check)


class UserFinding(DataModel):
    """One entry of a user's vocabulary file: a new finding, or an override of one."""

    id: FindingId
    name: Term | None = Field(None, description="Required for a new finding.")
    synonyms: list[Term] = Field(
        default_factory=list, description="Terms that name it (an override adds them)."
    )
    parent: FindingId | None = Field(None, description="A finding id (packaged or this file's).")
    chexpert: Annotated[str | None, _rollup(CHEXPERT_LABELS, "CheXpert")] = None
    cxr14: Annotated[str | None, _rollup(CXR14_LABELS, "ChestX-ray14")] = None
    role: FindingRole | None = None
    abnormal: StrictBool | None = None


class UserVocabularyFile(DataDocument):
    """A user's vocabulary file (``--vocab FILE``); entries are validated one by one."""

    version: str | None = None
    findings: list[UserFinding] = Field(default_factory=list, max_length=MAX_USER_FINDINGS)
    remove_terms: list[Phrase] = Field(default_factory=list)


class _Outline(DataDocument):
    """The top level alone: entries are checked one by one afterwards, to name each."""

    version: str | None = None
    findings: list[Any] = Field(default_factory=list, max_length=MAX_USER_FINDINGS)
    remove_terms: list[Phrase] = Field(default_factory=list)


def _entry_label(raw: Any, i: int) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(ident, str) and 0 < len(ident) <= 60 and ident.isprintable():
        return f"findings[{i}] (id {ident!r})"
    return f"findings[{i}]"


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    names = {list: "an array", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


@_user_input
def parse_user_vocabulary(raw: Any, where: str) -> UserVocabularyFile:
    """Validate a parsed user file; every bad entry is named (one line each)."""
    if not isinstance(raw, dict):
        raise VocabularyError(f'{where}: is {_kind(raw)}, expected an object with "findings"')
    outline = parse(raw, _Outline, where)
    entries: list[UserFinding] = []
    problems: list[str] = []
    first_of: dict[str, int] = {}  # id -> the entry that gives it first
    for i, item in enumerate(outline.findings):
        label = _entry_label(item, i)
        if not isinstance(item, dict):
            kind = "an array" if isinstance(item, list) else type(item).__name__
            problems.append(f"{where}: {label}: is {kind}, expected an object (one finding)")
            continue
        try:
            entry = parse(item, UserFinding, f"{where}: {label}")
        except VocabularyError as exc:
            problems.append(str(exc))
            continue
        first = first_of.setdefault(entry.id, i)
        if first != i:  # two entries of one id would merge silently, the later one winning
            problems.append(
                f"{where}: {label}: id: {entry.id!r} is also findings[{first}] "
                "(one entry per finding)"
            )
        entries.append(entry)
    _raise_all(problems)
    return UserVocabularyFile.model_validate(
        {
            "$schema": outline.schema_ref,
            "description": outline.description,
            "version": outline.version,
            "findings": entries,
            "remove_terms": list(outline.remove_terms),
        }
    )


def _raise_all(problems: list[str]) -> None:
    if not problems:
        return
    shown = problems[:MAX_ERRORS_LISTED]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more bad entr{'y' if more == 1 else 'ies'}"] if more > 0 else []
    raise VocabularyError("\n".join(shown + tail))


@_user_input
def load_user_vocabulary(path: Path | str) -> UserVocabularyFile:
    """Read and validate a user's vocabulary file (JSON, or YAML by its suffix)."""
    return parse_user_vocabulary(read_path(path), str(path))


def extended_vocabulary(path: Path | str, base: Vocabulary | None = None) -> Vocabulary:
    """The packaged vocabulary (or ``base``) with a user's file merged in: what
    ``radpilot label --vocab FILE`` reads with, and what ``read(text, vocabulary=...)``
    takes."""
    return extend_vocabulary(base or load_vocabulary(), load_user_vocabulary(path), str(path))


def rebuild_vocabulary(digest: str, extensions: tuple[tuple[str, Any], ...]) -> Vocabulary:
    """A merged vocabulary by digest (how it unpickles in a worker): rebuilt once per
    process from the user's entries, then found again."""
    hit = restored(digest)
    if hit is not None:
        return hit
    vocab = load_vocabulary()
    for where, doc in extensions:
        vocab = extend_vocabulary(vocab, doc, where)
    return vocab


@dataclass(frozen=True, slots=True)
class VocabularyChanges:
    """What a user's file changed, for a one-line summary."""

    added: tuple[str, ...]
    overridden: tuple[str, ...]
    terms_moved: int
    terms_removed: int

    def summary(self) -> str:
        return (
            f"{len(self.added)} finding(s) added, {len(self.overridden)} overridden, "
            f"{self.terms_moved} term(s) moved from a packaged finding, "
            f"{self.terms_removed} removed"
        )


def changes(base: Vocabulary, merged: Vocabulary) -> VocabularyChanges:
    """What ``merged`` changes against ``base`` (the packaged vocabulary)."""
    added = tuple(k for k in merged.findings if k not in base.findings)
    overridden = tuple(
        k for k, f in merged.findings.items() if k in base.findings and base.findings[k] != f
    )
    moved = sum(1 for t, fid in merged.terms.items() if base.terms.get(t, fid) != fid)
    removed = sum(1 for t in base.terms if t not in merged.terms)
    return VocabularyChanges(added, overridden, moved, removed)


@_user_input
def extend_vocabulary(base: Vocabulary, doc: UserVocabularyFile, where: str) -> Vocabulary:
    """``base`` with the user's entries merged in (see the module docstring); the result is
    remembered by digest so worker processes find it again."""
    findings: dict[str, Finding] = dict(base.findings)
    terms: dict[str, str] = dict(base.terms)
    problems: list[str] = []
    for i, phrase in enumerate(doc.remove_terms):
        key = normalize_term(phrase)
        owner = terms.pop(key, None)
        if owner is None:
            problems.append(
                f"{where}: remove_terms[{i}]: {phrase!r} is not a term of the vocabulary"
            )
            continue
        f = findings[owner]
        findings[owner] = replace(
            f, synonyms=tuple(s for s in f.synonyms if normalize_term(s) != key)
        )
    claimed: dict[str, int] = {}  # term -> the entry of this file that lists it
    for i, entry in enumerate(doc.findings):
        at = f"{where}: findings[{i}] (id {entry.id!r})"
        merged_entry = _merged_finding(findings.get(entry.id), entry, at, problems)
        if merged_entry is None:
            continue
        f = merged_entry
        findings[f.id] = f
        for term in dict.fromkeys((f.name, *entry.synonyms)):
            key = normalize_term(term)
            first = claimed.setdefault(key, i)
            if first != i and doc.findings[first].id != entry.id:
                problems.append(f"{at}: term {term!r} is also listed by findings[{first}]")
                continue
            old = terms.get(key)
            if old is not None and old != f.id:
                older = findings[old]
                findings[old] = replace(
                    older,
                    synonyms=tuple(s for s in older.synonyms if normalize_term(s) != key),
                )
            terms[key] = f.id
    for i, entry in enumerate(doc.findings):
        if entry.parent is not None and entry.parent not in findings:
            problems.append(
                f"{where}: findings[{i}] (id {entry.id!r}): parent: {entry.parent!r} is not a "
                "finding id (packaged or of this file)"
            )
    if not problems:  # every parent exists: now a chain may be followed
        problems += _cycles(doc, findings, where)
    _raise_all(problems)
    check_parents(findings, where)
    merged = Vocabulary(
        version=f"{base.version}+{doc.version or 'user'}",
        findings=findings,
        terms=terms,
        extensions=(*base.extensions, (where, doc)),
        rebuild=rebuild_vocabulary,
    )
    merged = replace(merged, digest=_merged_digest(base, doc))
    remember(merged)
    return merged


def _cycles(doc: UserVocabularyFile, findings: Mapping[str, Finding], where: str) -> list[str]:
    """One line per entry of the file whose parent chain comes back to it."""
    problems: list[str] = []
    for i, entry in enumerate(doc.findings):
        chain = [entry.id]
        parent = findings[entry.id].parent
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = findings[parent].parent
        if parent != entry.id:
            continue  # no cycle, or one that does not pass through this entry
        shown = chain if len(chain) <= MAX_CHAIN_SHOWN else [*chain[:MAX_CHAIN_SHOWN], "..."]
        problems.append(
            f"{where}: findings[{i}] (id {entry.id!r}): parent: the parent chain "
            f"{' -> '.join([*shown, entry.id])} comes back on itself"
        )
    return problems


def _merged_digest(base: Vocabulary, doc: UserVocabularyFile) -> str:
    import hashlib

    raw = doc.model_dump_json(exclude_unset=True, by_alias=True).encode("utf-8")
    return base.digest + "+" + hashlib.sha256(raw).hexdigest()[:16]


def _merged_finding(
    old: Finding | None, entry: UserFinding, at: str, problems: list[str]
) -> Finding | None:
    given = entry.model_fields_set
    if old is None:
        if entry.name is None:
            problems.append(f"{at}: name: missing key (a new finding needs a name)")
            return None
        return Finding(
            id=entry.id,
            name=entry.name,
            synonyms=tuple(entry.synonyms),
            parent=entry.parent,
            chexpert=entry.chexpert,
            cxr14=entry.cxr14,
            radlex=None,
            abnormal=True if entry.abnormal is None else entry.abnormal,
            role=entry.role or FindingRole.OBSERVATION,
        )
    new: dict[str, Any] = {k: getattr(entry, k) for k in _REPLACED if k in given}
    for key in ("name", "role", "abnormal"):  # null: keep the packaged value
        if new.get(key, "") is None:
            del new[key]
    extra = tuple(s for s in entry.synonyms if s not in old.synonyms)
    return replace(old, synonyms=(*old.synonyms, *extra), **new)


# Keys whose given value replaces the packaged one in an override ("synonyms" adds).
_REPLACED = ("name", "parent", "chexpert", "cxr14", "role", "abnormal")


def describe(vocab: Vocabulary) -> str:
    """ "vocabulary my.yaml: 2 finding(s) added, ..." (what the user's files changed)."""
    from radpilot.reports.vocabulary import load_vocabulary

    packaged = load_vocabulary()
    files = ", ".join(where for where, _ in vocab.extensions) or "packaged"
    return f"vocabulary {files}: {changes(packaged, vocab).summary()}"
