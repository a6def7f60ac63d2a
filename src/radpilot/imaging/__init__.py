"""radpilot.imaging."""
