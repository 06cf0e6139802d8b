"""MCP adapters, one module per domain; each exposes ``register(server)``."""
