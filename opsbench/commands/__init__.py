"""Command handlers, one module per command, imported lazily by the CLI."""
