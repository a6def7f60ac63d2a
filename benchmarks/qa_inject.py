"""Seeded error injection into OpenI reports, for ``qa_injection.py``.

Written apart from the checker on purpose: it never imports ``radpilot.workflow`` nor reads
its rules, and picks where to inject with its own word lists and a crude negation test, so
that what it injects is what a radiologist's slip looks like, not what the checker knows.
It returns the edited text and, separately, what it did (kind, target spans); the checker
is given the text alone.

Each injection is decided by ``random.Random(f"{seed}:{report_id}:{kind}")``: the same
seed gives the same edits on every machine, and one report's edit does not depend on the
others.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# The error types, and the problem kind each should raise.
EXPECTED = {
    "swap_laterality": "laterality_conflict",
    "drop_impression_item": "missing_from_impression",
    "remove_communication": "critical_not_communicated",
    "insert_critical": "critical_not_communicated",
    "contradict": "internal_contradiction",
}

# Nouns a laterality or an impression item is about (the injector's own list).
NOUNS = (
    "pleural effusion",
    "effusion",
    "pneumothorax",
    "consolidation",
    "pneumonia",
    "atelectasis",
    "opacity",
    "opacities",
    "infiltrate",
    "nodule",
    "mass",
    "fracture",
    "edema",
    "airspace disease",
    "granuloma",
    "scarring",
)
# Further sided nouns a laterality swap may be about (plurals and lesions the list above
# leaves out: "left-sided rib fractures", "right upper lobe cavity").
SIDED_NOUNS = (
    *NOUNS,
    "effusions",
    "pneumothoraces",
    "nodules",
    "masses",
    "fractures",
    "cavity",
    "density",
    "densities",
    "collapse",
    "lesion",
    "infiltrates",
    "airspace opacity",
    "airspace opacities",
)
# Findings a radiologist must carry into the impression when they are new or acute.
MUST_SUMMARISE = (
    "effusion",
    "effusions",
    "pneumothorax",
    "consolidation",
    "pneumonia",
    "edema",
    "mass",
    "masses",
    "nodule",
    "nodules",
    "fracture",
    "fractures",
    "airspace disease",
    "infiltrate",
    "infiltrates",
    "collapse",
)
# Omitting an old, chronic, improving or trivial finding from the impression is no error.
NOT_ACUTE = re.compile(
    r"\b(?:stable|unchanged|chronic|old|healed|healing|calcified|granulomatous|"
    r"trace|tiny|minimal|mild|mildly|previous|prior|remote|again|residual|persistent|"
    r"improved|improving|improvement|decreased|decreasing|resolving)\b",
    re.IGNORECASE,
)
# Words an impression may summarise a finding by instead ("focal airspace disease ...
# This is most concerning for pneumonia." names the airspace disease): dropping one
# sentence is an omission only when what is left names none of its group.
SUMMARY_GROUPS = (
    (
        "consolidation",
        "pneumonia",
        "airspace disease",
        "infiltrate",
        "infiltrates",
        "opacity",
        "opacities",
        "infection",
    ),
    ("effusion", "effusions", "heart failure", "chf", "fluid overload", "volume overload"),
    ("edema", "heart failure", "chf", "congestion", "fluid overload", "volume overload"),
    ("mass", "masses", "nodule", "nodules", "neoplasm", "malignancy", "lesion", "tumor"),
    ("fracture", "fractures"),
    ("pneumothorax", "pneumothoraces"),
    ("collapse", "atelectasis"),
)
_NEGATED = re.compile(
    r"\b(?:no|not|without|negative|free of|resolved|resolution|removed|removal|clear)\b",
    re.IGNORECASE,
)
_HEDGED = re.compile(
    r"\b(?:may|might|possible|possibly|probable|probably|likely|suspect|suspicious|"
    r"questionable|cannot|could|versus|vs|or|concerning|suggest|suggests|suggesting|"
    r"differential|consider|compatible)\b",
    re.IGNORECASE,
)
_SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)
_BOTH_SIDES = re.compile(r"\b(?:bilateral|bilaterally|both|bibasilar|bibasal)\b", re.IGNORECASE)
_COMMUNICATION = re.compile(
    r"\b(?:discussed|called|communicated|notified|notify|notification|telephone|telephoned|"
    r"paged|conveyed|informed|relayed|veriphy|primordial)\b",
    re.IGNORECASE,
)
_CRITICAL_WORDS = re.compile(
    r"\b(?:pneumothorax|pneumothoraces|free air|pneumoperitoneum|pneumomediastinum|"
    r"mainstem|malposition\w*)\b",
    re.IGNORECASE,
)

CRITICAL_SENTENCES = (
    "Large right pneumothorax.",
    "New moderate left pneumothorax with mediastinal shift to the right.",
    "Small left apical pneumothorax.",
    "There is free air under the right hemidiaphragm.",
    "Pneumoperitoneum.",
    "Large left pleural effusion.",
    "The endotracheal tube tip is in the right mainstem bronchus.",
    "Pneumomediastinum.",
)
COMMUNICATIONS = (
    "These findings were discussed with Dr. Smith at 10:40 by telephone.",
    "Critical result called to the ordering physician at 14:05.",
    "Findings communicated to the emergency department physician, who acknowledged receipt.",
    "Dr. Jones was notified of the results at 3 p.m.",
    "Results were conveyed to the patient's nurse at 0915 hours.",
)


@dataclass(frozen=True)
class Injection:
    kind: str  # one of EXPECTED
    text: str  # the edited report
    targets: tuple[tuple[int, int], ...]  # spans of the edited text the error is in
    allowed: frozenset[str]  # problem kinds a correct checker may raise for it


def report_text(findings: str, impression: str) -> str:
    """As ``OpenIReport.text`` builds it."""
    parts = []
    if findings:
        parts.append("FINDINGS: " + findings)
    if impression:
        parts.append("IMPRESSION: " + impression)
    return "\n".join(parts)


def _offsets(findings: str) -> tuple[int, int]:
    """Where FINDINGS and IMPRESSION content start in ``report_text``."""
    f0 = len("FINDINGS: ")
    i0 = (f0 + len(findings) + 1 if findings else 0) + len("IMPRESSION: ")
    return f0, i0


def sentences(section: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: ends at a period before a space or the end."""
    out, start = [], 0
    for m in re.finditer(r"\.(?:\s+|$)", section):
        end = m.start() + 1
        if section[start:end].strip(" ."):
            out.append((start, end))
        start = m.end()
    if section[start:].strip():
        out.append((start, len(section)))
    return out


