"""The MCP Bundle (``.mcpb``) for one-click install in Claude Desktop.

An MCPB is a zip archive with a ``manifest.json``. claude-health's is of the ``uv`` server type
(manifest 0.4): the host runs ``uv run --directory <bundle> main.py``, and uv installs the
dependencies that ``pyproject.toml`` lists into the bundle's own environment. The archive holds:

- ``manifest.json``: name, version, description, author and links from the installed
  distribution's metadata (so from ``pyproject.toml``), and the tools of the real server;
- ``pyproject.toml``: the runtime dependencies, nothing to build (``tool.uv.package = false``);
- ``main.py``: starts ``claude-health serve`` (stdio) from the bundled code;
- ``claude_health/{server,tools,config_templates}/``: the code and data of this installation,
  the same files a wheel ships.

The archive is reproducible (entries sorted, fixed timestamps and modes), so its sha256 depends
only on what is in it: that is the ``fileSha256`` the MCP Registry's ``server.json`` records.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_health.tools.files import write_atomically

DISTRIBUTION = "claude-health"
BUNDLE_NAME = "claude-health.mcpb"
MANIFEST_VERSION = "0.4"
ENTRY_POINT = "main.py"
# The subpackages a wheel installs, and the data files they carry (pyproject's package-data).
SUBPACKAGES = ("server", "tools", "config_templates")
_SHIPPED_SUFFIXES = (".py", ".json", ".toml")
_SHIPPED_NAMES = ("py.typed",)
# Zip entries get this date and these modes: the same content always gives the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_EXTRA_MARKER = re.compile(r";.*\bextra\s*==")

MAIN_PY = '''\
"""Start claude-health's MCP server (stdio) from this bundle: uv run --directory <bundle> main.py"""

import sys
from pathlib import Path

# The bundled package, ahead of anything else of the same name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from claude_health.server.cli import main  # noqa: E402

