"""The certainty of one mention from the cues that reach it: the nearest negation or hedge,
a resolved change, "X or Y" and "versus", a statement cue ("consistent with"), and the
hedge kind that a label policy reads.

Part of radpilot's ConText engine (:mod:`radpilot.reports.context` states the rules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise

from radpilot.reports.matcher import Token
from radpilot.reports.models import Certainty, Change, Hedge
from radpilot.reports.rules import CueCategory, CueRules, Direction
from radpilot.reports.scope import CERTAINTY_CUES, Draft, Found, blocked


def decide(
    d: Draft,
    i: int,
    found: Found,
    tokens: list[Token],
    alt_tokens: list[Token],
    drafts: list[Draft],
    rules: CueRules,
    context_section: bool,
    text: str,
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
        alt = _alternative(tokens, alt_tokens, drafts, i, rules, text)
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
    tokens: list[Token],
    alt_tokens: list[Token],
    drafts: list[Draft],
    i: int,
    rules: CueRules,
    text: str,
) -> tuple[str, Hedge] | None:
    """The cue and hedge kind when mention i is one side of "X or Y" (another finding on the
    other side, or a statement's list: "consistent with viral or reactive airway disease")
    or right beside "versus" ("cardiomegaly versus epicardial fat"). A
    differential that demotes what follows it ("X or possibly Y", "X or less likely Y")
    makes Y a possibility and leaves X the leading alternative; one that ranks the two
    ("X is favored over Y", "X is less likely than Y") gives each side its own kind
    (``hedge`` after, ``hedge_before`` before it in cues.json). A finding before the cue
    phrase that opens the list ("cuffing, consistent with viral vs reactive airway
    disease") is stated, not one of the alternatives. ``alt_tokens``: the phrases among
    ``tokens`` with an "or" or differential cue, in order."""
    d = drafts[i]
    hedges = rules.hedges
    reach = rules.alternative_scope_chars
    for t in alt_tokens:
        kinds = {c for c, _ in t.roles.cues}
        if CueCategory.DIFFERENTIAL in kinds:
            closing = _closing(t)
            if t.start >= d.end and (not closing or _PHRASE_END.match(text, t.end)):
                lo, hi = d.end, t.start
            elif t.end <= d.start and not closing:
                lo, hi = t.end, d.start
            else:
                continue
            nearer = any(lo <= o.start and o.end <= hi for o in drafts if o is not d)
            if nearer and lo == d.end:
                last = _in_comma_list(text, drafts, d, t)
                if last is None and _offered_list(tokens, drafts, d, t, text):
                    # "edema, infection or less likely fibrosis": the first is offered too
                    last = max(o.end for o in drafts if d.end <= o.start and o.end <= t.start)
                if last is not None and not _listed_cue_between(tokens, lo, hi):
                    nearer, lo = False, last
            if (
                not nearer
                and hi - lo <= reach
                and not blocked(tokens, lo, hi)
                and not _certainty_cue_between(tokens, lo, hi)
            ):
                after = t.end <= d.start
                if after:
                    return t.key, hedges.get(t.key, Hedge.ALTERNATIVE)
                return t.key, rules.hedges_before.get(t.key, Hedge.ALTERNATIVE)
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
        if nearer and others and lo == d.end:
            last = _in_comma_list(text, drafts, d, t)
            if last is not None and not _listed_cue_between(tokens, lo, hi):
                nearer, lo = False, last
        if nearer and others and t.start >= d.end and _offered_list(tokens, drafts, d, t, text):
            nearer = False  # "atelectasis, aspiration or pneumonia": the first is offered too
        if not nearer and t.start >= d.end and _before_unknown_item(tokens, d, text, lo, hi):
            continue
        listed = bool(others) or (
            lo == t.end and text[lo:hi] == " " and _statement_list(tokens, drafts, t, rules)
        )
        if listed and not nearer and hi - lo <= reach and not blocked(tokens, lo, hi):
            if not _certainty_cue_between(tokens, lo, hi):
                return t.key, hedges.get(t.key, Hedge.ALTERNATIVE)
    return None


_OPENS_LIST = frozenset({*CERTAINTY_CUES, CueCategory.STATEMENT})
# Between two items of a comma list: the comma and at most three words that are no joining
# word ("atelectasis, small effusion, or edema"); "and" or "with" ends the list.
_LIST_GAP = re.compile(r"[ \t]*,[ \t]*(?:(?!(?:and|or|with|but|no|not)\b)[A-Za-z]+[ \t]+){0,3}")
_LIST_CLOSE = re.compile(r"[ \t]*,[ \t]*")  # the comma before the closing "or"
_PHRASE_END = re.compile(r"[ \t]*(?:[.,;:)]|$)")


def _in_comma_list(text: str, drafts: list[Draft], d: Draft, alt: Token) -> int | None:
    """Where the last item ends when d is an earlier item of a comma list that ", or"
    closes ("atelectasis, pneumonia, or aspiration": every item is an alternative, not
    only the two beside the "or"); None when d is no such item."""
    prev = d.end
    items = sorted(
        (o for o in drafts if d.end <= o.start and o.end <= alt.start), key=lambda o: o.start
    )
    for o in items:
        if _LIST_GAP.fullmatch(text, prev, o.start) is None:
            return None
        prev = o.end
    if not items or _LIST_CLOSE.fullmatch(text, prev, alt.start) is None:
        return None
    return prev


# A comma, then one to three words that are no joining word: an item the vocabulary does not
# know ("consolidation, ARDS or infection": ARDS is the list's first item).
_UNKNOWN_ITEM = re.compile(
    r"[ \t]*,[ \t]*(?:(?!(?:and|or|with|but|no|not)\b)[A-Za-z-]+[ \t]+){1,3}"
)


def _before_unknown_item(tokens: list[Token], d: Draft, text: str, lo: int, hi: int) -> bool:
    """Is observation d followed by a comma and words no finding names before "or"? Those
    words are the first item of the list, so d stands before the list: it is what the
    alternatives explain, stated ("airspace opacities, hemorrhage or infection"), as
    :func:`_offered_list` keeps an observation before a list of known diagnoses. A
    diagnosis there is one of the alternatives offered ("edema, ARDS or pneumonia")."""
    if not text or _UNKNOWN_ITEM.fullmatch(text, lo, hi) is None:
        return False
    return any(
        x.start == d.start and x.roles.finding is not None and not x.roles.inferred for x in tokens
    )


def _listed_cue_between(tokens: list[Token], lo: int, hi: int) -> bool:
    """A cue or terminator among a list's items makes it no list of alternatives."""
    return blocked(tokens, lo, hi) or _certainty_cue_between(tokens, lo, hi)


def _closing(alt: Token) -> bool:
    """A differential that only closes a list ("A, B, or both", "or a combination") looks
    back, and only where it ends its phrase: "the right or both lower lobes" closes none."""
    return any(c is CueCategory.DIFFERENTIAL and d is Direction.BACKWARD for c, d in alt.roles.cues)


def _offered_list(tokens: list[Token], drafts: list[Draft], d: Draft, t: Token, text: str) -> bool:
    """Is d the first of a comma list of diagnoses that "or" ends ("edema, atelectasis or
    infection")? Only diagnoses and etiologies: an observation before the list is what the
    alternatives explain ("opacity, atelectasis or pneumonia" keeps the opacity stated)."""
    items = [
        d,
        *sorted(
            (o for o in drafts if d.end <= o.start and o.end <= t.start), key=lambda o: o.start
        ),
    ]
    inferred = {x.start for x in tokens if x.roles.finding is not None and x.roles.inferred}
    if not text or any(o.start not in inferred for o in items):
        return False
    # an item's own words may open it ("edema, atypical infection or fibrosis")
    gaps = all(_LIST_GAP.fullmatch(text, a.end, b.start) for a, b in pairwise(items))
    return gaps and text[items[-1].end : t.start].strip() in ("", ",")


def _certainty_cue_between(tokens: list[Token], lo: int, hi: int) -> bool:
    """A negation, hedge or statement cue between a finding and "or" / "versus" opens the
    phrase the "or" belongs to: in "cuffing, suggesting bronchiolitis or asthma" the
    alternatives are what the hedge offers, and the cuffing before it is stated."""
    for t in tokens:
        if t.start >= hi:
            return False
        if t.start >= lo and t.end <= hi and any(c in _OPENS_LIST for c, _ in t.roles.cues):
            return True
    return False


def _statement_list(tokens: list[Token], drafts: list[Draft], alt: Token, rules: CueRules) -> bool:
    """Does the "or" continue a statement cue's list? Asked when the finding right after the
    "or" has no finding on the other side: "consistent with viral or reactive airway
    disease" offers two whole diagnoses. Only a term that starts right after the "or"
    counts: in "consistent with bacterial or viral pneumonia" the words are kinds of the
    one pneumonia stated."""
    for s in tokens:
        if s.end > alt.start:
            break
        if alt.start - s.end > rules.alternative_scope_chars:
            continue
        if any(c is CueCategory.STATEMENT for c, _ in s.roles.cues):
            if not any(s.end <= o.start and o.end <= alt.start for o in drafts):
                if not blocked(tokens, s.end, alt.start):
                    return True
    return False
