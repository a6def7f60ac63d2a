"""``read()``: free text in, a :class:`~radpilot.reports.models.Report` out.

Pipeline: sections -> sentences -> per sentence, a scan for every known phrase and ConText
(a sentence or section read before is not read again). Rules are compiled on the first call and cached; ``read`` is pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from radpilot.errors import InputError
from radpilot.reports.matcher import Lexicon, lexicon, scan_span
from radpilot.reports.models import Mention, Report, Section, Sentence
from radpilot.reports.morphology import singular_candidates
from radpilot.reports.rules import (
    CHEST_REGION,
    CueRules,
    Modifiers,
    cue_rules,
    modifiers,
    section_rules,
)
from radpilot.reports.sectionmemo import section_memo_of
from radpilot.reports.sections import (
    LOOK_BEHIND,
    content_start,
    section_sentences,
    sentence_regions,
    split_sections,
)
from radpilot.reports.sentencememo import SentenceMemo, memo_of, read_sentence
from radpilot.reports.textfold import fold, restore
from radpilot.reports.vocabulary import FindingRole, Vocabulary, load_vocabulary, normalize_term

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _DeviceWords:
    """What the reader needs of a vocabulary's devices, of its findings that belong to the
    chest under any region's sub-header, of those a place makes another (a bone's, an
    organ's) and of their CheXpert labels, built once per vocabulary."""

    # a measurement beside a device is where it sits, not how big it is
    unsized: frozenset[str]
    # finding id -> its part phrases (``Finding.refers_back``), for findings that have any
    parts: dict[str, frozenset[str]]
    # finding id -> the terms that name it as the chest's under any region (``any_region``)
    any_region: dict[str, frozenset[str]]
    # finding id -> location -> the finding it is there (``Finding.placed``)
    placed: dict[str, dict[str, str]]
    # the findings an organ's place moves to its region: observations, no device
    organ_bound: frozenset[str]
    # finding id -> the CheXpert label it rolls up to, where it has one
    label_of: dict[str, str]


_DEVICE_WORDS: dict[str, _DeviceWords] = {}  # by vocabulary digest (a few per process)


def _device_words(vocab: Vocabulary | None) -> _DeviceWords:
    vocab = vocab or load_vocabulary()
    hit = _DEVICE_WORDS.get(vocab.digest)
    if hit is None:
        if len(_DEVICE_WORDS) >= 8:
            _DEVICE_WORDS.pop(next(iter(_DEVICE_WORDS)))
        hit = _DEVICE_WORDS[vocab.digest] = _DeviceWords(
            frozenset(f.id for f in vocab if f.chexpert == "Support Devices"),
            {f.id: frozenset(f.refers_back) for f in vocab if f.refers_back},
            {f.id: frozenset(f.any_region) for f in vocab if f.any_region},
            {f.id: dict(f.placed) for f in vocab if f.placed},
            _organ_bound(vocab, modifiers()),
            {f.id: f.chexpert for f in vocab if f.chexpert},
        )
    return hit


def _in_region(
    found: list[Mention], region: str, chest: dict[str, frozenset[str]]
) -> list[Mention]:
    """The mentions of a sentence under another body region's sub-header, marked with that
    region (no chest label), except those whose term names the chest's anatomy, which the
    other region's image shows too ("ABDOMEN: small pleural effusions at the lung bases",
    "free air under the diaphragm"; ``findings.json`` ``any_region``)."""
    return [m if _names_chest(m, chest) else replace(m, region=region) for m in found]


def _names_chest(m: Mention, chest: dict[str, frozenset[str]]) -> bool:
    """Is the mention's term one that names the chest's anatomy under any region
    (``findings.json`` any_region: "pleural effusion", not a bare "effusion")?"""
    terms = chest.get(m.finding)
    if not terms:
        return False
    key = normalize_term(m.span.text)
    return key in terms or any(c in terms for c in singular_candidates(key))


# The words of a noun phrase right before a term: no punctuation between ("left knee joint").
_PHRASE_BEFORE = re.compile(r"(?:[A-Za-z-]+[ \t]+){1,3}$")
_PHRASE_WINDOW = 40  # characters before a term to look for a body part in


