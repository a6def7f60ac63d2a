"""radpilot.server."""
