"""radpilot.workflow."""
