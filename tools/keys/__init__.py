"""Key hygiene: Anthropic credentials where they should not be, and who pays for them.

The scan is :func:`claude_health.tools.keys.report.scan_keys`; its result types are in
:mod:`.models`. Names are imported from the module that defines them: the MCP server imports the
models at start-up and must not load the scanner, git and process-pool machinery with them.
"""
