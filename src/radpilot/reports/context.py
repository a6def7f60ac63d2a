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
  the finding right before it ("opacity: pneumonia?").
* ``or`` between two findings makes both uncertain unless a negation covers them ("no
  effusion or pneumothorax"); ``versus`` hedges the findings right beside it.
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
  only when a qualifier (or a "normal" cue, which makes it absent) sits near the anchor.
* A finding's word compounded with a device's ("catheter fracture", "fractured sternal
  wires", "fracture of the pacer lead") names the state of the device, not a finding.
* Attribute words (laterality, location, severity, measurements) go to the nearest
  mention in the same clause; a mention with no side of its own takes the side of the one
  before it in the clause ("left basilar atelectasis versus pneumonia").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from radpilot.reports.matcher import Token
from radpilot.reports.models import (
    Certainty,
    Change,
    Hedge,
    Laterality,
    Measurement,
    Mention,
    Sentence,
    Span,
)
from radpilot.reports.rules import CueCategory, CueRules, Direction, Modifiers

_CHANGE = {
    CueCategory.CHANGE_NEW: Change.NEW,
    CueCategory.CHANGE_WORSE: Change.WORSE,
    CueCategory.CHANGE_BETTER: Change.BETTER,
    CueCategory.CHANGE_STABLE: Change.STABLE,
    CueCategory.CHANGE_RESOLVED: Change.RESOLVED,
}
_CERTAINTY_CUES = (CueCategory.NEGATION, CueCategory.UNCERTAINTY)
_ALTERNATIVE_CUES = (CueCategory.ALTERNATIVE, CueCategory.DIFFERENTIAL)
_SIDES = {side.value: side for side in Laterality}  # a dict lookup, not Enum's __call__
_DIGIT = re.compile(r"\d")
_WORD_AFTER = re.compile(r"[ \t]+[A-Za-z]")
_MEASURE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(?:x|by|\u00d7)\s*(\d+(?:\.\d+)?))?(?:\s*(?:x|by|\u00d7)\s*(\d+(?:\.\d+)?))?"
    r"\s*([a-zA-Z]+)\b"
)


@dataclass(slots=True)
class _Draft:
    finding: str
    start: int
    end: int
    anchor_cue: str | None = None  # the "normal" phrase that made an anchored finding absent
    qualifier_at: int = -1  # where an anchored finding's qualifier starts: its own cues count
    uncertain: bool = False  # named by an uncertain qualifier ("heart size is stable")
    term_locations: tuple[str, ...] = ()
    term_laterality: str | None = None


def _blocked(tokens: list[Token], lo: int, hi: int) -> bool:
    """Is there a terminator strictly between offsets lo and hi?"""
    for t in tokens:
        if t.start >= hi:
            return False
        if t.start >= lo and t.end <= hi and t.roles.terminator:
            return True
    return False


def _distance(cue: Token, d: _Draft, direction: Direction, rules: CueRules) -> int | None:
    """Characters from cue to mention when the mention is inside the cue's scope."""
    if direction in (Direction.FORWARD, Direction.BIDIRECTIONAL) and cue.end <= d.start:
        gap = d.start - cue.end
        return gap if gap <= rules.forward_scope_chars else None
    if direction in (Direction.BACKWARD, Direction.BIDIRECTIONAL) and cue.start >= d.end:
        gap = cue.start - d.end
        return gap if gap <= rules.backward_scope_chars else None
    return None


