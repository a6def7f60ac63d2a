"""radpilot: an open-source radiology copilot. It assists; it does not diagnose."""

__version__ = "0.1.0"
