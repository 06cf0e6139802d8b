"""Plan usage: tokens and cost from Claude Code's transcripts, and the plan's official percentages.

Modules stay import-light on purpose: :mod:`.statusline` runs on every status-line refresh and
must not pull in pydantic or the scanner.
"""
