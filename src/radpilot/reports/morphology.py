"""One place for English singular and plural forms of finding words.

Regular rules only (no dictionary): the vocabulary names its irregular and Latin forms
("bullae", "lymph nodes") as synonyms. The reader generates plurals of its terms with
:func:`plural_variants`, looks words up through :func:`singular_candidates`, and search
compares written words by :func:`stem`, so that "opacities" and "opacity" meet everywhere
by the same rule.

>>> plural("opacity"), plural("effusion"), plural("mass"), plural("hx")
('opacities', 'effusions', 'masses', 'hx')
>>> singular("opacities"), singular("masses"), singular("changes"), singular("ribs")
('opacity', 'mass', 'change', 'rib')
>>> singular_candidates("masses"), singular_candidates("opacities")
(('mass', 'masse'), ('opacity', 'opaciti', 'opacitie'))
>>> plural_variants("pleural effusion")
('pleural effusion', 'pleural effusions')
>>> stem("opacities") == stem("opacity") == "opacit"
True
>>> adjective_phrases("edematous", ("change", "process"))
('edematous change', 'edematous process')
"""

from __future__ import annotations

_VOWELS = "aeiou"
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")
MIN_WORD = 4  # shorter words ("rib" aside) are abbreviations or function words: left as they are


def plural(word: str) -> str:
    """The regular plural of one lower-case word ("opacity" -> "opacities", "mass" ->
    "masses"); a word that is not alphabetic or shorter than 3 letters stays as it is."""
    if not word.isalpha() or len(word) < 3:
        return word
    if word.endswith("y") and word[-2] not in _VOWELS:
        return word[:-1] + "ies"
    if word.endswith(_SIBILANT_ENDINGS):
        return word + "es"
    return word + "s"


def singular_candidates(word: str) -> tuple[str, ...]:
    """Every form a regular plural could come from, in the order to try them against a
    word list ("opacities" -> "opacity", ...; "masses" -> "mass", "masse")."""
    out = []
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s"):
        out.append(word[:-1])
    return tuple(out)


def singular(word: str) -> str:
    """The most likely singular of one lower-case word, by the regular rules alone."""
    if len(word) < MIN_WORD or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def plural_variants(term: str) -> tuple[str, ...]:
    """A normalized term and the term with its last word in the plural ("pleural effusion",
    "pleural effusions"); a term whose last word is short, not alphabetic or already ends
    in "s" has no generated plural."""
    last = term.rsplit(" ", 1)[-1]
    if not last.isalpha() or len(last) < MIN_WORD or last.endswith("s"):
        return (term,)
    return (term, term[: len(term) - len(last)] + plural(last))


def stem(word: str) -> str:
    """What the singular and plural of a word share ("opacities", "opacity" -> "opacit";
    "effusions" -> "effusion"): a prefix to match either form by."""
    one = singular(word.lower())
    many = plural(one)
    n = 0
    for a, b in zip(one, many, strict=False):
        if a != b:
            break
        n += 1
    return one[:n]


def adjective_phrases(adjective: str, heads: tuple[str, ...]) -> tuple[str, ...]:
    """The phrases in which an adjective form of a finding names it: the adjective before
    each head noun ("edematous" + "change" -> "edematous change"; the reader generates the
    plurals, "edematous changes", as for every term)."""
    return tuple(f"{adjective} {head}" for head in heads)