def _anchored(tokens: list[Token], rules: CueRules) -> list[_Draft]:
    """Findings named by an anchor and a nearby qualifier, one per qualified finding
    ("aorta is tortuous and calcified" names two); a nearer "normal" cue wins instead."""
    drafts: list[_Draft] = []
    for i, anchor in enumerate(tokens):
        r = anchor.roles
        if not r.anchor_of or r.finding is not None:
            continue
        best: dict[str, tuple[int, _Draft]] = {}  # finding -> nearest qualifier
        normal: tuple[int, _Draft] | None = None
        for j, other in enumerate(tokens):
            if j == i or other.roles.finding is not None:
                continue
            lo, hi = (anchor.end, other.start) if j > i else (other.end, anchor.start)
            gap = hi - lo
            if gap < 0 or gap > rules.anchor_scope_chars:
                continue
            is_normal = any(c is CueCategory.NORMAL for c, _ in other.roles.cues)
            if not is_normal and not any(f in other.roles.qualifies for f in r.anchor_of):
                continue  # neither qualifies this anchor nor says it is normal
            between = tokens[min(i, j) + 1 : max(i, j)]
            if any(t.roles.terminator or t.roles.finding for t in between):
                continue
            start, end = min(anchor.start, other.start), max(anchor.end, other.end)
            for f in r.anchor_of:
                if f in other.roles.qualifies and (f not in best or gap < best[f][0]):
                    unsure = f in other.roles.uncertain_for
                    best[f] = (
                        gap,
                        _Draft(f, start, end, qualifier_at=other.start, uncertain=unsure),
                    )
            if is_normal:
                if normal is None or gap < normal[0]:
                    normal = (gap, _Draft(r.anchor_of[0], start, end, anchor_cue=other.key))
        if normal is not None and all(normal[0] < gap for gap, _ in best.values()):
            drafts.append(normal[1])
        else:
            drafts.extend(d for _, d in best.values())
    return drafts


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
    drafts = _drafts(tokens, rules)
    if unsized and len(drafts) > 1:
        drafts = _without_device_parts(drafts, text, unsized)
    if not drafts:
        return []
    attrs = _attributes(tokens, drafts, rules)
    sizes = _sizes(sentence, drafts, mods, unsized, rules)
    cue_tokens: list[Token] = []
    alt_tokens: list[Token] = []  # those with an "or" or differential cue
    for t in tokens:
        if t.roles.cues:
            cue_tokens.append(t)
            for c, _ in t.roles.cues:
                if c in _ALTERNATIVE_CUES:
                    alt_tokens.append(t)
                    break
    ahead = _looks_ahead(tokens, cue_tokens, drafts, rules, text, sentence.end)
    if ":" in sentence.text or "-" in sentence.text:
        ahead.update(-1 - t.start for t in cue_tokens if _closes(t, text, sentence))
    sent_span = Span(sentence.start, sentence.end, sentence.text)
    out: list[Mention] = []
    for i, d in enumerate(drafts):
        found = _cues_of(d, tokens, cue_tokens, drafts, ahead, rules)
        certainty, hedge, cues, change = _decide(
            d, i, found, tokens, alt_tokens, drafts, rules, context_section
        )
        side = attrs.lateral.get(i)
        laterality = side[1] if side else d.term_laterality
        if laterality is None and out and certainty is not Certainty.ABSENT:
            laterality = _shared_side(out[-1], d, tokens)
        out.append(
            Mention(
                finding=d.finding,
                certainty=certainty,
                span=Span(d.start, d.end, text[d.start : d.end]),
                sentence=sent_span,
                section=sentence.section,
                laterality=_side(laterality) if laterality else None,
                locations=tuple(dict.fromkeys((*d.term_locations, *attrs.locs.get(i, ())))),
                severity=attrs.sev[i][1] if i in attrs.sev else None,
                size=sizes.get(i),
                change=change,
                historical=found.historical is not None,
                hypothetical=context_section or found.hypothetical is not None,
                cues=tuple(dict.fromkeys(cues)),
                hedge=hedge if certainty is not Certainty.ABSENT else None,
            )
        )
    return out


def _drafts(tokens: list[Token], rules: CueRules) -> list[_Draft]:
    """The findings a sentence names (terms, then anchored findings not already named),
    in text order."""
    drafts = [
        _Draft(
            t.roles.finding,
            t.start,
            t.end,
            term_locations=t.roles.term_locations,
            term_laterality=t.roles.term_laterality,
        )
        for t in tokens
        if t.roles.finding
    ]
    for a in _anchored(tokens, rules):
        if not any(d.finding == a.finding and d.start < a.end and a.start < d.end for d in drafts):
            drafts.append(a)
    drafts.sort(key=lambda d: d.start)
    return drafts


# What may stand between a finding's word and the device after it that it describes:
# "of (the|a|an)" and up to two words ("fracture of the right ventricular lead"). Nothing
# at all only after a participle ("fractured wire"), never after a noun: "sternotomy wires"
# are the wires of a sternotomy, both stated.
_DEVICE_PART_GAP = re.compile(r"[ \t]+of[ \t]+(?:(?:the|a|an)[ \t]+)?(?:[a-z]+[ \t]+){0,2}")


