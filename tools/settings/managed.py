"""What Claude Code does with an invalid value in managed settings.

A user, project or local file with a wrong type is ignored whole; a managed document is not.
Claude Code 2.1.332 keeps the rest of the document and, for the keys that lock something down,
fails closed: it reads the invalid value as the key's most restrictive value, or as an empty
allowlist. Every other invalid key is dropped ("read as unset"). Observed with `claude doctor`
against a managed-settings.json holding a wrong type for every known key
(tests/test_settings_e2e_managed.py keeps a sample of them checked).
"""

from __future__ import annotations

from typing import Any

# Invalid value -> the value Claude Code uses instead ("its restrictive value").
RESTRICTIVE: dict[str, Any] = {
    "enforceAvailableModels": True,
    "enableAllProjectMcpServers": False,
    "disableClaudeAiConnectors": True,
    "disableBundledSkills": True,
    "disableAgentView": True,
    "disableRemoteControl": True,
    "disableWorkflows": True,
    "disableArtifact": True,
    "enableArtifact": False,
    "disableSkillShellExecution": True,
    "allowManagedHooksOnly": True,
    "allowManagedPermissionRulesOnly": True,
    "allowManagedMcpServersOnly": True,
    "disableSideloadFlags": True,
    "skipWebFetchPreflight": False,
    "fastModePerSessionOptIn": True,
    "channelsEnabled": False,
    "skipDangerousModePermissionPrompt": False,
    "disableAutoMode": "disable",
    "fileCheckpointingEnabled": False,
    "remoteControlAtStartup": False,
    "skipAutoPermissionPrompt": False,
    "useAutoModeDuringPlan": False,
    "disableDeepLinkRegistration": "disable",
    "permissions.defaultMode": "default",
    "permissions.disableBypassPermissionsMode": "disable",
    "permissions.disableAutoMode": "disable",
    "attribution.sessionUrl": False,
    "worktree.bgIsolation": "worktree",
    "sandbox.enabled": True,
    "sandbox.autoAllowBashIfSandboxed": False,
    "sandbox.allowUnsandboxedCommands": False,
    "sandbox.enableWeakerNestedSandbox": False,
    "sandbox.enableWeakerNetworkIsolation": False,
    "sandbox.allowAppleEvents": False,
    "sandbox.network.strictAllowlist": True,
    "sandbox.network.allowManagedDomainsOnly": True,
    "sandbox.network.allowAllUnixSockets": False,
    "sandbox.network.allowLocalBinding": False,
    "sandbox.filesystem.allowManagedReadPathsOnly": True,
    "sandbox.credentials.allowPlaintextInject": False,
}

# Invalid value -> an empty allowlist; the text says what that shuts off.
EMPTY_ALLOWLIST: dict[str, str] = {
    "availableModels": "only the default model is available",
    "allowedHttpHookUrls": "no HTTP hook may run",
    "httpHookAllowedEnvVars": "no environment variable may be interpolated into HTTP hook headers",
    "allowedChannelPlugins": "no channel plugin is admitted",
    "allowedMcpServers": "no MCP server is admitted",
    "forceLoginOrgUUID": "no organization may log in",
}

# A container that is not an object: the locks under it take their restrictive values.
CONTAINER_LOCKS: dict[str, tuple[str, ...]] = {
    "permissions": (
        "disableBypassPermissionsMode",
        "blockReadsOutsideWorkingDirectories",
        "blockWritesOutsideWorkingDirectories",
        "disableAutoMode",
        "denyInsteadOfPrompting",
    ),
    "attribution": ("sessionUrl",),
    "worktree": ("bgIsolation",),
    "sandbox": (
        "autoAllowBashIfSandboxed",
        "allowUnsandboxedCommands",
        "network",
        "filesystem",
        "credentials",
        "windows",
        "enableWeakerNestedSandbox",
        "allowNestedUserNamespaces",
        "enableWeakerNetworkIsolation",
        "allowAppleEvents",
    ),
    "autoMode": ("classifyAllShell",),
}

# The objects whose fields Claude Code judges one by one in managed settings; any other object
# with a problem inside is dropped whole ("Failed schema validation. This field was ignored").
PER_FIELD = frozenset(CONTAINER_LOCKS)


def _locks_under(prefix: str) -> dict[str, Any]:
    """The restrictive values this module knows below ``prefix``, as a nested object."""
    out: dict[str, Any] = {}
    for path, value in RESTRICTIVE.items():
        if not path.startswith(prefix + "."):
            continue
        parts = path[len(prefix) + 1 :].split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def fallback(path: tuple[str | int, ...]) -> tuple[Any, str] | None:
    """What Claude Code uses in place of an invalid managed value at ``path``, and how to say it;
    None when it simply drops the key."""
    dotted = ".".join(str(p) for p in path)
    if dotted in RESTRICTIVE:
        value = RESTRICTIVE[dotted]
        return value, f"Claude Code treats it as {_js(value)}, its restrictive value, until it is fixed"
    if dotted in EMPTY_ALLOWLIST:
        return [], f"Claude Code enforces an empty allowlist ({EMPTY_ALLOWLIST[dotted]}) until it is fixed"
    if dotted in CONTAINER_LOCKS:
        locks = _locks_under(dotted)
        return locks, (
            "Claude Code treats the locks under it as their restrictive values "
            f"({', '.join(CONTAINER_LOCKS[dotted])}) until it is fixed"
        )
    return None


def _js(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)
