"""radpilot.interop: the hospital formats radpilot reads and writes, below every capability.

- ``records``: what every input format hands on (``ReportRecord``, ``RecordError``,
  ``RecordNote``), so the archive never sees a format.
- ``hl7``: HL7 v2 ORU^R01 result messages; ``fhir``: FHIR R4 DiagnosticReport (Bundle,
  resource or NDJSON).

It may import ``radpilot.reports`` and the base modules, never a capability (``search``,
``imaging``, ``evaluate``), so a service can export without importing them.
"""
