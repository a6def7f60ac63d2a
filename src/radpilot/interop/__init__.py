"""radpilot.interop."""
