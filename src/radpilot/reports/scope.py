"""Where a cue phrase reaches in one sentence: the drafts of mentions a sentence names, the
scope of each cue (forward, backward, both ways; up to a terminator or a character limit),
and which certainty, change, historical, hypothetical and statement cues reach each draft.

Part of radpilot's ConText engine (:mod:`radpilot.reports.context` states the rules);
:mod:`radpilot.reports.certainty` turns what reaches a draft into its certainty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from radpilot.reports.matcher import Token
from radpilot.reports.models import Certainty, Change, Sentence
from radpilot.reports.rules import CueCategory, CueRules, Direction

CHANGE_OF = {
    CueCategory.CHANGE_NEW: Change.NEW,
    CueCategory.CHANGE_WORSE: Change.WORSE,
    CueCategory.CHANGE_BETTER: Change.BETTER,
    CueCategory.CHANGE_STABLE: Change.STABLE,
    CueCategory.CHANGE_RESOLVED: Change.RESOLVED,
}
CERTAINTY_CUES = (CueCategory.NEGATION, CueCategory.UNCERTAINTY)
_WORD_AFTER = re.compile(r"[ \t]+([A-Za-z]+)")
# Another image than this one: "not well seen on the lateral view", "questioned on prior",
# "not present on prior examination": a certainty cue about it says nothing of this image.
_ELSEWHERE = re.compile(
    r"[ \t]+(?:on|in)[ \t]+(?:the[ \t]+|today's[ \t]+)?"
    r"(?:prior|previous|old|earlier|comparison|lateral|frontal|pa|ap|oblique|"
    # a dated study: "on the study of 2024", "on the radiograph from March"
    r"(?:study|exam|examination|radiograph|film|x-ray|ct|images?)[ \t]+(?:of|from|dated)[ \t])",
    re.IGNORECASE,
)
# Words that are no subject of their own in a clause after a comma ("..., or effusion is").
_NO_SUBJECT = frozenset({"the", "a", "an", "and", "or", "is", "are", "was", "were", "also", "xxxx"})
_WORD = re.compile(r"[A-Za-z]+")
# What opens a new item of a list: "and" or a comma, then size or severity words ("and
# mild", ", small left").
_AND = re.compile(r"[ \t]*(?:,[ \t]*(?:and[ \t]+)?|and[ \t]+)", re.IGNORECASE)
# A negated list that goes on with "or"/"nor" after the item ("no pneumothorax, large
# effusion, or consolidation") is one list still, whatever the item's size word.
_LIST_GOES_ON = re.compile(r"[^.;]*?\b(?:or|nor)\b", re.IGNORECASE)


@dataclass(slots=True, init=False)
class Draft:
    finding: str
    start: int
    end: int
    anchor_cue: str | None = None  # the "normal" phrase that made an anchored finding absent
    qualifier_at: int = -1  # where an anchored finding's qualifier starts: its own cues count
    uncertain: bool = False  # named by an uncertain qualifier ("heart size is stable")
    term_locations: tuple[str, ...] = ()
    term_laterality: str | None = None
    historical: bool = False  # named by a term for an old finding ("healed fracture")

    def __init__(
        self,
        finding: str,
        start: int,
        end: int,
        anchor_cue: str | None = None,
        qualifier_at: int = -1,
        uncertain: bool = False,
        term_locations: tuple[str, ...] = (),
        term_laterality: str | None = None,
        historical: bool = False,
    ) -> None:
        self.finding = finding
        self.start = start
        self.end = end
        self.anchor_cue = anchor_cue
        self.qualifier_at = qualifier_at
        self.uncertain = uncertain
        self.term_locations = term_locations
        self.term_laterality = term_laterality
        self.historical = historical


def blocked(
    tokens: list[Token], lo: int, hi: int, text: str = "", openings: frozenset[str] = frozenset()
) -> bool:
    """Is there a terminator strictly between offsets lo and hi? With ``openings``, lo is a
    cue's end and a terminator that only continues the cue's phrase ("possibly with a
    small effusion") ends nothing."""
    for t in tokens:
        if t.start >= hi:
            return False
        if t.start >= lo and t.end <= hi and t.roles.terminator:
            if not (openings and _normal_words(text[lo : t.end]) in openings):
                return True
    return False


def _normal_words(s: str) -> str:
    return " ".join(s.lower().split())


def distance(cue: Token, d: Draft, direction: Direction, rules: CueRules) -> int | None:
    """Characters from cue to mention when the mention is inside the cue's scope."""
    if direction in (Direction.FORWARD, Direction.BIDIRECTIONAL) and cue.end <= d.start:
        gap = d.start - cue.end
        return gap if gap <= rules.forward_scope_chars else None
    if direction in (Direction.BACKWARD, Direction.BIDIRECTIONAL) and cue.start >= d.end:
        gap = cue.start - d.end
        return gap if gap <= rules.backward_scope_chars else None
    return None


def looks_ahead(
    tokens: list[Token],
    cue_tokens: list[Token],
    drafts: list[Draft],
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
        directions = {d for c, d in cue.roles.cues if c in CERTAINTY_CUES}
        if Direction.FORWARD in directions and Direction.BACKWARD in directions:
            near = rules.forward_scope_chars
            after = next((d for d in drafts if cue.end <= d.start <= cue.end + near), None)
            if after is not None and not blocked(
                tokens, cue.end, after.start, text, rules.openings
            ):
                ahead.add(cue.start)
            else:  # no finding after it in its clause ("likely contusion, and an effusion")
                hedge = {d for c, d in cue.roles.cues if c is CueCategory.UNCERTAINTY}
                word = _WORD_AFTER.match(text, cue.end, end)
                if (
                    len(hedge) > 1
                    and cue.key[-1:].isalpha()
                    and word is not None
                    and word.group(1).lower() not in rules.predicates
                    and not _place_follows(tokens, cue, end)
                ):
                    # a hedge, never a negation ("not seen either"), qualifying the word
                    # after it ("likely bacterial"), not saying where or that the finding
                    # before it is ("is likely in the left base", "are probably present");
                    # the word is in this sentence, so a sentence reads the same wherever
                    # it stands (sentencememo)
                    ahead.add(cue.start)
    return ahead


def _place_follows(tokens: list[Token], cue: Token, end: int) -> bool:
    """Is the next phrase after a hedge a side or a place ("a nodule may be seen in the
    right upper lobe", "fluid may be present on the left")? Then it says where the finding
    before it may be, and the hedge looks back."""
    for t in tokens:
        if t.start >= end:
            return False
        if t.start >= cue.end:
            return t.roles.laterality is not None or t.roles.location is not None
    return False


# An answer's own few words after its negation ("Effusion: no evidence.", "Pneumonia: no
# radiographic signs today."): more would be a clause of its own.
_ANSWER_WORDS = 4
_CLAUSE_END = re.compile(r"[.,;!]")


def closes(cue: Token, text: str, sentence: Sentence, drafts: Sequence[Draft] = ()) -> bool:
    """A negation answering a template's item ("Effusion - no, edema: no.", "Pneumonia: no
    radiographic evidence."): right after the item's colon or dash, with nothing after it in
    its clause but a few words that name no finding. ahead -1 - start"""
    before = text[max(sentence.start, cue.start - 4) : cue.start].rstrip()[-1:]
    neg = any(c is CueCategory.NEGATION and d is Direction.FORWARD for c, d in cue.roles.cues)
    if not neg or before not in (":", "-"):
        return False
    stop_at = _CLAUSE_END.search(text, cue.end, sentence.end)
    stop = stop_at.start() if stop_at else sentence.end
    if any(cue.end <= d.start < stop for d in drafts):
        return False  # "Lungs: no focal consolidation": the negation's finding follows it
    return len(text[cue.end : stop].split()) <= _ANSWER_WORDS


@dataclass(slots=True, init=False)
class Found:
    """The cues that reach one draft: the nearest certainty and change cues, and the first
    historical and hypothetical ones."""

    certainty: tuple[int, Token, Certainty] | None = None
    change: tuple[int, Token, Change] | None = None
    historical: Token | None = None
    hypothetical: Token | None = None
    statement: tuple[int, Token] | None = None  # the nearest "consistent with"

    def __init__(
        self,
        certainty: tuple[int, Token, Certainty] | None = None,
        change: tuple[int, Token, Change] | None = None,
        historical: Token | None = None,
        hypothetical: Token | None = None,
        statement: tuple[int, Token] | None = None,
    ) -> None:
        self.certainty = certainty
        self.change = change
        self.historical = historical
        self.hypothetical = hypothetical
        self.statement = statement


_SKIPPED = frozenset(
    {
        CueCategory.TERMINATOR,
        CueCategory.PSEUDO,
        CueCategory.NORMAL,
        CueCategory.ALTERNATIVE,
        CueCategory.DIFFERENTIAL,
    }
)


# "The differential diagnosis for the opacity includes pneumonia and edema": a definite
# finding right after a hedge's "for the" / "of this" is what the list after it explains.
_EXPLAINED = re.compile(
    r"[ \t]+(?:for|of)[ \t]+(?:the|this|these|that)[ \t]+(?:[a-z]+[ \t]+){0,2}", re.IGNORECASE
)


_FORWARD_HEDGE = (CueCategory.UNCERTAINTY, Direction.FORWARD)


def _explained(cue: Token, d: Draft, drafts: list[Draft], text: str) -> bool:
    """Is ``d`` the finding a forward hedge's list is offered for, not one of the list?
    It follows the hedge as "for the <finding>" and another finding follows it."""
    if cue.end > d.start or _FORWARD_HEDGE not in cue.roles.cues:
        return False
    if not _EXPLAINED.fullmatch(text, cue.end, d.start):
        return False
    if any(cue.end <= o.start and o.end <= d.start for o in drafts):
        return False  # not the first finding after the hedge: one of its list
    return any(o.start >= d.end for o in drafts)


def cues_of(
    d: Draft,
    tokens: list[Token],
    cue_tokens: list[Token],
    drafts: list[Draft],
    ahead: set[int],
    rules: CueRules,
    text: str,
    devices: frozenset[str] = frozenset(),
) -> Found:
    """The cues that reach draft d; ``devices``: the findings a devices-only hypothetical
    cue reaches ("recommend chest tube placement")."""
    found = Found()
    for cue in cue_tokens:
        within = False  # between an anchored finding's anchor and qualifier
        if d.start <= cue.start and cue.end <= d.end and cue.start != d.qualifier_at:
            if d.qualifier_at < 0:
                continue  # a term's own words
            within = True  # "the heart may be enlarged": the hedge is the finding's
        if _explained(cue, d, drafts, text):
            continue
        for category, direction in cue.roles.cues:
            if category in _SKIPPED:
                continue  # "or"/"versus" are read by _alternative
            if category not in CHANGE_OF and direction is Direction.BACKWARD:
                if cue.start in ahead:
                    continue
            elif direction is Direction.FORWARD and -1 - cue.start in ahead:
                # a template's answer is its own item's only: the one right before it
                direction = Direction.BACKWARD if 0 < cue.start - d.end <= 4 else Direction.NONE
            if (
                direction is Direction.BACKWARD
                and category is CueCategory.UNCERTAINTY
                and any(d.end <= o.start and o.end <= cue.start for o in drafts)
                and not _and_list(d, drafts, cue, text)
            ):
                continue  # "opacity: pneumonia?" questions the pneumonia only
            if direction is Direction.FORWARD and cue.key in rules.adjacent:
                if not _opens_with_finding(cue, d, drafts, tokens, text):
                    continue
            if within or cue.start == d.qualifier_at:
                gap: int | None = 0
            else:
                gap = distance(cue, d, direction, rules)
            if gap is None:
                continue
            lo, hi = (cue.end, d.start) if cue.end <= d.start else (d.end, cue.start)
            if category in CERTAINTY_CUES and cue.end <= d.start:
                lo = _past_change_words(tokens, cue, text)
                if category is CueCategory.NEGATION and _new_item(tokens, drafts, d, text, cue):
                    continue
            if blocked(tokens, lo, hi, text, rules.openings if cue.end <= d.start else frozenset()):
                continue
            if category in CERTAINTY_CUES and cue.start >= d.end:
                if _own_clause(tokens, drafts, text, d.end, cue.start):
                    continue
                if _ELSEWHERE.match(text, cue.end):
                    continue  # "not seen on the prior", "not well seen on the lateral view"
            if category is CueCategory.UNCERTAINTY and cue.end <= d.start:
                if _one_place_of_several(cue, d, tokens, drafts, text):
                    continue  # "right middle and probable right lower lobe pneumonia"
                cue = _ranked_after_than(cue, d, drafts, text, rules)
            if category is CueCategory.NEGATION or category is CueCategory.UNCERTAINTY:
                c = Certainty.ABSENT if category is CueCategory.NEGATION else Certainty.UNCERTAIN
                if found.certainty is None or gap < found.certainty[0]:
                    found.certainty = (gap, cue, c)
                elif _predicate_over_hedge(found.certainty, cue, c, d, drafts):
                    found.certainty = (gap, cue, c)
            elif category in CHANGE_OF:
                if gap <= rules.modifier_scope_chars and (
                    found.change is None or gap < found.change[0]
                ):
                    found.change = (gap, cue, CHANGE_OF[category])
            elif category is CueCategory.HISTORICAL:
                found.historical = found.historical or cue
            elif category is CueCategory.HYPOTHETICAL:
                if cue.key in rules.devices_only and not _to_be_placed(cue, d, devices, text):
                    continue  # "recommend CT of the nodule" still states the nodule
                if cue.end <= d.start and _main_clause(tokens, drafts, text, cue.end, d.start):
                    continue  # "Unless there is fever, I favor atelectasis" states it
                found.hypothetical = found.hypothetical or cue
            elif category is CueCategory.STATEMENT:
                if found.statement is None or gap < found.statement[0]:
                    found.statement = (gap, cue)
    return found


def _predicate_over_hedge(
    held: tuple[int, Token, Certainty],
    cue: Token,
    c: Certainty,
    d: Draft,
    drafts: list[Draft],
) -> bool:
    """Does a negating predicate after d outrank the nearer hedge before it? "The
    questioned nodule is not seen", "the possible opacity is no longer present": the
    hedge names what was thought of the finding, the predicate says what is seen now.
    Only when no other finding stands between the hedge and d (then the hedge is d's
    own noun phrase's) or between d and the predicate."""
    hedge = held[1]
    if c is not Certainty.ABSENT or held[2] is not Certainty.UNCERTAIN:
        return False
    if hedge.end > d.start or cue.start < d.end:
        return False
    return not any(
        (hedge.end <= o.start and o.end <= d.start) or (d.end <= o.start and o.end <= cue.start)
        for o in drafts
    )


def _and_list(d: Draft, drafts: list[Draft], cue: Token, text: str) -> bool:
    """Is d the first item of a list joined by "and" that a backward hedge closes
    ("atelectasis and pneumonia cannot be excluded", "A, B, and C are all possible")? The
    hedge is then the whole list's, as an "or" list's is; nothing but commas and "and"
    stands between the items."""
    between = [o for o in drafts if d.end <= o.start and o.end <= cue.start]
    at, joined_by_and = d.end, False
    for o in sorted(between, key=lambda o: o.start):
        m = _AND.fullmatch(text, at, o.start)  # a comma, "and", or both
        if m is None:
            return False
        joined_by_and = joined_by_and or "and" in m.group().lower()
        at = o.end
    return joined_by_and


# A placing word: what makes a device after "recommend" or "consider" one to be placed.
_PLACING = re.compile(r"\b(?:placement|placing|insertion|inserting|insert|place)\b", re.I)
_PLACED_AFTER = re.compile(r"\s+(?:placement|insertion)\b", re.IGNORECASE)


def _to_be_placed(cue: Token, d: Draft, devices: frozenset[str], text: str) -> bool:
    """Does a devices-only hypothetical cue reach d? Only a device, and one to be placed: a
    cue without a placing word of its own ("recommend", "consider") needs "placement" or
    "insertion" right after the device ("recommend chest tube placement"), since
    "recommend advancing the endotracheal tube" is about a tube in place; after the device
    it must follow the device's name at once ("chest drain advised"), since "chest tube in
    place, follow-up recommended" and "withdrawal is advised" are of a tube in place."""
    if d.finding not in devices:
        return False
    if _PLACING.search(cue.key):
        return True
    if cue.start >= d.end:
        return not text[d.end : cue.start].strip()
    return _PLACED_AFTER.match(text, d.end) is not None


def _opens_with_finding(
    cue: Token, d: Draft, drafts: list[Draft], tokens: list[Token], text: str
) -> bool:
    """Does a finding stand right after an adjacent-only cue, so that it and the list it
    opens (d among them) are in its reach? "Lungs are clear airspace disease" (a dropped
    "of"); not "clear with a small effusion", nor a sentence's opening adjective ("Clear
    hyperexpanded lungs")."""
    if text[max(0, cue.start - 20) : cue.start].rstrip()[-1:] in ("", ".", ":", ";", "-"):
        return False
    after = [o.start for o in drafts if o.start >= cue.end]
    if not after or d.start < min(after):
        return False
    gap = _ADJACENT_GAP.fullmatch(text, cue.end, min(after))
    return gap is not None and not any(cue.end <= t.start < min(after) for t in tokens)


# What may stand between an adjacent-only cue and its finding: up to two lowercase words that
# name no item of their own ("clear focal infiltrate", "clear acute airspace disease"); a
# joining word ("with", "except") or a word the reader knows (a size, side, place or cue:
# "clear small left effusion" is a dropped comma) keeps the finding out of its reach.
_ADJACENT_GAP = re.compile(
    r"(?:\s+(?!(?:with|and|or|but|except|of|for|in|on|at|to|the|a|an|is|are|there|"
    r"without|no|not|than|also|then)\b)[a-z]+){0,2}\s+"
)


_THAN = re.compile(r"\bthan\b", re.IGNORECASE)


def _ranked_after_than(
    cue: Token, d: Draft, drafts: list[Draft], text: str, rules: CueRules
) -> Token:
    """The cue that ranks d where a comparative hedge is split by the first finding: in
    "more likely atelectasis than pneumonia" the pneumonia after "than" takes the kind of
    the ranked differential "more likely than" (possible; "less likely X than Y": Y
    probable), the atelectasis keeps the hedge's own."""
    ranked = f"{cue.key} than"
    if ranked not in rules.hedges_before:
        return cue
    between = [o for o in drafts if cue.end <= o.start and o.end <= d.start]
    if not between or not _THAN.search(text, between[0].end, d.start):
        return cue
    return Token(cue.start, cue.end, ranked, cue.roles)


# Before a hedge that doubts one place of several: a place, then "and" / "or" / a comma.
_JOINED_BEFORE = re.compile(
    r"(?:[ \t]*,[ \t]*(?:and[ \t]+|or[ \t]+)?|[ \t]+(?:and|or)[ \t]+)$", re.I
)
_ONE_WORD = re.compile(r"(?:[ \t]+[a-z]+)?", re.IGNORECASE)  # "right middle (lobe)"
_BLANK = re.compile(r"[ \t-]*")


def _is_place(t: Token) -> bool:
    return t.roles.finding is None and bool(t.roles.laterality or t.roles.location)


def _one_place_of_several(
    cue: Token, d: Draft, tokens: list[Token], drafts: list[Draft], text: str
) -> bool:
    """Does a forward hedge doubt only one of the places a finding is named in? In "right
    middle and probable right lower lobe pneumonia", "left and possibly right effusions"
    the finding is stated at the first place: the hedge stands between a joined place
    before it and nothing but places before the finding. A place after another finding is
    that one's ("pneumonia in the right lower lobe and possible left lower lobe
    atelectasis")."""
    joined = _JOINED_BEFORE.search(text, max(0, cue.start - 12), cue.start)
    if joined is None:
        return False
    place = next(
        (
            t
            for t in tokens
            if _is_place(t)
            and t.end <= joined.start()
            and _ONE_WORD.fullmatch(text, t.end, joined.start())
        ),
        None,
    )
    if place is None:
        return False
    clause = max(text.rfind(c, 0, place.start) for c in ".;:,")
    if any(clause < o.end <= place.start for o in drafts):
        return False
    at = cue.end
    for t in tokens:
        if t.start < cue.end or t.start >= d.start:
            continue
        if not _is_place(t) or not _BLANK.fullmatch(text, at, t.start):
            return False
        at = t.end
    return at > cue.end and _BLANK.fullmatch(text, at, d.start) is not None


def _past_change_words(tokens: list[Token], cue: Token, text: str) -> int:
    """Where a certainty cue's phrase goes on: past the change words right after it, which
    are terminators elsewhere ("stable", "unchanged") but here part of the hedged phrase
    ("possible unchanged effusion", "probable stable nodule")."""
    end = cue.end
    for t in tokens:
        if t.start < end:
            continue
        if t.start - end > 2 or text[end : t.start].strip(" \t") or not t.roles.terminator:
            break
        if not any(c in CHANGE_OF for c, _ in t.roles.cues):
            break
        end = t.end
    return end


def _own_clause(tokens: list[Token], drafts: list[Draft], text: str, lo: int, hi: int) -> bool:
    """Does a comma clause with its own subject stand between a finding (ending at lo) and a
    backward cue (at hi)? "Effusion, mediastinal contours are normal": the "normal" is the
    contours'. A clause that goes on with findings ("X, Y or Z is not seen") is one list,
    and one with no words of its own ("X, not seen") is the finding's."""
    comma = text.rfind(",", lo, hi)
    if comma < 0:
        return False
    if any(lo <= o.start < hi and o.anchor_cue is None for o in drafts):
        return False  # a list of findings: the cue is the whole list's
    for m in _WORD.finditer(text, comma + 1, hi):
        if m.group().lower() in _NO_SUBJECT:
            continue
        within = [t for t in tokens if t.start <= m.start() and m.end() <= t.end]
        if not within or any(t.roles.location or t.roles.anchor_of for t in within):
            return True  # a word of its own, or a place named as a subject ("the hila")
    return False


def _main_clause(tokens: list[Token], drafts: list[Draft], text: str, lo: int, hi: int) -> bool:
    """Does the sentence's main clause begin at the comma that ends a condition (a forward
    cue ending at lo) before the finding at hi? It does where a main clause with a subject
    puts the finding under a certainty cue of its own ("Unless there is fever, I favor
    atelectasis") or, where the condition names no finding, opens with it ("If the
    patient is febrile, the opacity could represent pneumonia"). A list goes on ("If
    there is concern for pneumonia, effusion, or edema"); a recommendation, with no
    subject, stays the condition's ("If symptoms persist, consider CT for nodule")."""
    comma = text.find(",", lo, hi)
    if comma < 0:
        return False
    for t in tokens:
        if comma < t.start and t.end <= hi and any(c in CERTAINTY_CUES for c, _ in t.roles.cues):
            if any(comma < o.start < t.start for o in drafts) or _own_words(
                tokens, text, comma + 1, t.start
            ):
                return True  # "I favor", "the opacity could represent"
    if any(lo <= o.start < hi for o in drafts):
        return False  # a finding in the condition, or before this one in the main clause
    return not _own_words(tokens, text, comma + 1, hi)


def _own_words(tokens: list[Token], text: str, lo: int, hi: int) -> bool:
    """Is there a word between lo and hi that no token owns and that is no joining word?"""
    for m in _WORD.finditer(text, lo, hi):
        if m.group().lower() in _NO_SUBJECT:
            continue
        if not any(t.start <= m.start() and m.end() <= t.end for t in tokens):
            return True
    return False


def _new_item(tokens: list[Token], drafts: list[Draft], d: Draft, text: str, cue: Token) -> bool:
    """Does a negation's list end before finding d? A size or severity word right after "and"
    or a comma opens a new, stated item: "no effusion and mild cardiomegaly", "no
    pneumothorax, small left effusion" ("no effusion and pneumothorax" stays one negated list,
    and so does a comma list that goes on with "or": "no pneumothorax, large effusion, or
    consolidation"). Only negation ends there: a change word or a
    side still reaches over it ("stable moderate levoscoliosis and mild dextroscoliosis")."""
    before = [o for o in drafts if cue.end <= o.start and o.end <= d.start]
    if not before:
        return False
    m = _AND.match(text, before[-1].end)
    if m is None:
        return False
    at, sized = m.end(), False
    for t in tokens:
        if t.start < at:
            continue
        if t.start >= d.start or text[at : t.start].strip(" \t"):
            break
        r = t.roles
        if r.severity is None and r.laterality is None and r.location is None:
            break
        sized = sized or r.severity is not None
        at = t.end
    if "and" not in m.group().lower() and _LIST_GOES_ON.match(text, d.end):
        return False  # only a comma: the list may go on
    return sized and not text[at : d.start].strip(" \t")
