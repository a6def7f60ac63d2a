"""radpilot.workflow: helping a radiologist finish a case.

Drafts read back by the report reader (``draft``), QA of a signed report (``qa``),
follow-up recommendations (``followups``), a patient's timeline and the triaged worklist.
Language-model backends (``radpilot.registry.llm_backends``) may polish wording or
summarise; every output they give is verified, never trusted.

It may import the capabilities below it (``search``, ``evaluate``, ``interop``,
``imaging``, ``reports``), never ``server``, ``spark``, ``datasets`` or ``commands``.
"""
