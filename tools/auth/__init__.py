"""The auth route: which credential Claude Code will use, and therefore who pays."""
