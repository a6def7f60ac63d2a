"""Places said once for two: "right middle and lower lobe", "upper and mid lung zones".

A radiologist coordinates the first words of two place phrases and writes their shared
head once: "right middle and lower lobe opacities" is an opacity in the right middle lobe
and in the right lower lobe. The matcher finds only the last, whole phrase ("lower lobe");
``with_coordinated`` adds the place the first word names with that head, when the two
make a place phrase of ``modifiers.json`` (so the vocabulary, not a list of lobes here,
says what is a place), and gives the side written before the first word to both. A side
written inside a place phrase splits it the same way: "upper left lung" is the left lung's
upper zone ("upper" with the head of the side phrase "left lung").

A reading offered for an observation is at the observation's place: in "opacity in the left
upper lobe, likely scarring" the scarring is the left upper lobe's (``offered_for``).
"""

from __future__ import annotations

import re

from radpilot.reports.matcher import Roles, Token
from radpilot.reports.models import Certainty, Mention
from radpilot.reports.policy import explanations
from radpilot.reports.rules import Modifiers

# The text right before a place phrase: an optional side, the coordinated word, a joining
# word ("and", "or", "&", a slash or a comma). Searched on a short window only.
_BEFORE = re.compile(
    r"(?:\b(?P<side>left|right)\s+)?\b(?P<word>[a-z]+)\s*(?:,\s*|\s+(?:and|or|&)\s+|\s*/\s*)$"
)
_WORD_BEFORE = re.compile(r"\b(?P<word>[a-z]+)\s+$")
_WINDOW = 40  # characters before the place phrase: a side, a word and a joining word


def _place(mods: Modifiers, *words: str) -> str | None:
    """The canonical place these words name, in the singular too ("middle lobes")."""
    key = " ".join(w for w in words if w)
    place = mods.locations.get(key)
    if place is None and key.endswith("s"):
        place = mods.locations.get(key[:-1])
    return place


def with_coordinated(tokens: list[Token], text: str, mods: Modifiers) -> list[Token]:
    """``tokens`` with a place token for each first word of a coordinated place phrase; a
    whole phrase after a side that is only the first word's takes the side's place too
    ("right middle and lower lobe": the right lower lobe)."""
    added: list[Token] = []
    out = tokens
    for n, t in enumerate(tokens):
        r = t.roles
        if r.laterality is not None and r.location is None and " " in t.key:
            word = _inside_side(tokens, n, text, mods)
            if word is not None:
                added.append(word)
            continue
        if r.location is None or r.finding is not None or r.laterality is not None:
            continue
        head = t.key.split(" ", 1)
        if len(head) < 2 or t.start == 0:
            continue
        lo = max(0, t.start - _WINDOW)
        m = _BEFORE.search(text[lo : t.start].lower())
        if m is None or (n and tokens[n - 1].end > lo + m.start("word")):
            continue  # no coordinated word, or the word before is a phrase of its own
        side = m.group("side") or ""
        first = _place(mods, side, m.group("word"), head[1]) or _place(
            mods, m.group("word"), head[1]
        )
        if first is None:
            continue
        start = lo + m.start("word")
        added.append(
            Token(start, start + len(m.group("word")), m.group("word"), Roles(location=first))
        )
        sided = _place(mods, side, t.key) if side else None
        if sided is not None and sided != r.location:
            if out is tokens:
                out = list(tokens)
            out[n] = t._replace(roles=Roles(location=sided))
    if not added:
        return out
    return sorted((*out, *added), key=lambda t: (t.start, t.end))


def _inside_side(tokens: list[Token], n: int, text: str, mods: Modifiers) -> Token | None:
    """The place token of the word before side phrase tokens[n] that, with the rest of the
    side phrase, names a place: "upper" in "upper left lung" ("upper lung")."""
    t = tokens[n]
    lo = max(0, t.start - _WINDOW)
    m = _WORD_BEFORE.search(text[lo : t.start].lower())
    if m is None or (n and tokens[n - 1].end > lo + m.start("word")):
        return None
    place = _place(mods, m.group("word"), t.key.split(" ", 1)[1])
    if place is None:
        return None
    start = lo + m.start("word")
    return Token(start, start + len(m.group("word")), m.group("word"), Roles(location=place))


# What stands between an observation and a finding that is no reading of it: a semicolon,
# a word that turns to something else ("left lower lobe opacity, but possible pneumonia at
# the right base") or one that adds another item ("opacity and possible small effusion";
# "and/or" still joins readings, "consistent with" offers one). Not "which" or "that": they
# open the reading ("which may represent").
_NEW_CLAUSE = re.compile(
    r";|\b(?:but|however|although|though|whereas|while|except|also|additionally|plus)\b"
    r"|\band\b(?!/)|(?<!consistent )(?<!compatible )(?<!keeping )\bwith\b",
    re.IGNORECASE,
)


def offered_for(out: list[Mention], finding: str, start: int, text: str) -> Mention | None:
    """The observation a reading of ``finding`` at ``start`` is offered for: the nearest
    mention before it in its sentence (``out``) that is stated, not absent, and that
    ``finding`` can explain (``explanations.json``), with no other clause between them.
    "Right lower lobe opacity, which may represent pneumonia": the opacity."""
    can = explanations().explains.get(finding)
    if not can:
        return None
    for prev in reversed(out):
        if prev.certainty is Certainty.ABSENT or prev.finding not in can:
            continue
        if _NEW_CLAUSE.search(text, prev.span.end, start):
            return None
        return prev
    return None
