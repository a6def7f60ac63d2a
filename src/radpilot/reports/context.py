"""radpilot's ConText engine: from the phrases found in one sentence to mentions with
certainty, change, laterality, locations, severity, size and flags.

The rules, in the ConText tradition (Harkema et al. 2009), with cue phrases as data:

* A cue's scope runs forward (``no X``), backward (``X is not seen``) or both ways from
  the cue, up to a terminator (``but``, ``however``, ``which``, ``;`` ...), the sentence
  end, or a character limit. Pseudo-cues (``no change``, ``not only``) are matched as
  whole phrases, so the shorter cue inside them never fires; "Effusion: no." looks back.
* Certainty: the nearest negation or uncertainty cue in scope decides; ``resolved``
  (a change cue) makes a finding absent now. A cue that can look both ways ("likely",
  "?") looks forward when a finding follows it, and a backward uncertainty cue hedges only
  the finding right before it ("opacity: pneumonia?"). A word that only continues a cue's
  phrase ("possibly with a") ends no scope (``openings`` in cues.json).
* A backward certainty cue stops at a comma clause with its own subject ("effusion,
  mediastinal contours are normal"), and a backward hedge about another image ("not well
  seen on the lateral view") says nothing of this one. Change words right after a
  certainty cue stay in its phrase ("possible unchanged effusion"); a size word after
  "and" opens a new, stated item of a negated list ("no effusion and mild cardiomegaly").
* ``or`` (or a slash, "atelectasis/scarring") between two findings makes both uncertain
  unless a negation covers them ("no effusion or pneumothorax"); ``versus`` hedges the
  findings right beside it. A hedge or statement cue before them opens the list:
  "cuffing, consistent with viral vs reactive airway disease" states the cuffing, and
  after "consistent with" a term right after "or" is an alternative even beside a word
  that is no finding.
* An uncertain mention records the kind of hedge that decided it (``Mention.hedge``:
  probable, possible, alternative; see ``data/README.md``), so that a label policy can
  tell "likely atelectasis" from "may represent atelectasis" without losing either. A
  statement cue ("consistent with") decides nothing: the mention stays present and records
  ``Hedge.CONSISTENT``.
* Hypothetical cues ("if", "evaluate for") flag a mention hypothetical (kept out of the
  labels); "rule out"/"evaluate for" in the findings or impression are the radiologist's
  open question and make it uncertain instead. Every mention in a context section
  (indication, history, comparison, technique, examination) is hypothetical.
* An anchored finding ("heart" + "enlarged", "costophrenic angle" + "blunted") is named
  only when a qualifier (or a "normal" cue, which makes it absent, or one of the finding's
  own ``normal_qualifiers``: "CP angles are clear" is no effusion) sits near the anchor;
  a cue between the two is the finding's ("the heart may be enlarged": uncertain). A term
  of another finding the same anchor names blocks nothing ("lungs are hyperinflated, not
  edematous"), and "normal" said of the anchor's first finding leaves another finding's
  qualifier its own ("lungs are well expanded and not edematous").
* A finding's word compounded with a device's ("catheter fracture", "fractured sternal
  wires", "fracture of the pacer lead", "the lead appears fractured") names the state of
  the device, not a finding.
* Attribute words (laterality, location, severity, measurements) go to the nearest
  mention in the same clause; a mention with no side of its own takes the side of the one
  before it in the clause ("left basilar atelectasis versus pneumonia"), never a device's
  ("right IJ catheter and effusion"). A side or place word in the next item's noun phrase
  is that item's ("cardiomegaly with left-sided implanted ICD": the ICD's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from radpilot.reports.certainty import decide
from radpilot.reports.deviceparts import past_states, without_device_parts
from radpilot.reports.matcher import Roles, Token
from radpilot.reports.models import (
    Certainty,
    Laterality,
    Measurement,
    Mention,
    Sentence,
    Span,
)
from radpilot.reports.places import offered_for, with_coordinated
from radpilot.reports.rules import CueCategory, CueRules, Modifiers
from radpilot.reports.scope import Draft, blocked, closes, cues_of, looks_ahead

_ALTERNATIVE_CUES = (CueCategory.ALTERNATIVE, CueCategory.DIFFERENTIAL)
_SIDES = {side.value: side for side in Laterality}  # a dict lookup, not Enum's __call__
_DIGIT = re.compile(r"\d")
_MEASURE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(?:x|by|\u00d7)\s*(\d+(?:\.\d+)?))?(?:\s*(?:x|by|\u00d7)\s*(\d+(?:\.\d+)?))?"
    r"\s*([a-zA-Z]+)\b"
)


def _ends_phrase(t: Token, anchor_of: tuple[str, ...]) -> bool:
    """A terminator between an anchor and its cue ends the phrase, except the anchor's own
    as-before qualifier: "contours unchanged and normal" is one phrase about the contours."""
    return t.roles.terminator and not any(f in t.roles.uncertain_for for f in anchor_of)


_JOINED = re.compile(r"[ \t]+and[ \t]+")


def _joined(tokens: list[Token], d: Draft, cue: Token, text: str) -> bool:
    """Are d's qualifier and the normal cue two words of one phrase, joined by "and"
    ("stable and normal", "normal and stable")? A comma or "with" between them gives the
    normal word to another anatomy ("heart size normal, stable mediastinal contours",
    "stable silhouette with normal heart size")."""
    q = next((t for t in tokens if t.start == d.qualifier_at), None)
    if q is None or not text:
        return False
    lo, hi = (q.end, cue.start) if q.end <= cue.start else (cue.end, q.start)
    return _JOINED.fullmatch(text, lo, hi) is not None


_AND = re.compile(r"[ \t]+(?:and|&)[ \t]+(?:the[ \t]+)?", re.IGNORECASE)


def _co_subject(t: Token, anchor: Token, before_cue: bool, text: str) -> bool:
    """Is ``t`` an anatomy word joined to ``anchor`` by "and", both before their cue ("Heart
    and lungs are normal")? Then it is the subject's other half, not a new clause, though
    an anatomy word ends a phrase elsewhere ("heart normal, lungs hyperinflated")."""
    return (
        before_cue
        and bool(text)
        and bool(t.roles.anchor_of)
        and _AND.fullmatch(text, anchor.end, t.start) is not None
    )


def _anchored(tokens: list[Token], rules: CueRules, text: str = "") -> list[Draft]:
    """Findings named by an anchor and a nearby qualifier, one per qualified finding
    ("aorta is tortuous and calcified" names two); a nearer "normal" cue wins instead."""
    drafts: list[Draft] = []
    for i, anchor in enumerate(tokens):
        r = anchor.roles
        if not r.anchor_of or r.finding is not None:
            continue
        best: dict[str, tuple[int, Draft]] = {}  # finding -> nearest qualifier
        normal: tuple[int, Draft] | None = None
        normal_cue: Token | None = None
        for j, other in enumerate(tokens):
            if j == i or other.roles.finding is not None:
                continue
            lo, hi = (anchor.end, other.start) if j > i else (other.end, anchor.start)
            gap = hi - lo
            if gap < 0 or gap > rules.anchor_scope_chars:
                continue
            said_normal = _said_normal(other.roles, r)
            if said_normal is None and not any(f in other.roles.qualifies for f in r.anchor_of):
                continue  # neither qualifies this anchor nor says it is normal
            between = tokens[min(i, j) + 1 : max(i, j)]
            if any(
                (_ends_phrase(t, r.anchor_of) and not _co_subject(t, anchor, j > i, text))
                or _other_findings(t, r.anchor_of)
                for t in between
            ):
                continue
            start, end = min(anchor.start, other.start), max(anchor.end, other.end)
            for f in r.anchor_of:
                if f in other.roles.qualifies and (f not in best or gap < best[f][0]):
                    unsure = f in other.roles.uncertain_for
                    best[f] = (
                        gap,
                        Draft(f, start, end, qualifier_at=other.start, uncertain=unsure),
                    )
            if said_normal is not None:
                if normal is None or gap < normal[0]:
                    normal = (gap, Draft(said_normal, start, end, anchor_cue=other.key))
                    normal_cue = other
        # A qualifier that only says the anatomy is as before ("unchanged", "stable") yields
        # to a normal word joined to it: "heart size is unchanged and normal" says what it is.
        # "normal" is said of the anchor's first finding; another finding's qualifier stays
        # that finding's ("lungs are well expanded and not edematous").
        if normal is not None and all(
            normal[0] < gap
            or (d.uncertain and normal_cue is not None and _joined(tokens, d, normal_cue, text))
            for gap, d in best.values()
        ):
            drafts.append(normal[1])
            best = {
                f: (gap, d)
                for f, (gap, d) in best.items()
                if f != normal[1].finding
                and not (d.uncertain and normal_cue and _joined(tokens, d, normal_cue, text))
            }
        drafts.extend(d for _, d in best.values())
    return drafts


def _said_normal(word: Roles, anchor: Roles) -> str | None:
    """The finding a word says is absent by calling the anchor normal: the anchor's first
    for a "normal" cue, or the first that lists the word among its normal_qualifiers
    ("costophrenic angles are clear"); None when it says nothing of the kind."""
    if any(c is CueCategory.NORMAL for c, _ in word.cues):
        return anchor.anchor_of[0]
    return next((f for f in anchor.anchor_of if f in word.normal_for), None)


def _other_findings(t: Token, anchored: tuple[str, ...]) -> bool:
    """Does a term between an anchor and a qualifier name a finding the anchor does not
    anchor? One it anchors is said of the same subject and blocks nothing: "lungs are
    hyperinflated, not edematous" names both."""
    return t.roles.finding is not None and t.roles.finding not in anchored


def _measurements(sentence: Sentence, mods: Modifiers) -> list[Measurement]:
    out: list[Measurement] = []
    text = sentence.text
    if _DIGIT.search(text) is None:
        return out
    for m in _MEASURE.finditer(text):
        unit = m.group(4).lower()
        factor = mods.units.get(unit)
        if factor is None:
            continue
        values = [float(g) for g in m.group(1, 2, 3) if g is not None]
        value = max(values)
        start = sentence.start + m.start()
        end = sentence.start + m.end()
        out.append(Measurement(value, unit, round(value * factor, 3), Span(start, end, m.group())))
    return out


def mentions_in_sentence(
    sentence: Sentence,
    tokens: list[Token],
    text: str,
    rules: CueRules,
    mods: Modifiers,
    context_section: bool,
    unsized: frozenset[str] = frozenset(),
) -> list[Mention]:
    """Every mention of a finding in one sentence, with its attributes and evidence.

    ``unsized``: findings a measurement never sizes, the devices (a tube "4 cm above the
    carina" is a position, not a size)."""
    drafts = _drafts(tokens, rules, text)
    states: list[Draft] = []  # a device's state in a finding's words, before the device
    if unsized and len(drafts) > 1:
        drafts, states = without_device_parts(drafts, text, unsized)
    if not drafts:
        return []
    attrs = _attributes(with_coordinated(tokens, text, mods), drafts, rules, text, unsized)
    sizes = _sizes(sentence, drafts, mods, unsized, rules)
    cue_tokens: list[Token] = []
    alternatives: list[Token] = []  # those with an "or" or differential cue
    for t in tokens:
        if t.roles.cues:
            cue_tokens.append(t)
            for c, _ in t.roles.cues:
                if c in _ALTERNATIVE_CUES and (t.key != "/" or _slash_pair(t, drafts, unsized)):
                    alternatives.append(t)
                    break
    ahead = looks_ahead(tokens, cue_tokens, drafts, rules, text, sentence.end)
    if ":" in sentence.text or "-" in sentence.text:
        ahead.update(-1 - t.start for t in cue_tokens if closes(t, text, sentence, drafts))
    sent_span = Span(sentence.start, sentence.end, sentence.text)
    out: list[Mention] = []
    for i, d in enumerate(drafts):
        reach = past_states(d, cue_tokens, states) if states else cue_tokens
        found = cues_of(d, tokens, reach, drafts, ahead, rules, text, unsized)
        certainty, hedge, cues, change = decide(
            d, i, found, tokens, alternatives, drafts, rules, context_section, text
        )
        side = attrs.lateral.get(i)
        laterality = side[1] if side else d.term_laterality
        places = (*d.term_locations, *attrs.locs.get(i, ()))
        if (
            laterality is None
            and i + 1 < len(drafts)
            and _alternatives(d, drafts[i + 1], alternatives, text)
        ):
            # "scarring or atelectasis in the right lung base": both are at the right base
            if i + 1 in attrs.after:
                laterality = attrs.lateral[i + 1][1]
            places = (*places, *attrs.locs.get(i + 1, ()))
        if laterality is None and out and certainty is not Certainty.ABSENT:
            if out[-1].finding not in unsized or d.finding in unsized:
                laterality = _shared_side(out[-1], d, tokens)  # a device's side is no finding's
        if not places and hedge is not None and certainty is not Certainty.ABSENT:
            seen = offered_for(out, d.finding, d.start, text)
            if seen is not None:  # "opacity in the left upper lobe, likely scarring"
                places = seen.locations
                laterality = laterality or (seen.laterality.value if seen.laterality else None)
        laterality = _placed_side(laterality, places, mods)
        out.append(
            Mention(
                finding=d.finding,
                certainty=certainty,
                span=Span(d.start, d.end, text[d.start : d.end]),
                sentence=sent_span,
                section=sentence.section,
                laterality=_side(laterality) if laterality else None,
                locations=tuple(dict.fromkeys(places)),
                severity=attrs.sev[i][1] if i in attrs.sev else None,
                size=sizes.get(i),
                change=change,
                historical=d.historical or found.historical is not None,
                hypothetical=context_section or found.hypothetical is not None,
                cues=tuple(dict.fromkeys(cues)),
                hedge=hedge if certainty is not Certainty.ABSENT else None,
            )
        )
    return out


def _slash_pair(t: Token, drafts: list[Draft], devices: frozenset[str]) -> bool:
    """Does a slash join two findings as alternatives ("atelectasis/scarring")? Not two
    names of one thing: one finding twice ("tortuous/ectatic aorta") or a device
    ("pacemaker/ICD")."""
    before = [d for d in drafts if d.end == t.start]
    after = [d for d in drafts if d.start == t.end]
    if not before or not after:
        return False
    x, y = before[-1].finding, after[0].finding
    return x != y and x not in devices and y not in devices


def _drafts(tokens: list[Token], rules: CueRules, text: str) -> list[Draft]:
    """The findings a sentence names (terms, then anchored findings not already named),
    in text order."""
    drafts = [
        Draft(
            t.roles.finding,
            t.start,
            t.end,
            term_locations=t.roles.term_locations,
            term_laterality=t.roles.term_laterality,
            historical=t.roles.historical_term,
        )
        for t in tokens
        if t.roles.finding
    ]
    for a in _anchored(tokens, rules, text):
        if not any(d.finding == a.finding and d.start < a.end and a.start < d.end for d in drafts):
            drafts.append(a)
    drafts.sort(key=lambda d: d.start)
    return drafts


@dataclass(slots=True, init=False)
class _Attributes:
    lateral: dict[int, tuple[int, str]]  # draft index -> (gap, side)
    locs: dict[int, list[str]]
    sev: dict[int, tuple[int, str]]
    after: set[int] = field(default_factory=set)  # drafts whose side word follows them

    def __init__(
        self,
        lateral: dict[int, tuple[int, str]],
        locs: dict[int, list[str]],
        sev: dict[int, tuple[int, str]],
        after: set[int] | None = None,
    ) -> None:
        self.lateral = lateral
        self.locs = locs
        self.sev = sev
        self.after = set() if after is None else after


def _attributes(
    tokens: list[Token],
    drafts: list[Draft],
    rules: CueRules,
    text: str,
    devices: frozenset[str] = frozenset(),
) -> _Attributes:
    """Attribute words go to the nearest mention in the same clause; one after a device and
    before the next item of a list is the device's ("PICC with tip in the SVC, nodule")."""
    out = _Attributes({}, {}, {})
    for t in tokens:
        r = t.roles
        if r.laterality is None and r.location is None and r.severity is None:
            continue
        best_i, best_gap = -1, 1 << 30
        for i, d in enumerate(drafts):
            if d.start <= t.start and t.end <= d.end:
                gap = 0
            elif t.end <= d.start:
                gap = d.start - t.end
            elif t.start >= d.end:
                gap = t.start - d.end + 1  # modifiers more often precede their finding
            else:
                gap = 0
            if t.end <= d.start and devices and _device_before(t, drafts, i, text, devices):
                continue
            if t.start >= d.end and _opens_next(t, drafts, i, text):
                continue
            if gap < best_gap and gap <= rules.modifier_scope_chars:
                lo, hi = (t.end, d.start) if t.end <= d.start else (d.end, t.start)
                if hi <= lo or not _clause_ends(tokens, lo, hi, t.start >= d.end, rules):
                    best_i, best_gap = i, gap
        if best_i < 0:
            continue
        if r.laterality is not None and (
            best_i not in out.lateral or out.lateral[best_i][0] > best_gap
        ):
            out.lateral[best_i] = (best_gap, r.laterality)
            if t.start >= drafts[best_i].end:
                out.after.add(best_i)
            else:
                out.after.discard(best_i)
        if r.location is not None:
            places = out.locs.setdefault(best_i, [])
            if r.location not in places:
                places.append(r.location)
        if r.severity is not None and (best_i not in out.sev or out.sev[best_i][0] > best_gap):
            out.sev[best_i] = (best_gap, r.severity)
    return out


def _clause_ends(tokens: list[Token], lo: int, hi: int, trailing: bool, rules: CueRules) -> bool:
    """Does a terminator between lo and hi end the finding's clause for an attribute word?
    After the finding (``trailing``), a terminator that only says that it is there ("are
    seen", "is noted", "is present": its last word a predicate) goes on in the finding's
    clause, and the side or place after it is the finding's: "effusions are seen
    bilaterally", "opacity is seen at the right base"."""
    if not trailing:
        return blocked(tokens, lo, hi)
    for t in tokens:
        if t.start >= hi:
            return False
        if t.start >= lo and t.end <= hi and t.roles.terminator:
            if t.key.rsplit(" ", 1)[-1] not in rules.predicates:
                return True
    return False


_NEXT_ITEM = re.compile(r",|\band\b")
# What ends a noun phrase after an attribute word: punctuation, a conjunction, a
# preposition, an article or a verb ("nodule in the right base suggests a granuloma").
_PHRASE_BREAK = re.compile(
    r"[,;:(]|\b(?:with|and|or|of|in|on|at|from|to|by|for|but|a|an|the|which|that|is|are|was|"
    r"were|has|have|may|could|seen|noted|present|likely|probably|suggest\w*|represent\w*|"
    r"due)\b",
    re.IGNORECASE,
)
# What opens the next item of a list before an attribute word: "with", "and", a comma.
_ITEM_BREAK = re.compile(r"[,;]|\b(?:with|and|plus)\b", re.IGNORECASE)


def _opens_next(t: Token, drafts: list[Draft], i: int, text: str) -> bool:
    """Is attribute word t (after draft i) a word of the next item's noun phrase instead?
    "With", "and" or a comma opens that item between draft i and t, and at most three words
    that end no phrase stand between t and the next finding: "cardiomegaly with left-sided
    implanted ICD" (the ICD's side), "low lung volumes with right basilar atelectasis"."""
    after = [d for d in drafts[i + 1 :] if d.start >= t.end]
    if not after:
        return False
    gap = text[t.end : after[0].start]
    if len(gap.split()) > 3 or _PHRASE_BREAK.search(gap):
        return False
    return _ITEM_BREAK.search(text[drafts[i].end : t.start]) is not None


def _device_before(
    t: Token, drafts: list[Draft], i: int, text: str, devices: frozenset[str]
) -> bool:
    """Is attribute word t (before draft i) the device's before it, the next list item
    standing after a comma or "and"?"""
    if drafts[i].finding in devices or not _NEXT_ITEM.search(text, t.end, drafts[i].start):
        return False
    before = [d for d in drafts if d.end <= t.start]
    return bool(before) and before[-1].finding in devices


def _sizes(
    sentence: Sentence,
    drafts: list[Draft],
    mods: Modifiers,
    unsized: frozenset[str],
    rules: CueRules,
) -> dict[int, Measurement]:
    """Each measurement sizes the nearest finding a measurement can size."""
    sizes: dict[int, Measurement] = {}
    for meas in _measurements(sentence, mods):
        gaps = [
            (
                abs(meas.span.start - d.end)
                if meas.span.start >= d.end
                else abs(d.start - meas.span.end),
                i,
            )
            for i, d in enumerate(drafts)
            if d.finding not in unsized
        ]
        if not gaps:
            continue
        gap, i = min(gaps)
        if gap <= rules.modifier_scope_chars and i not in sizes:
            sizes[i] = meas
    return sizes


def _shared_side(prev: Mention, d: Draft, tokens: list[Token]) -> str | None:
    """ "Left basilar atelectasis versus pneumonia": the side is said once for both."""
    if (
        prev.laterality is not None
        and prev.certainty is not Certainty.ABSENT
        and not blocked(tokens, prev.span.end, d.start)
    ):
        return prev.laterality.value
    return None


# Around the alternative cue joining two findings: nothing before it, up to two words after
# it ("scarring or subsegmental atelectasis").
_BEFORE_ALTERNATIVE = re.compile(r"[ \t]*")
_AFTER_ALTERNATIVE = re.compile(r"[ \t]*(?:[A-Za-z-]+[ \t]+){0,2}")


def _alternatives(d: Draft, nxt: Draft, alternatives: list[Token], text: str) -> bool:
    """Are ``d`` and the next finding two readings of one thing, joined by an alternative
    cue of ``cues.json`` right between them ("X or Y", "X versus Y")? Then what is said
    after the second, a side or a place, is said of both."""
    for t in alternatives:
        if d.end <= t.start and t.end <= nxt.start:
            return bool(
                _BEFORE_ALTERNATIVE.fullmatch(text, d.end, t.start)
                and _AFTER_ALTERNATIVE.fullmatch(text, t.end, nxt.start)
            )
    return False


def _placed_side(laterality: str | None, places: tuple[str, ...], mods: Modifiers) -> str | None:
    """The side of a finding placed in a lobe (``modifiers.json`` location_sides): a lobe's
    side where no side word gave one ("RUL opacity"), bilateral for lobes of both sides
    ("granulomas in the right upper lobe and left lower lobe")."""
    sided = mods.location_sides
    if not sided or not places:
        return laterality
    sides = {sided[p] for p in places if p in sided}
    if len(sides) > 1:
        return Laterality.BILATERAL.value
    if sides and laterality is None:
        return next(iter(sides)).value
    return laterality


def _side(value: str) -> Laterality:
    side = _SIDES.get(value)
    return side if side is not None else Laterality(value)
