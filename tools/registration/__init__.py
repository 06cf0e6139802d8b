"""Registering claude-health with MCP clients: locate each client's config, edit it safely.

Pure file logic (no MCP imports): JSON/JSONC edited in place with spans, TOML tables edited as
text, atomic writes with a timestamped backup, and unified diffs for ``--dry-run``. Plans are
made and applied by :mod:`.plan`; the clients are described in :mod:`.clients`.
"""
