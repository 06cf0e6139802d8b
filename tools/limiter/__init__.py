"""A client-side mirror of Anthropic's rate limits, shared by every session and machine.

>>> from claude_health.tools.limiter.core import Limiter
>>> lim = Limiter.open("memory://", limits={"my-model": {"rpm": 500, "itpm": 30000, "otpm": 8000}})
>>> lim.try_acquire(model="my-model", input_tokens=1200, max_output_tokens=512).allowed
True

Names are imported from the module that defines them (``core``, ``models``, ``stores``...): the
MCP server imports the result models at start-up and must not load the stores with them.
"""
