"""Where the Admin API key comes from, and the checks before it is used.

Two places only: the ``ANTHROPIC_ADMIN_KEY`` environment variable, then ``[admin] key`` in
claude-health's config file (``~/.config/claude-health/limits.toml``), which must then be private
(no group or other read bits): an organisation-wide key in a readable file is a leak waiting to
happen. A regular API key (``ANTHROPIC_API_KEY``) is never used, and a regular key placed in
either spot is refused: the Admin API rejects it, and sending it there says nothing useful.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from claude_health.tools.keys.formats import find_in_text, label
from claude_health.tools.redact import fingerprint, redact
from claude_health.tools.state import config_file_name

ENV_VAR = "ANTHROPIC_ADMIN_KEY"
MAX_CONFIG_BYTES = 1_000_000


class AdminKeyError(ValueError):
    """No usable admin key; the message says where claude-health looked and what to do."""


@dataclass(frozen=True)
class AdminKey:
    secret: str = field(repr=False)
    source: str
    """``ANTHROPIC_ADMIN_KEY`` or the config file's path."""

    @property
    def redacted(self) -> str:
        return redact(self.secret)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)

    def __repr__(self) -> str:
        return f"AdminKey({self.redacted} from {self.source})"


HOW = (
    f"set {ENV_VAR} to an Admin API key (sk-ant-admin01-..., created by an organisation admin in the "
    "Claude Console under Settings > Admin keys), or put it in [admin] key of the config file "
    "(chmod 600)"
)


def _checked(value: str, where: str) -> str:
    text = value.strip()
    hits = find_in_text(text)
    if len(hits) == 1 and hits[0][0] == "admin_key" and hits[0][1] == text:
        return text
    if hits:
        kind = hits[0][0]
        raise AdminKeyError(
            f"{where} holds an Anthropic {label(kind)} ({redact(text)}), not an Admin API key: the Admin "
            f"API accepts only admin keys, and claude-health never sends a regular key there. {HOW}."
        )
    raise AdminKeyError(f"{where} is set but is not an Admin API key ({redact(text)}). {HOW}.")


def _from_config(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CONFIG_BYTES:
        return None
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the limiter's own check reports an unreadable config file (L005)
    admin = data.get("admin")
    value = admin.get("key") if isinstance(admin, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    if os.name == "posix" and stat.S_IMODE(st.st_mode) & 0o077:
        raise AdminKeyError(
            f"{path} holds the admin key but its mode is {stat.S_IMODE(st.st_mode):04o}: other users "
            f"can read an organisation-wide key. Run `chmod 600 {path}` (claude-health does not use "
            "the key until then)."
        )
    return value


def find_admin_key(env: Mapping[str, str], home: Path) -> AdminKey:
    """The admin key, or :class:`AdminKeyError` saying why there is none."""
    value = env.get(ENV_VAR, "")
    if value.strip():
        return AdminKey(_checked(value, ENV_VAR), ENV_VAR)
    path = Path(config_file_name(env, home))
    stored = _from_config(path)
    if stored is not None:
        return AdminKey(_checked(stored, f"[admin] key in {path}"), str(path))
    raise AdminKeyError(f"No Admin API key: {ENV_VAR} is not set and {path} has no [admin] key. {HOW}.")
