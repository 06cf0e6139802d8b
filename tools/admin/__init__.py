"""The organisation's truth from Anthropic's Admin API: real rate limits, usage, cost, Claude Code.

Opt-in twice: it needs an Admin API key (``sk-ant-admin01-...`` from ``ANTHROPIC_ADMIN_KEY`` or
``[admin] key`` in claude-health's config file, never a regular key), and nothing is sent unless
asked (``claude-health limits --sync``, ``claude-health usage --api``, the MCP tools' explicit
arguments). Every request goes through the shared Anthropic client (SDK retry rules, the core
limiter's ``other`` bucket, error mapping); the key is never shown, logged or stored by
claude-health. docs/admin-api.md lists the endpoints and where their contract was read.
"""