def _part_before(text: str, lo: int, start: int, regions: Mapping[str, str]) -> str | None:
    """The body region other than the chest that a part named in the same phrase right
    before ``start`` belongs to ("knee joint effusion", "left elbow effusion"), or None;
    nothing before ``lo`` (the sentence's start) is looked at."""
    m = _PHRASE_BEFORE.search(text, max(lo, start - _PHRASE_WINDOW), start)
    if m is None:
        return None
    words = m.group().lower().split()
    for n in (2, 1):
        for i in range(len(words) - n + 1):
            region = regions.get(" ".join(words[i : i + n]))
            if region is not None and region != CHEST_REGION:
                return region
    return None


def _organ_bound(vocab: Vocabulary, mods: Modifiers) -> frozenset[str]:
    """The findings a place in another region's organ makes that region's: what is seen
    ("thyroid nodule"), not a disease named after an organ ("metastatic thyroid
    cancer"), nor a device, whose tip an abdominal place only locates, nor a finding
    whose own words name such an organ ("dilated bowel": the vocabulary reads it on a
    chest film)."""
    devices = {f.id for f in vocab if f.chexpert == "Support Devices"}
    organs = {p for p, loc in mods.locations.items() if loc in mods.location_regions}

    def names_organ(term: str) -> bool:
        words = term.split()
        return any(
            " ".join(words[i : i + n]) in organs
            for n in (1, 2, 3)
            for i in range(len(words) - n + 1)
        )

    return frozenset(
        f.id
        for f in vocab
        if f.role is FindingRole.OBSERVATION
        and f.id not in devices
        and devices.isdisjoint(vocab.ancestors(f.id))
        and not any(names_organ(normalize_term(t)) for t in f.synonyms)
    )


def _in_named_part(found: list[Mention], text: str, ctx: _Context) -> list[Mention]:
    """A finding named by a word that is not the chest's alone ("effusion", where
    ``any_region`` lists "pleural effusion") after another body part's name in its own
    phrase is that part's: "small knee joint effusion" is no pleural effusion, as under a
    "Right knee:" sub-header (``_in_region``). So is an observation placed only in
    another region's organs (``modifiers.json`` location_regions): "left thyroid
    nodule", "cyst in the right hepatic lobe"."""
    chest, movable = ctx.devices.any_region, ctx.devices.organ_bound
    organs = ctx.mods.location_regions
    out: list[Mention] = []
    for m in found:
        if m.region is None and not _names_chest(m, chest):
            region = None
            if m.finding in chest:
                region = _part_before(text, m.sentence.start, m.span.start, ctx.regions)
            if region is None and m.locations and m.finding in movable:
                elsewhere = [organs.get(p) for p in m.locations]
                region = elsewhere[0] if all(elsewhere) else None
            if region is not None:
                m = replace(m, region=region)
        out.append(m)
    return out


def _without_part_phrases(
    found: list[Mention], parts: dict[str, frozenset[str]], devices: frozenset[str]
) -> list[Mention]:
    """Drops a mention named only by a device part ("with tip") when another device is named
    before it in the sentence: the tip is that device's ("Pacemaker with tip in the right
    ventricle"). Where the tip lies is the device's: the dropped phrase's locations go to
    that device ("PICC line with tip in the SVC"). With no device before it, the phrase
    names the finding (a redacted "Right IJ XXXX with tip in the SVC" is a central line)."""
    out: list[Mention] = []
    for m in found:
        phrases = parts.get(m.finding)
        if phrases and normalize_term(m.span.text) in phrases:
            at = [
                k for k, o in enumerate(out) if o.finding in devices and o.span.end <= m.span.start
            ]
            if at:
                device = out[at[-1]]
                places = tuple(dict.fromkeys((*device.locations, *m.locations)))
                out[at[-1]] = replace(device, locations=places)
                continue
        out.append(m)
    return out