def _words_at(section: str, noun: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rf"\b{re.escape(noun)}\b", section, re.IGNORECASE)]


def _stated(section: str, noun: str) -> list[tuple[int, int]]:
    """Where a noun is said plainly (its sentence neither negates nor hedges)."""
    out = []
    for s, e in sentences(section):
        piece = section[s:e]
        if _NEGATED.search(piece) or _HEDGED.search(piece):
            continue
        out += [(s + a, s + b) for a, b in _words_at(piece, noun)]
    return out


def swap_laterality(rid: str, findings: str, impression: str, seed: int) -> Injection | None:
    """Turn one side word of an IMPRESSION sentence into the other, where FINDINGS state
    the same noun on the same side (and neither says it on both sides). A hedged
    impression sentence is a site too: "left basilar atelectasis or scar" turned right is
    as wrong as a certain one."""
    sites = []
    for s, e in sentences(impression):
        piece = impression[s:e]
        sides = {m.group(1).lower() for m in _SIDE.finditer(piece)}
        if len(sides) != 1 or _BOTH_SIDES.search(piece):
            continue
        side = sides.pop()
        for noun in SIDED_NOUNS:
            if not _words_at(piece, noun):
                continue
            support = [
                (fs, fe)
                for fs, fe in sentences(findings)
                if _words_at(findings[fs:fe], noun)
                and {m.group(1).lower() for m in _SIDE.finditer(findings[fs:fe])} == {side}
                and not _BOTH_SIDES.search(findings[fs:fe])
                and not _NEGATED.search(findings[fs:fe])
            ]
            if support:
                sites.append((s, e))
                break
    if not sites:
        return None
    rng = random.Random(f"{seed}:{rid}:swap_laterality")
    s, e = rng.choice(sites)
    # Every side word of the sentence (all the same side): turning one of "left midlung
    # and left basilar atelectasis" would leave a sentence that names both sides.
    new, targets, last = "", [], 0
    _, i0 = _offsets(findings)
    for m in _SIDE.finditer(impression, s, e):
        word = m.group(1)
        other = {"left": "right", "right": "left"}[word.lower()]
        other = other.capitalize() if word[0].isupper() else other
        new += impression[last : m.start()]
        targets.append((i0 + len(new), i0 + len(new) + len(other)))
        new += other
        last = m.end()
    new += impression[last:]
    return Injection(
        "swap_laterality",
        report_text(findings, new),
        tuple(targets),
        frozenset({"laterality_conflict"}),
    )


