"""The Claude Code runtime: is `claude` installed, which version, and what it needs around it."""
