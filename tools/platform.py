"""Which operating system claude-health reasons about, with an override for support and tests.

Claude Code keeps different things on each OS: the claude.ai login in the macOS Keychain or in
``.credentials.json``, managed settings in an MDM profile, the Windows registry or a file.
``CLAUDE_HEALTH_PLATFORM=darwin|linux|win32`` makes claude-health apply one OS's rules on
another machine: to reproduce a user's report from their files, and to test the macOS and
Windows paths on Linux. It changes which places are read and how, never what a place holds:
the Keychain is still read through the ``security`` program on PATH, and the registry only
through ``winreg`` on Windows.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

PLATFORM_OVERRIDE = "CLAUDE_HEALTH_PLATFORM"
PLATFORMS = ("darwin", "linux", "win32")


def platform_override(env: Mapping[str, str]) -> str | None:
    """The platform ``CLAUDE_HEALTH_PLATFORM`` asks for, or None when unset or not a known one."""
    value = env.get(PLATFORM_OVERRIDE, "").strip().lower()
    if not value:
        return None
    if value not in PLATFORMS:
        # A typo must not silently apply the wrong OS's rules: say so, and use the real one.
        import logging  # only on this path: most runs never log

        logging.getLogger(__name__).warning(
            "%s=%r is not one of %s; using this machine's platform (%s)",
            PLATFORM_OVERRIDE,
            value[:40],
            ", ".join(PLATFORMS),
            sys.platform,
        )
        return None
    return value


def effective_platform(env: Mapping[str, str]) -> str:
    """``CLAUDE_HEALTH_PLATFORM`` when set to a known platform, otherwise ``sys.platform``."""
    return platform_override(env) or sys.platform
