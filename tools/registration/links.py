"""One-click install links for editors: VS Code's ``code --add-mcp`` and ``vscode:`` link, Cursor's deeplink.

A link carries the same server entry that ``claude-health install`` writes into the editor's
user configuration (both links install into the user profile): the entry comes from the
client's template (:meth:`ClientTemplate.entry`) with the same launch command, never from a
second description of it. Formats, as the editors document them:

- VS Code: ``code --add-mcp '<json>'`` and ``vscode:mcp/install?<encodeURIComponent(json)>``,
  where ``json`` is the ``mcp.json`` server entry plus a ``name``.
- Cursor: ``cursor://anysphere.cursor-deeplink/mcp/install?name=<name>&config=<base64(json)>``,
  where ``json`` is the ``mcp.json`` server entry (without the name).
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from claude_health.tools.paths import Workspace
from claude_health.tools.registration.clients import SERVER_NAME, RegistrationError, Transport, load_template
from claude_health.tools.registration.launch import EXECUTABLE, SERVE_ARGS, Launch, detect_launch

LINK_CLIENTS: tuple[str, ...] = ("vscode", "cursor")
CURSOR_INSTALL = "cursor://anysphere.cursor-deeplink/mcp/install"
VSCODE_INSTALL = "vscode:mcp/install"
# What JavaScript's encodeURIComponent leaves as it is (VS Code builds its links with it).
_URI_COMPONENT_SAFE = "-_.!~*'()"
# The launch a link meant for other people carries (the README's links): uv fetches the release.
UVX_LAUNCH = Launch("uvx", [EXECUTABLE, *SERVE_ARGS], "uvx")


@dataclass(frozen=True)
class InstallLinks:
    """How to add claude-health to one editor in one step."""

    client: str
    title: str
    entry: dict[str, Any]
    link: str
    command: str | None  # a shell command that does the same, where the editor has one

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "title": self.title,
            "entry": self.entry,
            "link": self.link,
            "command": self.command,
        }


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def vscode_payload(entry: dict[str, Any]) -> dict[str, Any]:
    """The object ``code --add-mcp`` and the ``vscode:`` link take: the entry with its name."""
    return {"name": SERVER_NAME, **entry}


def vscode_link(entry: dict[str, Any]) -> str:
    return f"{VSCODE_INSTALL}?{quote(_compact(vscode_payload(entry)), safe=_URI_COMPONENT_SAFE)}"


def vscode_command(entry: dict[str, Any]) -> str:
    return f"code --add-mcp {shlex.quote(_compact(vscode_payload(entry)))}"


def cursor_link(entry: dict[str, Any]) -> str:
    config = base64.b64encode(_compact(entry).encode("utf-8")).decode("ascii")
    return f"{CURSOR_INSTALL}?{urlencode({'name': SERVER_NAME, 'config': config}, quote_via=quote)}"


def install_links(
    ws: Workspace,
    client: str,
    *,
    transport: Transport = "stdio",
    launch: Launch | None = None,
    url: str,
) -> InstallLinks:
    """The links for ``client`` carrying the entry ``install --client CLIENT --scope user`` writes."""
    if client not in LINK_CLIENTS:
        raise RegistrationError(
            f"{client} has no install link; links exist for {' and '.join(LINK_CLIENTS)} "
            f"(use `claude-health install --client {client}` instead)"
        )
    template = load_template(client)
    launch = launch or detect_launch(env=ws.env)
    entry = template.entry(transport, launch.command, launch.args, url)
    if client == "vscode":
        return InstallLinks(client, template.title, entry, vscode_link(entry), vscode_command(entry))
    return InstallLinks(client, template.title, entry, cursor_link(entry), None)
