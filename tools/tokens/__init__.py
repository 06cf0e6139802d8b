"""Token counting: an offline content-aware estimate, exact counts through the API, cost and fit,
and the per-turn context budget of a project.

>>> from claude_health.tools.tokens.counter import count_text
>>> count_text("Hello, Claude", model="claude-opus-4-6").method
'estimate'

Names are imported from the module that defines them (``counter``, ``budget``, ``results``,
``models``...): the CLI and the MCP server import the result schemas and the default model at
start-up and must not pay for httpx until they count.
"""
