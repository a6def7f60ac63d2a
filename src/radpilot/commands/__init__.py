"""One small module per CLI command."""