raise SystemExit(main(["serve", *sys.argv[1:]]))
'''

LONG_DESCRIPTION = (
    "claude-health answers, inside Claude Desktop, the questions that cost Claude users time and "
    "money: which credential and billing route Claude Code uses, whether every settings file is "
    "loaded, where an Anthropic key leaked, how many tokens a file or request costs, how much "
    "rate-limit headroom is left and where a Pro/Max plan stands in its 5-hour and weekly windows. "
    "Everything runs locally and read-only; only key verification and exact token counts, both "
    "opt-in, contact the Anthropic API with your own key."
)
ANTHROPIC_PRIVACY = "https://www.anthropic.com/legal/privacy"


class BundleError(Exception):
    """The bundle cannot be built from this installation; the message says why."""


@dataclass(frozen=True)
class Built:
    path: Path
    sha256: str
    size: int
    files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "size": self.size, "files": len(self.files)}


def _metadata() -> importlib.metadata.PackageMetadata:
    try:
        return importlib.metadata.metadata(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise BundleError(
            "claude-health's distribution metadata is missing: run from an installed claude-health "
            "(pip install, uv tool install or pip install -e .)"
        ) from None


def runtime_requirements() -> list[str]:
    """The installed distribution's requirements without the optional extras (in its order)."""
    return [r for r in importlib.metadata.requires(DISTRIBUTION) or [] if not _EXTRA_MARKER.search(r)]


def _project_urls(meta: importlib.metadata.PackageMetadata) -> dict[str, str]:
    urls: dict[str, str] = {}
    for line in meta.get_all("Project-URL") or []:
        label, _, url = line.partition(",")
        urls[label.strip().lower()] = url.strip()
    return urls


def tool_summaries() -> list[dict[str, str]]:
    """Name and title of every tool the real server registers (what Claude Desktop lists)."""
    import asyncio

    from claude_health.server.app import build_server

    tools = asyncio.run(build_server().list_tools())
    return [
        {"name": tool.name, "description": tool.title or (tool.description or "").split("\n")[0]}
        for tool in tools
    ]


def manifest(tools: list[dict[str, str]]) -> dict[str, Any]:
    meta = _metadata()
    homepage = _project_urls(meta).get("homepage", "")
    keywords = [k.strip() for k in (meta["Keywords"] or "").split(",") if k.strip()]
    requires_python = meta["Requires-Python"] or ">=3.11"
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": DISTRIBUTION,
        "display_name": DISTRIBUTION,
        "version": meta["Version"],
        "description": meta["Summary"],
        "long_description": LONG_DESCRIPTION,
        "author": {"name": meta["Author"] or DISTRIBUTION},
        "repository": {"type": "git", "url": homepage},
        "homepage": homepage,
        "documentation": f"{homepage}#readme",
        "support": f"{homepage}/issues",
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", ENTRY_POINT],
                "env": {},
            },
        },
        "tools": tools,
        "tools_generated": False,
        "keywords": keywords,
        "license": meta["License-Expression"] or meta["License"] or "MIT",
        "privacy_policies": [ANTHROPIC_PRIVACY],
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": requires_python},
        },
    }


def pyproject(version: str, requires_python: str) -> str:
    """The bundle's own project file: dependencies for uv, nothing to build or install."""
    import tomli_w

    return tomli_w.dumps(
        {
            "project": {
                "name": f"{DISTRIBUTION}-mcpb",
                "version": version,
                "description": "claude-health's MCP server, run by uv from this bundle",
                "requires-python": requires_python,
                "dependencies": runtime_requirements(),
            },
            "tool": {"uv": {"package": False}},
        }
    )


def _package_root(sub: str) -> Path:
    module = importlib.import_module(f"claude_health.{sub}")
    for entry in getattr(module, "__path__", []):
        if Path(entry, "__init__.py").is_file():
            return Path(entry)
    raise BundleError(f"claude_health.{sub} has no package folder to bundle")


def _shipped(path: Path) -> bool:
    return path.name in _SHIPPED_NAMES or path.suffix in _SHIPPED_SUFFIXES


def package_files() -> dict[str, bytes]:
    """``claude_health/<sub>/...`` -> bytes, for every file a wheel of this installation ships."""
    files: dict[str, bytes] = {}
    for sub in SUBPACKAGES:
        root = _package_root(sub)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            for name in filenames:
                path = Path(dirpath, name)
                if _shipped(path) and not name.startswith("."):
                    relative = path.relative_to(root).as_posix()
                    files[f"claude_health/{sub}/{relative}"] = path.read_bytes()
    return files


def contents() -> dict[str, bytes]:
    """Every file of the bundle, by archive path."""
    meta = _metadata()
    files = package_files()
    files["manifest.json"] = (json.dumps(manifest(tool_summaries()), indent=2) + "\n").encode()
    files["pyproject.toml"] = pyproject(meta["Version"], meta["Requires-Python"] or ">=3.11").encode()
    files[ENTRY_POINT] = MAIN_PY.encode()
    return files


def archive(files: dict[str, bytes]) -> bytes:
    """A reproducible zip of ``files``: sorted entries, fixed dates and modes, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = (0o100000 | _FILE_MODE) << 16  # a regular file, rw-r--r--
            info.create_system = 3  # unix, so the mode above is read as one
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def build(out_dir: Path) -> Built:
    """Write ``out_dir/claude-health.mcpb`` (creating the folder) and describe it."""
    files = contents()
    data = archive(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / BUNDLE_NAME
    write_atomically(path, data, _FILE_MODE)
    return Built(path, hashlib.sha256(data).hexdigest(), len(data), tuple(sorted(files)))


def release_url(version: str) -> str:
    """Where a release publishes the bundle: the registry accepts GitHub release assets."""
    homepage = _project_urls(_metadata()).get("homepage", "")
    return f"{homepage}/releases/download/v{version}/{BUNDLE_NAME}"


def record(server_json: Path, built: Built) -> dict[str, Any]:
    """Point ``server_json``'s mcpb package at this build (URL, version, sha256); returns the entry.

    The release step: the registry checks the downloaded file against ``fileSha256``. Only that
    entry changes; the file is rewritten atomically in its existing two-space JSON layout.
    """
    try:
        data = json.loads(server_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{server_json}: cannot read it as JSON ({exc}); nothing was changed") from None
    packages = data.get("packages") if isinstance(data, dict) else None
    entries = [p for p in packages or [] if isinstance(p, dict) and p.get("registryType") == "mcpb"]
    if len(entries) != 1:
        raise BundleError(
            f"{server_json}: expected exactly one package with registryType mcpb; nothing was changed"
        )
    version = _metadata()["Version"]
    entries[0].update(identifier=release_url(version), version=version, fileSha256=built.sha256)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomically(server_json, text.encode("utf-8"), server_json.stat().st_mode & 0o777)
    return dict(entries[0])
