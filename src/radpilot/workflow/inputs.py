"""What a draft is made from: the radiologist's phrases, an image analysis, a prior report.

Every phrase is read by the report reader, so "small left pleural effusion", "no
pneumothorax" and "possible right lower lobe pneumonia" become statements with the
certainty, laterality, severity and location the reader finds. Errors name the phrase by
its position or the file and field, never the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from radpilot.errors import InputError
from radpilot.reports import read
from radpilot.reports.models import Certainty, Change, Mention
from radpilot.reports.vocabulary import Vocabulary, load_vocabulary, normalize_term
from radpilot.workflow.models import Source, Statement
from radpilot.workflow.rules import drafting

# Mentions here are the question or the past, not what this study shows.
_CONTEXT_SECTIONS = frozenset({"indication", "history", "comparison", "technique", "examination"})


def split_phrases(text: str) -> list[str]:
    """``"a; b\\nc"`` -> ``["a", "b", "c"]`` (semicolons or line breaks separate)."""
    return [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]


_SIDES = ("left", "right")


def _location(mention: Mention) -> str | None:
    """A location worth restating ("right lower lobe", "basilar"); one whose side is not
    the mention's laterality is left out (the reader may take it from a neighbour)."""
    words = drafting().location_words
    side = mention.laterality.value if mention.laterality is not None else None
    for loc in (x.lower() for x in mention.locations):
        if not any(w in loc for w in words):
            continue
        sides = {s for s in _SIDES if s in loc.split()}
        if sides and sides != {side}:
            continue
        return loc
    return None


def display_name(finding: str, vocab: Vocabulary) -> str:
    """The words a draft names a finding by when the input gave none of its own."""
    override = drafting().names.get(finding)
    if override is not None:
        return override
    return vocab.get(finding).name if finding in vocab.findings else finding.replace("_", " ")


def _words(mention: Mention, vocab: Vocabulary) -> str:
    """The words that name the finding: the reader's span when it is a name of it
    ("effusion"), else the vocabulary's name ("heart is enlarged" -> "cardiomegaly")."""
    span = normalize_term(mention.span.text)
    name = display_name(mention.finding, vocab)
    if mention.finding in drafting().names:
        return name  # the data's words for a finding whose own do not read back
    # One word that is not the name is usually an adjective ("hyperlucent"): the name reads
    # better; a longer synonym ("airspace opacity") is the radiologist's own noun phrase.
    if vocab.lookup(span) == mention.finding and (" " in span or span == name):
        return span
    return name


def statement_of(mention: Mention, vocab: Vocabulary, source: Source) -> Statement:
    size = mention.size.span.text if mention.size is not None else None
    absent_unchanged = (
        mention.certainty is Certainty.ABSENT and mention.change is not Change.RESOLVED
    )
    return Statement(
        finding=mention.finding,
        certainty=mention.certainty,
        words=_words(mention, vocab),
        laterality=mention.laterality,
        # "stable, no effusion": a change of something absent says nothing to restate
        change=None if absent_unchanged else mention.change,
        severity=mention.severity,
        location=_location(mention),
        size=size,
        hedge=mention.hedge if mention.certainty is Certainty.UNCERTAIN else None,
        source=source,
    )


def from_phrases(
    phrases: Sequence[str], *, vocabulary: Vocabulary | None = None
) -> list[Statement]:
    """One statement per finding the reader finds in each phrase; a phrase naming none,
    or only as history or a hypothesis, is an error naming its position."""
    vocab = vocabulary or load_vocabulary()
    out: list[Statement] = []
    for i, phrase in enumerate(phrases, 1):
        mentions = [
            m
            for m in read(phrase, vocabulary=vocabulary).mentions
            if not (m.hypothetical or m.historical or m.section in _CONTEXT_SECTIONS)
        ]
        if not mentions:
            raise InputError(
                f"--findings: phrase {i} of {len(phrases)} names no finding the report reader "
                "knows; write it as in a report (e.g. 'small left pleural effusion') or add "
                "the term with --vocab"
            )
        for m in mentions:
            st = statement_of(m, vocab, Source.FINDINGS)
            out.append(with_position(st, m, mentions, vocab))
    return out


def with_position(
    st: Statement, mention: Mention, mentions: Sequence[Mention], vocab: Vocabulary
) -> Statement:
    """A present device with the words of its position: the rest of its sentence after
    the device's name ("ET tube 4 cm above the carina"), when the reader finds a site in
    the device named with these words alone (a site from elsewhere in the sentence, or
    words such as "is noted", are no position) and no other finding shares them (they
    would be restated twice)."""
    from radpilot.workflow.compose import lineage

    if st.certainty is not Certainty.PRESENT or "support_device" not in lineage(st.finding, vocab):
        return st
    sent = mention.sentence
    rest = sent.text[mention.span.end - sent.start :].strip(" ,.;:")
    end = mention.span.end
    if not rest or any(end <= o.span.start < sent.end for o in mentions):
        return st
    probe = read(f"{st.words} {rest}.", vocabulary=vocab).mentions
    sites = tuple(
        sorted({x.lower() for m in probe if m.finding == st.finding for x in m.locations})
    )
    if not sites:
        return st
    return replace(st, position=rest, sites=sites)