def _without_device_parts(drafts: list[_Draft], text: str, devices: frozenset[str]) -> list[_Draft]:
    """Drop a finding whose word is compounded with a device's: "catheter fracture" and
    "fracture of the pacer lead" name the device's state, not a fracture of the patient."""
    kept: list[_Draft] = []
    for i, d in enumerate(drafts):
        if d.finding not in devices:
            before = drafts[i - 1] if i > 0 else None
            after = drafts[i + 1] if i + 1 < len(drafts) else None
            if before is not None and before.finding in devices and before.end <= d.start:
                if text[before.end : d.start].strip(" \t") == "":
                    continue  # "catheter fracture"
            if after is not None and after.finding in devices and d.end <= after.start:
                gap = text[d.end : after.start].lower()
                participle = text[d.start : d.end].lower().endswith("ed") and not gap.strip()
                if participle or _DEVICE_PART_GAP.fullmatch(gap):
                    continue  # "fractured sternal wires", "fracture of the wire"
        kept.append(d)
    return kept


@dataclass(slots=True)
class _Attributes:
    lateral: dict[int, tuple[int, str]]  # draft index -> (gap, side)
    locs: dict[int, list[str]]
    sev: dict[int, tuple[int, str]]


def _attributes(tokens: list[Token], drafts: list[_Draft], rules: CueRules) -> _Attributes:
    """Attribute words go to the nearest mention in the same clause."""
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
            if gap < best_gap and gap <= rules.modifier_scope_chars:
                lo, hi = (t.end, d.start) if t.end <= d.start else (d.end, t.start)
                if hi <= lo or not _blocked(tokens, lo, hi):
                    best_i, best_gap = i, gap
        if best_i < 0:
            continue
        if r.laterality is not None and (
            best_i not in out.lateral or out.lateral[best_i][0] > best_gap
        ):
            out.lateral[best_i] = (best_gap, r.laterality)
        if r.location is not None:
            places = out.locs.setdefault(best_i, [])
            if r.location not in places:
                places.append(r.location)
        if r.severity is not None and (best_i not in out.sev or out.sev[best_i][0] > best_gap):
            out.sev[best_i] = (best_gap, r.severity)
    return out


