"""Strict loaders for the drafting data: templates, regions, wording, importance, prompts.

``data/drafting.json`` says how a draft is written (which Jinja2 template an exam text
selects, the FINDINGS regions and their pertinent negatives, the words a statement is
built from, the IMPRESSION order); ``data/prompts.json`` holds every language-model
prompt. Both are parsed once, on first use, with unknown keys rejected.

>>> drafting().template_for("CHEST 2 VIEWS").id
'chest_radiograph'
>>> prompts().get("polish").system[:36]
'You edit chest radiograph reports fo'
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import Field, field_validator

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.errors import VocabularyError
from radpilot.reports.models import Change, Hedge
from radpilot.reports.vocabulary import FindingId, Phrase, normalize_term


class Negative(DataModel):
    finding: FindingId
    text: Phrase = Field(description="The sentence, e.g. 'No pneumothorax.'")
    unless: list[FindingId] = Field(
        default_factory=list,
        description="Also left out when any of these findings (or their descendants) is "
        "stated: 'No focal consolidation' beside a pneumonia would contradict it.",
    )


class Region(DataModel):
    header: Phrase
    findings: list[FindingId] = Field(
        description="Finding ids (or their ancestors) stated under this region."
    )
    negatives: list[Negative] = Field(default_factory=list)


class Template(DataModel):
    id: FindingId
    file: Phrase = Field(description="The Jinja2 template, relative to the data folder.")
    exam_words: list[Phrase] = Field(min_length=1)
    default_exam: Phrase
    empty_impression: Phrase
    regions: list[Region] = Field(min_length=1)

    def matches(self, exam: str) -> bool:
        text = f" {normalize_term(exam)} "
        return any(f" {normalize_term(w)} " in text for w in self.exam_words)

    def region_of(self, lineage: tuple[str, ...]) -> int:
        """The first region naming the finding or one of its ancestors (nearest first);
        the last region when none does."""
        for finding in lineage:
            for i, region in enumerate(self.regions):
                if finding in region.findings:
                    return i
        return len(self.regions) - 1


class DraftingFile(DataDocument):
    version: str
    templates: list[Template] = Field(min_length=1)
    hedges: dict[Hedge, Phrase]
    absent: Phrase
    changes: dict[Change, Phrase]
    device_removed: Phrase
    names: dict[FindingId, Phrase] = Field(default_factory=dict)
    location_words: list[Phrase]
    importance: list[FindingId]
    size_ranks: list[list[Phrase]] = Field(
        default_factory=list,
        description="The reader's severity words, smallest first; words in one list rank "
        "the same. A finding whose rank differs from the prior's is increased or decreased.",
    )

    def size_rank(self, severity: str | None) -> int | None:
        for i, words in enumerate(self.size_ranks):
            if severity in words:
                return i
        return None

    @field_validator("changes")
    @classmethod
    def _every_change(cls, v: dict[Change, str]) -> dict[Change, str]:
        missing = [c.value for c in Change if c not in v]
        if missing:
            raise ValueError(f"missing wording for: {', '.join(missing)}")
        return v

    def template_for(self, exam: str | None) -> Template:
        """The first template whose exam words occur in ``exam``; the first template
        when no exam is given. An exam no template covers is an error naming them."""
        if exam is None:
            return self.templates[0]
        for template in self.templates:
            if template.matches(exam):
                return template
        known = ", ".join(t.id for t in self.templates)
        raise VocabularyError(
            f"--exam: no report template covers this examination; templates: {known} "
            "(exam words are in radpilot/workflow/data/drafting.json)"
        )


class Prompt(DataModel):
    system: Phrase
    user: Phrase = Field(description="Python str.format template; fields named per use.")
    max_tokens: int = Field(256, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=2.0)


class PromptsFile(DataDocument):
    version: str
    prompts: dict[str, Prompt]

    def get(self, name: str) -> Prompt:
        try:
            return self.prompts[name]
        except KeyError:
            raise VocabularyError(
                f"{PROMPTS.where}: no prompt {name!r}; prompts: {', '.join(sorted(self.prompts))}"
            ) from None


DRAFTING = DataFile("radpilot.workflow", "data/drafting.json", DraftingFile)
PROMPTS = DataFile("radpilot.workflow", "data/prompts.json", PromptsFile)


def drafting() -> DraftingFile:
    return DRAFTING.load()


def prompts() -> PromptsFile:
    return PROMPTS.load()


@cache
def template_source(file: str) -> str:
    """A packaged Jinja2 template's text (``Template.file``)."""
    where = f"radpilot/workflow/data/{file}"
    try:
        return (
            resources.files("radpilot.workflow").joinpath("data", file).read_text(encoding="utf-8")
        )
    except FileNotFoundError:
        raise VocabularyError(f"{where}: packaged template is missing") from None