def _analysed(image: dict[str, Any]) -> bool:
    """Whether the model read this image: ``analyze`` says so; a hand-made file without
    the key counts when it has findings and no error."""
    flag = image.get("analysed")
    if isinstance(flag, bool):
        return flag and image.get("error") is None
    return image.get("error") is None and bool(image.get("findings"))


def _images(raw: Any, where: str) -> list[tuple[int, dict[str, Any]]]:
    """The analysed images of one study. An image the model never read says nothing of
    the patient (drafting its "negatives" would state what nobody saw), and two studies
    merged would be neither study's report: both are errors, not guesses."""
    images = raw if isinstance(raw, list) else [raw]
    if not images:
        raise InputError(f"{where}: holds no image (expected `radpilot analyze --json`)")
    for i, image in enumerate(images):
        if not isinstance(image, dict):
            raise InputError(
                f"{where}: item [{i}] is not an object (expected `radpilot analyze --json`)"
            )
    studies = {im.get("study") for im in images if isinstance(im.get("study"), str)}
    if len(studies) > 1:
        raise InputError(
            f"{where}: holds images of {len(studies)} studies; draft one study at a time"
        )
    read = [(i, im) for i, im in enumerate(images) if _analysed(im)]
    if not read:
        raise InputError(
            f"{where}: no image in it was analysed (unreadable, or stopped by the quality "
            "gate); nothing to draft from it"
        )
    return read


def _finding_rows(raw: Any, where: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for i, image in _images(raw, where):
        findings = image.get("findings", [])
        if not isinstance(findings, list):
            raise InputError(f"{where}: [{i}].findings is not a list")
        for j, f in enumerate(findings):
            if not isinstance(f, dict) or not isinstance(f.get("name"), str):
                raise InputError(f"{where}: [{i}].findings[{j}] has no name")
            yield f"[{i}].findings[{j}]", f


def _skipped_notes(raw: Any, where: str) -> list[str]:
    images = raw if isinstance(raw, list) else [raw]
    return [
        f"{where}: [{i}]: not analysed (unreadable, or stopped by the quality gate); left out"
        for i, im in enumerate(images)
        if isinstance(im, dict) and not _analysed(im)
    ]


def from_analysis(
    path: Path, *, vocabulary: Vocabulary | None = None
) -> tuple[list[Statement], list[str]]:
    """The positive image findings of ``radpilot analyze --json`` output (or the
    analysis.json its ``--out`` writes), as present statements; a label with no finding
    in the vocabulary is noted, not guessed."""
    where = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{where}: not a JSON file from `radpilot analyze --json` ({type(exc).__name__})"
        ) from None
    return analysis_statements(raw, where, vocabulary=vocabulary)


def analysis_statements(
    raw: Any, where: str, *, vocabulary: Vocabulary | None = None
) -> tuple[list[Statement], list[str]]:
    """:func:`from_analysis` on an already parsed JSON value (the service's request body)."""
    vocab = vocabulary or load_vocabulary()
    out: list[Statement] = []
    seen: set[str] = set()
    rows = list(_finding_rows(raw, where))  # validates the whole file before any note
    notes = _skipped_notes(raw, where)
    for at, f in rows:
        positive = f.get("positive")
        if not isinstance(positive, bool):
            raise InputError(f"{where}: {at}.positive must be true or false")
        if not positive:
            continue
        finding = vocab.lookup(f["name"].replace("_", " "))
        if finding is None:
            notes.append(
                f"{where}: {at}: image label {f['name']!r} has no report finding; left out"
            )
            continue
        if finding not in seen:
            seen.add(finding)
            name = display_name(finding, vocab)
            out.append(Statement(finding, Certainty.PRESENT, name, source=Source.ANALYSIS))
    return out, notes


def from_prior(text: str, *, vocabulary: Vocabulary | None = None) -> list[Statement]:
    """What a prior report states (present, uncertain or absent, outside history and
    indication), for the change statements of the new draft."""
    vocab = vocabulary or load_vocabulary()
    report = read(text, vocabulary=vocabulary)
    out = []
    for m in report.mentions:
        if m.hypothetical or m.section in _CONTEXT_SECTIONS or m.region is not None:
            continue
        if m.change is Change.RESOLVED:
            continue  # gone before the prior: nothing to compare with now
        out.append(statement_of(m, vocab, Source.FINDINGS))
    return out


def read_report_file(path: Path) -> str:
    """A prior report's text (UTF-8, or UTF-8 with BOM); errors name the file only."""
    from radpilot.reports.textfile import clean_text

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    cleaned, _, binary = clean_text(text)
    if binary or not cleaned.strip():
        raise InputError(f"{path}: holds no report text")
    return cleaned
