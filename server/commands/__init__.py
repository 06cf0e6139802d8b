"""One module per ``claude-health`` subcommand; each exposes ``register(subparsers, common)``."""
