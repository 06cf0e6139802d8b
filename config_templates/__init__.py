"""Registration templates, one per MCP client, as data (loaded by claude_health.tools.registration)."""