def drop_impression_item(rid: str, findings: str, impression: str, seed: int) -> Injection | None:
    """Remove the IMPRESSION sentence that summarises a new or acute FINDINGS finding (one
    the impression names in that sentence only); one such sentence, picked by the seed."""
    sites = _drop_sites(findings, impression)
    if not sites:
        return None
    rng = random.Random(f"{seed}:{rid}:drop_impression_item")
    return _dropped(findings, impression, rng.choice(sites))


def drop_impression_items(findings: str, impression: str) -> list[Injection]:
    """Every IMPRESSION sentence that alone summarises a new or acute FINDINGS finding, each
    removed in its own copy of the report (a larger sample of drops: ``qa_injection.py
    --drops every``). Besides the sentences :func:`drop_impression_item` picks from, one
    that names the finding by another word of its group counts ("consolidation" in
    FINDINGS, "Right lower lobe pneumonia." the only impression sentence of the group)."""
    by_sentence: dict[tuple[int, int], _DropSite] = {}
    for site in _drop_sites(findings, impression, by_group=True):
        by_sentence.setdefault(site[1], site)  # the first noun of MUST_SUMMARISE's order
    return [_dropped(findings, impression, site) for site in by_sentence.values()]


# (noun, the impression sentence that alone names it, where FINDINGS state it plainly)
_DropSite = tuple[str, tuple[int, int], list[tuple[int, int]]]


def _drop_sites(findings: str, impression: str, *, by_group: bool = False) -> list[_DropSite]:
    sites = []
    for noun in MUST_SUMMARISE:
        group = {noun}.union(*(g for g in SUMMARY_GROUPS if noun in g))
        names = group if by_group else {noun}
        where = [
            (s, e)
            for s, e in sentences(impression)
            if any(_words_at(impression[s:e], w) for w in names)
        ]
        stated = [
            span
            for span in _stated(findings, noun)
            if not any(
                NOT_ACUTE.search(findings[s:e]) for s, e in sentences(findings) if s <= span[0] < e
            )
        ]
        if len(where) != 1 or not stated or _NEGATED.search(impression[slice(*where[0])]):
            continue
        rest = impression[: where[0][0]] + " " + impression[where[0][1] :]
        if not any(_words_at(rest, word) for word in group):
            sites.append((noun, where[0], stated))
    return sites


def _dropped(findings: str, impression: str, site: _DropSite) -> Injection:
    noun, (s, e), stated = site
    new = (impression[:s] + impression[e:]).strip()
    if not re.search(r"[A-Za-z]", new):
        new = "No acute cardiopulmonary abnormality."
    f0, _ = _offsets(findings)
    # What the checker should point at: the finding's words in FINDINGS, and those of any
    # other word of its group ("airspace disease consistent with pneumonia") or of another
    # finding the dropped sentence alone summarised ("Left lower lobe pneumonia and small
    # left effusion." dropped leaves out both).
    every = {w for g in SUMMARY_GROUPS for w in g} | set(MUST_SUMMARISE)
    dropped = {w for w in every if _words_at(impression[s:e], w)} | {noun}
    dropped = dropped.union(*(g for g in SUMMARY_GROUPS if dropped & set(g)))
    also = [
        span
        for word in sorted(dropped - {noun})
        if not _words_at(new, word)
        for span in _stated(findings, word)
    ]
    targets = tuple((f0 + a, f0 + b) for a, b in (*stated, *also))
    return Injection(
        "drop_impression_item",
        report_text(findings, new),
        targets,
        frozenset({"missing_from_impression"}),
    )


def _ended(text: str) -> str:
    """``text`` closed by a period where its last sentence has none: a sentence added after
    it must not run on into it ("... aorta, unchanged Large left pleural effusion.")."""
    return text + "." if text and not text.endswith((".", "!", "?", ":", ";")) else text


def _insert_sentence(section: str, rng: random.Random, sentence: str) -> tuple[str, int]:
    bounds = [0] + [e for _, e in sentences(section)]
    at = rng.choice(bounds)
    before, after = _ended(section[:at].rstrip()), section[at:].lstrip()
    joined = (before + " " if before else "") + sentence
    return joined + (" " + after if after else ""), len(before) + (1 if before else 0)


