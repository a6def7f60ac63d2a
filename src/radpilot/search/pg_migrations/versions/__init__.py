"""One module per archive schema revision, oldest first (``down_revision`` chains them)."""