def _as_placed(
    found: list[Mention], placed: dict[str, dict[str, str]], label_of: dict[str, str]
) -> list[Mention]:
    """A mention placed where its finding is another (``findings.json`` placed): "lesion
    in the left clavicle" is a bone lesion, "fracture of the right 5th rib" a rib fracture.
    One placed nowhere that a hedge or a statement offers for such a finding before it in
    the sentence names that finding's kind: "sclerotic T9 lesion, suspicious for
    metastasis", "bone lesions consistent with metastases" are bone metastases."""
    out: list[Mention] = []
    for m in found:
        table = placed.get(m.finding)
        if table:
            other = next((table[p] for p in m.locations if p in table), None)
            if other is None and not m.locations and m.hedge is not None and out:
                # offered for the nearest finding of that kind before it in its sentence
                # ("rib lesion with pathological fracture, suspicious for a metastasis"),
                # unless another lesion stands between ("nodules consistent with
                # metastases" after a rib lesion are the nodules')
                other = _offered_for(out, m, table, label_of)
            if other is not None:
                m = replace(m, finding=other)
        out.append(m)
    return out


def _offered_for(
    out: list[Mention], m: Mention, table: dict[str, str], label_of: dict[str, str]
) -> str | None:
    """The kind (a value of ``table``) of the nearest mention before ``m`` in its sentence
    that has one, unless a finding of ``m``'s own label comes first (a nodule before
    "consistent with metastases")."""
    own = label_of.get(m.finding)
    for before in reversed(out):
        if before.sentence.start != m.sentence.start or before.finding == m.finding:
            return None
        if own is not None and label_of.get(before.finding) == own:
            return None
        if before.finding in table.values():
            return before.finding
    return None


@dataclass(frozen=True, slots=True, init=False)
class _Context:
    """What reading any section of one report needs: the report, the lexicon, the rules."""

    text: str
    lowered: str  # ``text.lower()``, what the lexicon's pattern scans
    lex: Lexicon
    memo: SentenceMemo
    rules: CueRules
    mods: Modifiers
    devices: _DeviceWords
    regions: Mapping[str, str]  # body part name -> its region (``sections.json`` body_regions)

    def __init__(
        self,
        text: str,
        lowered: str,
        lex: Lexicon,
        memo: SentenceMemo,
        rules: CueRules,
        mods: Modifiers,
        devices: _DeviceWords,
        regions: Mapping[str, str],
    ) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "lowered", lowered)
        object.__setattr__(self, "lex", lex)
        object.__setattr__(self, "memo", memo)
        object.__setattr__(self, "rules", rules)
        object.__setattr__(self, "mods", mods)
        object.__setattr__(self, "devices", devices)
        object.__setattr__(self, "regions", regions)


def read_sentence_afresh(ctx: _Context, sentence: Sentence, in_context: bool) -> list[Mention]:
    """The mentions of one sentence: its phrases (scanned within it), the cue engine, then
    a device's part phrases and the findings a place makes another."""
    tokens = scan_span(ctx.text, ctx.lowered, ctx.lex, sentence.start, sentence.end)
    for t in tokens:
        if t.roles.finding or t.roles.anchor_of:
            break
    else:
        return []
    devices = ctx.devices
    # A run-on "sentence" is read in windows (sentencememo.MAX_TOKENS_PER_WINDOW).
    found = read_sentence(
        sentence, tokens, ctx.text, ctx.rules, ctx.mods, in_context, devices.unsized
    )
    parts, placed = devices.parts, devices.placed
    if parts and any(m.finding in parts for m in found):
        found = _without_part_phrases(found, parts, devices.unsized)
    if placed and any(m.finding in placed for m in found):
        found = _as_placed(found, placed, devices.label_of)
    return found