def insert_critical(rid: str, findings: str, impression: str, seed: int) -> Injection | None:
    """Add a critical finding to FINDINGS and IMPRESSION of a report that names no critical
    finding and documents no communication."""
    text = report_text(findings, impression)
    if not findings or not impression or _COMMUNICATION.search(text):
        return None
    if any(_CRITICAL_WORDS.search(text[s:e]) for s, e in _plain_sentences(text)):
        return None
    rng = random.Random(f"{seed}:{rid}:insert_critical")
    sentence = rng.choice(CRITICAL_SENTENCES)
    if "effusion" in sentence and "effusion" in text.lower():
        return None  # a large effusion in a report that already speaks of effusions
    new_f, at_f = _insert_sentence(findings, rng, sentence)
    new_i = sentence + " " + impression
    f0, i0 = _offsets(new_f)
    targets = ((f0 + at_f, f0 + at_f + len(sentence)), (i0, i0 + len(sentence)))
    return Injection(
        "insert_critical",
        report_text(new_f, new_i),
        targets,
        # "No pneumothorax." elsewhere in the report now contradicts it too.
        frozenset({"critical_not_communicated", "internal_contradiction"}),
    )


def _plain_sentences(text: str) -> list[tuple[int, int]]:
    return [(s, e) for s, e in sentences(text) if not _NEGATED.search(text[s:e])]


def with_communication(
    rid: str, findings: str, impression: str, seed: int
) -> tuple[Injection, Injection] | None:
    """A critical finding and its communication added (a control: nothing to flag), and the
    same with the communication removed (``remove_communication``)."""
    base = insert_critical(rid, findings, impression, seed)
    if base is None:
        return None
    rng = random.Random(f"{seed}:{rid}:remove_communication")
    statement = rng.choice(COMMUNICATIONS)
    control = Injection("control", base.text + " " + statement, (), frozenset())
    return control, Injection("remove_communication", base.text, base.targets, base.allowed)


def remove_communication(rid: str, findings: str, impression: str) -> Injection | None:
    """A report that documents the communication of a critical finding, with that
    statement removed."""
    text = report_text(findings, impression)
    if not any(_CRITICAL_WORDS.search(text[s:e]) for s, e in _plain_sentences(text)):
        return None
    for section, other in ((impression, findings), (findings, impression)):
        for s, e in sentences(section):
            if _COMMUNICATION.search(section[s:e]):
                new = (section[:s] + section[e:]).strip()
                if section is impression:
                    edited = report_text(findings, new)
                else:
                    edited = report_text(new, other)
                targets = tuple(m.span() for m in _CRITICAL_WORDS.finditer(edited))
                return Injection(
                    "remove_communication",
                    edited,
                    targets,
                    frozenset({"critical_not_communicated"}),
                )
    return None


def contradict(rid: str, findings: str, impression: str, seed: int) -> Injection | None:
    """Deny in the IMPRESSION a noun FINDINGS state plainly ("No effusion."), or, for a
    noun FINDINGS deny ("No pneumothorax."), state it in the IMPRESSION."""
    if not findings or not impression:
        return None
    options: list[tuple[str, str, list[tuple[int, int]]]] = []
    for noun in NOUNS:
        if noun == "opacities" or _words_at(impression, noun):
            continue
        stated = _stated(findings, noun)
        if stated:
            options.append((noun, f"No {noun}.", stated))
            continue
        denied = [
            (s, e)
            for s, e in sentences(findings)
            if re.match(rf"\s*no {re.escape(noun)}\b", findings[s:e], re.IGNORECASE)
        ]
        if denied:
            s, e = denied[0]
            span = _words_at(findings[s:e], noun)[0]
            options.append((noun, f"There is a {noun}.", [(s + span[0], s + span[1])]))
    if not options:
        return None
    rng = random.Random(f"{seed}:{rid}:contradict")
    noun, sentence, spans = rng.choice(options)
    kept = _ended(impression.rstrip())
    new_i = kept + " " + sentence
    f0, i0 = _offsets(findings)
    at = i0 + len(kept) + 1
    targets = (*((f0 + a, f0 + b) for a, b in spans), (at, at + len(sentence)))
    allowed = {"internal_contradiction"}
    if sentence.startswith("There") and _CRITICAL_WORDS.search(noun):
        allowed.add("critical_not_communicated")
    return Injection("contradict", report_text(findings, new_i), targets, frozenset(allowed))
