"""Settings validation: every Claude Code config file judged the way Claude Code judges it."""
