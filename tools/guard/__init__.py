"""The in-session guard: Claude Code hooks that warn before money is spent.

``claude-health hook EVENT`` runs inside every Claude Code session once ``claude-health install
--hooks`` has added it to a settings file. Each event has a module here:

- :mod:`.session_start`: who pays and what is broken, said once when a session starts;
- :mod:`.thresholds`: plan-window alerts on UserPromptSubmit, one per crossing;
- :mod:`.config_change`: an edit that makes Claude Code drop a settings file or its rules;
- :mod:`.stop_failure`: a session stopped by a plan limit, kept as ground truth for usage.

The modules on the per-prompt path import only the standard library (like the status line);
the facts about the user's setup come from :func:`.facts.session_facts`, the one adapter to the
auth route and the checks. Nothing here imports MCP.
"""