def _sizes(
    sentence: Sentence,
    drafts: list[_Draft],
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


def _looks_ahead(
    tokens: list[Token],
    cue_tokens: list[Token],
    drafts: list[_Draft],
    rules: CueRules,
    text: str,
    end: int,
) -> set[int]:
    """Starts of the cues that can look both ways ("likely", "?") and look forward here: a
    finding follows them in their clause ("opacities, likely atelectasis" hedges the
    atelectasis only), or a word that is no finding ("pneumonia, likely bacterial" hedges
    the kind of pneumonia, not that there is one): only a hedge that ends its phrase looks
    back ("atelectasis, likely.")."""
    ahead: set[int] = set()
    for cue in cue_tokens:
        if len(cue.roles.cues) < 2:
            continue  # looking both ways takes a forward and a backward cue
        directions = {d for c, d in cue.roles.cues if c in _CERTAINTY_CUES}
        if Direction.FORWARD in directions and Direction.BACKWARD in directions:
            for d in drafts:
                if cue.end <= d.start and d.start - cue.end <= rules.forward_scope_chars:
                    if not _blocked(tokens, cue.end, d.start):
                        ahead.add(cue.start)
                    break
            else:
                hedge = {d for c, d in cue.roles.cues if c is CueCategory.UNCERTAINTY}
                if (
                    len(hedge) > 1
                    and cue.key[-1:].isalpha()
                    and _WORD_AFTER.match(text, cue.end, end)
                ):
                    # a hedge, never a negation ("not seen either"); the word is in this
                    # sentence, so a sentence reads the same wherever it stands (sentencememo)
                    ahead.add(cue.start)
    return ahead


def _closes(cue: Token, text: str, sentence: Sentence) -> bool:
    """A negation answering a template's item ("Effusion - no, edema: no."): ahead -1 - start"""
    after = text[cue.end : min(sentence.end, cue.end + 4)].lstrip(" \t")[:1]
    before = text[max(sentence.start, cue.start - 4) : cue.start].rstrip()[-1:]
    neg = any(c is CueCategory.NEGATION and d is Direction.FORWARD for c, d in cue.roles.cues)
    return neg and before in (":", "-") and after in ("", ".", ",", ";", "!")


@dataclass(slots=True)
class _Found:
    """The cues that reach one draft: the nearest certainty and change cues, and the first
    historical and hypothetical ones."""

    certainty: tuple[int, Token, Certainty] | None = None
    change: tuple[int, Token, Change] | None = None
    historical: Token | None = None
    hypothetical: Token | None = None
    statement: tuple[int, Token] | None = None  # the nearest "consistent with"


_SKIPPED = frozenset(
    {
        CueCategory.TERMINATOR,
        CueCategory.PSEUDO,
        CueCategory.NORMAL,
        CueCategory.ALTERNATIVE,
        CueCategory.DIFFERENTIAL,
    }
)


def _cues_of(
    d: _Draft,
    tokens: list[Token],
    cue_tokens: list[Token],
    drafts: list[_Draft],
    ahead: set[int],
    rules: CueRules,
) -> _Found:
    found = _Found()
    for cue in cue_tokens:
        if d.start <= cue.start and cue.end <= d.end and cue.start != d.qualifier_at:
            continue
        for category, direction in cue.roles.cues:
            if category in _SKIPPED:
                continue  # "or"/"versus" are read by _alternative
            if category not in _CHANGE and direction is Direction.BACKWARD:
                if cue.start in ahead:
                    continue
            elif direction is Direction.FORWARD and -1 - cue.start in ahead:
                # a template's answer is its own item's only: the one right before it
                direction = Direction.BACKWARD if 0 < cue.start - d.end <= 4 else Direction.NONE
            if (
                direction is Direction.BACKWARD
                and category is CueCategory.UNCERTAINTY
                and any(d.end <= o.start and o.end <= cue.start for o in drafts)
            ):
                continue  # "opacity: pneumonia?" questions the pneumonia only
            gap = 0 if cue.start == d.qualifier_at else _distance(cue, d, direction, rules)
            if gap is None:
                continue
            lo, hi = (cue.end, d.start) if cue.end <= d.start else (d.end, cue.start)
            if _blocked(tokens, lo, hi):
                continue
            if category is CueCategory.NEGATION or category is CueCategory.UNCERTAINTY:
                c = Certainty.ABSENT if category is CueCategory.NEGATION else Certainty.UNCERTAIN
                if found.certainty is None or gap < found.certainty[0]:
                    found.certainty = (gap, cue, c)
            elif category in _CHANGE:
                if gap <= rules.modifier_scope_chars and (
                    found.change is None or gap < found.change[0]
                ):
                    found.change = (gap, cue, _CHANGE[category])
            elif category is CueCategory.HISTORICAL:
                found.historical = found.historical or cue
            elif category is CueCategory.HYPOTHETICAL:
                found.hypothetical = found.hypothetical or cue
            elif category is CueCategory.STATEMENT:
                if found.statement is None or gap < found.statement[0]:
                    found.statement = (gap, cue)
    return found


def _decide(
    d: _Draft,
    i: int,
    found: _Found,
    tokens: list[Token],
    alt_tokens: list[Token],
    drafts: list[_Draft],
    rules: CueRules,
    context_section: bool,
) -> tuple[Certainty, Hedge | None, list[str], Change | None]:
    """Certainty, hedge kind, the deciding cue phrases and the change of one mention.
    ``found.hypothetical`` is cleared where the cue is the radiologist's open question."""
    cues: list[str] = []
    certainty = Certainty.PRESENT
    hedge: Hedge | None = None
    if found.hypothetical is not None and not context_section:
        # In the findings, "rule out pneumonia" is the radiologist's open question (an
        # uncertainty cue too); "if", "recommend CT" stay hypothetical.
        if any(c is CueCategory.UNCERTAINTY for c, _ in found.hypothetical.roles.cues):
            found.hypothetical = None
    certainty_cue = found.certainty
    if d.uncertain and certainty_cue is None:
        certainty_cue = (0, tokens[0], Certainty.UNCERTAIN)
        for t in tokens:
            if t.start == d.qualifier_at:
                certainty_cue = (0, t, Certainty.UNCERTAIN)
    if d.anchor_cue is not None:
        certainty = Certainty.ABSENT
        cues.append(d.anchor_cue)
    elif certainty_cue is not None:
        certainty = certainty_cue[2]
        cues.append(certainty_cue[1].key)
        if certainty is Certainty.UNCERTAIN:
            hedge = _hedge_of(certainty_cue[1].key, rules.hedges)
    change = found.change[2] if found.change else None
    if found.change is not None:
        cues.append(found.change[1].key)
        if change is Change.RESOLVED and certainty is not Certainty.UNCERTAIN:
            certainty = Certainty.ABSENT
    if certainty is Certainty.PRESENT and alt_tokens:
        alt = _alternative(tokens, alt_tokens, drafts, i, rules)
        if alt is not None:
            certainty = Certainty.UNCERTAIN
            cues.append(alt[0])
            hedge = alt[1]
    if certainty is Certainty.PRESENT and found.statement is not None:
        hedge = Hedge.CONSISTENT  # no hedge: recorded, since other conventions count it one
        cues.append(found.statement[1].key)
    if found.historical is not None:
        cues.append(found.historical.key)
    if found.hypothetical is not None:
        cues.append(found.hypothetical.key)
    return certainty, hedge, cues, change


def _shared_side(prev: Mention, d: _Draft, tokens: list[Token]) -> str | None:
    """ "Left basilar atelectasis versus pneumonia": the side is said once for both."""
    if (
        prev.laterality is not None
        and prev.certainty is not Certainty.ABSENT
        and not _blocked(tokens, prev.span.end, d.start)
    ):
        return prev.laterality.value
    return None


def _side(value: str) -> Laterality:
    side = _SIDES.get(value)
    return side if side is not None else Laterality(value)


def _hedge_of(key: str, hedges: Mapping[str, Hedge]) -> Hedge:
    """The hedge kind of a cue or uncertain qualifier: a qualifier that opens with a hedge
    ("borderline enlarged") is that hedge; one that is none ("heart size is stable") leaves
    the finding open either way, a possibility rather than a leaning."""
    words = key.split(" ")
    for n in range(len(words), 0, -1):
        hit = hedges.get(" ".join(words[:n]))
        if hit is not None:
            return hit
    return Hedge.POSSIBLE


def _alternative(
    tokens: list[Token], alt_tokens: list[Token], drafts: list[_Draft], i: int, rules: CueRules
) -> tuple[str, Hedge] | None:
    """The cue and hedge kind when mention i is one side of "X or Y" (another finding on the
    other side) or right beside "versus" ("cardiomegaly versus epicardial fat"). A
    differential that demotes what follows it ("X or possibly Y", "X or less likely Y")
    makes Y a possibility and leaves X the leading alternative. ``alt_tokens``: the
    phrases among ``tokens`` with an "or" or differential cue, in order."""
    d = drafts[i]
    hedges = rules.hedges
    reach = rules.alternative_scope_chars
    for t in alt_tokens:
        kinds = {c for c, _ in t.roles.cues}
        if CueCategory.DIFFERENTIAL in kinds:
            if t.start >= d.end:
                lo, hi = d.end, t.start
            elif t.end <= d.start:
                lo, hi = t.end, d.start
            else:
                continue
            nearer = any(lo <= o.start and o.end <= hi for o in drafts if o is not d)
            if not nearer and hi - lo <= reach and not _blocked(tokens, lo, hi):
                after = t.end <= d.start
                return t.key, hedges.get(t.key, Hedge.ALTERNATIVE) if after else Hedge.ALTERNATIVE
            continue
        if CueCategory.ALTERNATIVE not in kinds:
            continue
        if t.start >= d.end:
            others = [o for o in drafts if o.start >= t.end and o.start - t.end <= reach]
            lo, hi = d.end, t.start
        elif t.end <= d.start:
            others = [o for o in drafts if o.end <= t.start and t.start - o.end <= reach]
            lo, hi = t.end, d.start
        else:
            continue
        nearer = any(lo <= o.start and o.end <= hi for o in drafts if o is not d)
        if others and not nearer and hi - lo <= reach and not _blocked(tokens, lo, hi):
            if not _certainty_cue_between(tokens, lo, hi):
                return t.key, hedges.get(t.key, Hedge.ALTERNATIVE)
    return None


def _certainty_cue_between(tokens: list[Token], lo: int, hi: int) -> bool:
    """A negation or hedge between a finding and "or" opens the phrase the "or" belongs to:
    in "cuffing, suggesting bronchiolitis or asthma" the alternatives are what the hedge
    offers, and the cuffing before it is stated."""
    for t in tokens:
        if t.start >= hi:
            return False
        if t.start >= lo and t.end <= hi and any(c in _CERTAINTY_CUES for c, _ in t.roles.cues):
            return True
    return False
