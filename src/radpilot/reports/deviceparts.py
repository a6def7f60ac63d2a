"""A device's part or state written in a finding's words: "catheter fracture", "fracture
of the pacer lead", "the lead appears fractured", "the leads are intact without fracture"
name the state of the device, not a finding of the patient (:mod:`radpilot.reports.context`
drops those findings before it reads cues)."""

from __future__ import annotations

import re

from radpilot.reports.matcher import Token
from radpilot.reports.scope import Draft

# What may stand between a finding's word and the device after it that it describes:
# "of (the|a|an)" and up to three words ("fracture of the second and third wires"); after a
# participle, nothing ("fractured wire") or words that say which (``_WHICH_DEVICE``); never
# anything after a noun: "sternotomy wires" are the wires of a sternotomy, both stated.
_DEVICE_PART_GAP = re.compile(r"[ \t]+of[ \t]+(?:(?:the|a|an)[ \t]+)?(?:[a-z]+[ \t]+){0,3}")
# Between a participle and its device: words that say which one ("fractured upper sternal
# wires", "fractured right ventricular lead"), never a bone ("fractured left sixth rib").
_WHICH_DEVICE = re.compile(
    r"[ \t]+(?:(?:upper|lower|mid|middle|superior|inferior|proximal|distal|right|left|"
    r"anterior|posterior|atrial|ventricular|first|second|third|fourth|fifth|several|"
    r"multiple|two|three|both|one|some)[ \t]+){0,3}",
    re.I,
)
# A device as the subject of a finding's participle: "the catheter has fractured", "the
# lead appears fractured", "the wires are possibly fractured".
_DEVICE_SUBJECT_GAP = re.compile(
    r"[ \t]+(?:has|have|had|is|are|was|were|appears?|appeared|seems?|looks?)[ \t]+"
    r"(?:(?:been|to be|now|again|possibly|probably|likely|partially)[ \t]+){0,2}",
    re.IGNORECASE,
)
# ... or of a finding's noun: "the lead has a fracture near the generator".
_DEVICE_HAS_GAP = re.compile(r"[ \t]+(?:has|have|had)[ \t]+(?:a|an)[ \t]+(?:[a-z]+[ \t]+)?", re.I)
# ... or a device said intact without it: "the leads are intact without fracture",
# "sternotomy wires are intact, without evidence of fracture".
_DEVICE_INTACT_GAP = re.compile(
    r"[ \t]+(?:(?:is|are|appears?|remains?|otherwise)[ \t]+)*intact[ \t]*,?[ \t]+(?:and[ \t]+)?"
    r"(?:without|with no|no)[ \t]+(?:(?:evidence|signs?)[ \t]+of[ \t]+)?(?:(?:a|an|any)[ \t]+)?",
    re.I,
)


def past_states(d: Draft, cue_tokens: list[Token], states: list[Draft]) -> list[Token]:
    """The cues that may reach a device past the state its finding's word says before it:
    "no" and "possible" in "no fracture of the pacing leads", "possible fracture of the
    lead" are the state's, and the leads are there."""
    return [t for t in cue_tokens if not any(t.end <= s.start and s.end <= d.start for s in states)]


def without_device_parts(
    drafts: list[Draft], text: str, devices: frozenset[str]
) -> tuple[list[Draft], list[Draft]]:
    """Drop a finding whose word is compounded with a device's: "catheter fracture" and
    "fracture of the pacer lead" name the device's state, not a fracture of the patient;
    so does a finding's participle said of a device ("the catheter has fractured"). The
    second list: the states dropped that stand before their device."""
    kept: list[Draft] = []
    states: list[Draft] = []
    for i, d in enumerate(drafts):
        if d.finding not in devices:
            before = drafts[i - 1] if i > 0 else None
            after = drafts[i + 1] if i + 1 < len(drafts) else None
            if before is not None and before.finding in devices and before.end <= d.start:
                if text[before.end : d.start].strip(" \t") == "":
                    continue  # "catheter fracture"
                if text[d.start : d.end].lower().endswith("ed") and _DEVICE_SUBJECT_GAP.fullmatch(
                    text, before.end, d.start
                ):
                    continue  # "the lead appears fractured"
                if _DEVICE_HAS_GAP.fullmatch(text, before.end, d.start):
                    continue  # "the lead has a fracture"
                if _DEVICE_INTACT_GAP.fullmatch(text, before.end, d.start):
                    continue  # "the leads are intact without fracture"
            if after is not None and after.finding in devices and d.end <= after.start:
                gap = text[d.end : after.start].lower()
                participle = text[d.start : d.end].lower().endswith("ed") and bool(
                    _WHICH_DEVICE.fullmatch(text, d.end, after.start) or not gap.strip()
                )
                if participle or _DEVICE_PART_GAP.fullmatch(gap):
                    states.append(d)
                    continue  # "fractured sternal wires", "fracture of the wire"
            if _participle_of_compound(d, drafts[i + 1 : i + 3], text, devices):
                states.append(d)
                continue  # "fractured sternotomy wire": the wire is fractured, no bone
        kept.append(d)
    return kept, states


def _participle_of_compound(
    d: Draft, following: list[Draft], text: str, devices: frozenset[str]
) -> bool:
    """Is ``d`` a finding's participle right before a compound of another finding's word
    and a device's ("fractured sternotomy wire": sternotomy, then the wire)? The
    participle says the device's state, as it does right before the device alone."""
    if len(following) < 2 or not text[d.start : d.end].lower().endswith("ed"):
        return False
    first, head = following
    return (
        first.finding not in devices
        and head.finding in devices
        and d.end <= first.start
        and first.end <= head.start
        and not text[d.end : first.start].strip(" \t")
        and not text[first.end : head.start].strip(" \t")
    )
