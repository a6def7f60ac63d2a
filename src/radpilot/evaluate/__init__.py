"""radpilot.evaluate."""