def read_section(
    ctx: _Context,
    section: Section,
    start: int,
    region: str | None,
    context_sections: frozenset[str],
) -> tuple[list[Sentence], list[Mention], str | None]:
    """The sentences and mentions of one section whose content starts at ``start``, with
    body region ``region`` in force before it; and the region in force after it."""
    text = ctx.text
    sentences = section_sentences(text, section, start)
    if not sentences:
        return sentences, [], region
    regions = sentence_regions(sentences, region)
    any_region = ctx.devices.any_region
    in_context = section.name in context_sections
    memo = ctx.memo
    mentions: list[Mention] = []
    for sentence, where in zip(sentences, regions, strict=True):
        s = sentence.start
        before = text[s - 1 : s] if s else ""
        # A sentence read before is neither scanned nor read again (reports.sentencememo).
        found = memo.get(sentence, before, in_context, where is None)
        if found is None:
            plain = read_sentence_afresh(ctx, sentence, in_context)
            named = _in_named_part(plain, text, ctx) if plain else plain
            memo.put(sentence, before, in_context, plain, named)
            found = named if where is None else plain
        if where is not None and found:  # "Right knee: small effusion" is not the chest's
            found = _in_region(found, where, any_region)
        mentions.extend(found)
    return sentences, mentions, regions[-1]


def read(text: object, *, vocabulary: object = None) -> Report:
    """Read one free-text chest radiograph report (``text``, a str; typed ``object``, as is
    ``vocabulary``, so that the check below also runs in the compiled build, which would
    otherwise stop a wrong type with a bare TypeError before it).

    ``vocabulary``: the findings to read (default: the packaged vocabulary); a user's
    merged one comes from ``radpilot.reports.uservocab.extended_vocabulary(FILE)``
    and is compiled once per process. The report keeps it (``Report.vocabulary``), so that
    ``labels.chexpert(report)`` rolls its findings up by the same entries.

    >>> r = read("FINDINGS: Small left pleural effusion. No pneumothorax.")
    >>> [(m.finding, m.certainty.value, m.laterality and m.laterality.value) for m in r.mentions]
    [('pleural_effusion', 'present', 'left'), ('pneumothorax', 'absent', None)]
    """
    if not isinstance(text, str):
        raise InputError(f"report text must be a string, got {type(text).__name__}")
    if vocabulary is not None and not isinstance(vocabulary, Vocabulary):
        raise InputError(
            f"vocabulary must be a Vocabulary (uservocab.extended_vocabulary(PATH)), got "
            f"{type(vocabulary).__name__}"
        )
    default = vocabulary is None or (not vocabulary.extended and vocabulary.digest == "packaged")
    original, text = text, fold(text)  # "Ｎo", a non-breaking space: same offsets
    lowered = text.lower()
    sections = split_sections(text, lowered)
    if default:
        vocabulary = None
    lex = lexicon(vocabulary) if vocabulary is not None else lexicon()
    rules = section_rules()
    ctx = _Context(
        text,
        lowered,
        lex,
        memo_of(lex),
        cue_rules(),
        modifiers(),
        _device_words(vocabulary),
        rules.regions,
    )
    context_sections = rules.context_sections
    memo = section_memo_of(lex)
    checked = (ctx.rules, ctx.mods, rules, ctx.devices)
    memo.check(checked)
    ctx.memo.check(checked)
    sentences: list[Sentence] = []
    mentions: list[Mention] = []
    region: str | None = None  # the body region in force after the last sentence so far
    last: str | None = None  # the section of the last sentence so far
    for section in sections:
        start = content_start(text, section)
        end = section.end
        incoming = region if last == section.name else None
        lead = max(0, start - LOOK_BEHIND)
        key = (text[lead:end], start - lead, section.name, incoming)
        # A section read before is not read again (radpilot.reports.sectionmemo).
        reading = memo.get(key, lead)
        if reading is None:
            reading = read_section(ctx, section, start, incoming, context_sections)
            memo.put(key, lead, reading)
        found_sentences, found, after = reading
        if found_sentences:
            sentences.extend(found_sentences)
            region, last = after, section.name
        mentions.extend(found)
    log.debug(
        "read a report: %d sections, %d sentences, %d mentions",
        len(sections),
        len(sentences),
        len(mentions),
    )
    if text is not original:
        sections, sentences, mentions = restore(original, sections, sentences, mentions)
    return Report(
        text=original,
        sections=sections,
        sentences=tuple(sentences),
        mentions=tuple(mentions),
        vocabulary=vocabulary,
    )
