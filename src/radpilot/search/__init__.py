"""radpilot.search."""
