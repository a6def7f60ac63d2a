"""radpilot.reports."""
