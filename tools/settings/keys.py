"""The settings keys Claude Code knows, with the types its loader enforces.

Types follow Claude Code 2.1.332 as observed (notes §6), not the SchemaStore schema where they
differ. ``Spec.catch`` marks values Claude Code silently unsets instead of rejecting the file.
Keys missing here are reported as unknown (info), never as errors: every release adds keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CLAUDE_CODE_VERSION = "2.1.332"


@dataclass(frozen=True, slots=True)
class Spec:
    """``kind``: bool, str, num, int, str[], obj[], obj, any, enum, str|str[], str|null, plugins, or
    one validated by its own module (rules, hooks, env, mcpfilter)."""

    kind: str
    enum: tuple[str, ...] = ()
    catch: bool = False  # Claude Code unsets an invalid value instead of rejecting the file
    minimum: float | None = None
    exclusive: bool = False
    fields: dict[str, Spec] = field(default_factory=dict)  # for "obj": known nested keys
    required: tuple[str, ...] = ()
    item: Spec | None = None  # for "obj[]" items and "map" values
    strict: bool = False  # report unknown nested keys (only where the key set is well known)


def enum(*values: str, catch: bool = False) -> Spec:
    return Spec("enum", enum=values, catch=catch)


B, S, N, SA, OBJ, ANY = Spec("bool"), Spec("str"), Spec("num"), Spec("str[]"), Spec("obj"), Spec("any")

DEFAULT_MODES = ("default", "acceptEdits", "plan", "auto", "dontAsk", "bypassPermissions", "manual")

PERMISSIONS = Spec(
    "obj",
    fields={
        "allow": Spec("rules"),
        "deny": Spec("rules"),
        "ask": Spec("rules"),
        "defaultMode": enum(*DEFAULT_MODES),
        "disableBypassPermissionsMode": enum("disable"),
        "disableAutoMode": enum("disable"),
        "additionalDirectories": SA,
    },
)

_COMMAND_LINE = Spec(
    "obj",
    fields={
        "type": enum("command"),
        "command": S,
        "padding": N,
        "refreshInterval": Spec("num", minimum=1, catch=True),
        "hideVimModeIndicator": B,
    },
    required=("command",),
)

# Deprecated in 2.1.332: an invalid subagentStatusLine is unset instead of rejecting the file.
_CAUGHT_COMMAND_LINE = Spec("obj", fields=_COMMAND_LINE.fields, required=_COMMAND_LINE.required, catch=True)

_CREDENTIAL_RULE = Spec("obj", fields={"mode": enum("deny", "mask")})

SANDBOX_NETWORK = Spec(
    "obj",
    fields={
        "allowedDomains": SA,
        "deniedDomains": SA,
        "allowUnixSockets": SA,
        "allowAllUnixSockets": B,
        "allowLocalBinding": B,
        "httpProxyPort": Spec("int", minimum=1),
        "socksProxyPort": Spec("int", minimum=1),
        "allowManagedDomainsOnly": B,
        "allowMachLookup": ANY,
        "strictAllowlist": B,
        "tlsTerminate": Spec("obj", fields={"caCertPath": S, "caKeyPath": S}, strict=True),
    },
)

SANDBOX = Spec(
    "obj",
    fields={
        "enabled": B,
        "failIfUnavailable": B,
        "autoAllowBashIfSandboxed": B,
        "allowUnsandboxedCommands": B,
        "enableWeakerNetworkIsolation": B,
        "enableWeakerNestedSandbox": B,
        "allowAppleEvents": B,
        "excludedCommands": SA,
        "bwrapPath": Spec("str", catch=True),
        "socatPath": Spec("str", catch=True),
        "network": SANDBOX_NETWORK,
        "filesystem": Spec(
            "obj",
            fields={
                "allowWrite": SA,
                "denyWrite": SA,
                "allowRead": SA,
                "denyRead": SA,
                "allowManagedReadPathsOnly": B,
            },
        ),
        "credentials": Spec(
            "obj",
            fields={
                "files": Spec("obj[]", item=_CREDENTIAL_RULE),
                "envVars": Spec("obj[]", item=_CREDENTIAL_RULE),
                "allowPlaintextInject": B,
            },
        ),
        "ripgrep": OBJ,
        "enabledPlatforms": Spec("any"),
        "ignoreViolations": OBJ,
    },
)

TOP_LEVEL: dict[str, Spec] = {
    "$schema": S,
    "permissions": PERMISSIONS,
    "hooks": Spec("hooks"),
    "env": Spec("env"),
    "statusLine": _COMMAND_LINE,
    "subagentStatusLine": _CAUGHT_COMMAND_LINE,
    "fileSuggestion": Spec("obj", fields={"type": enum("command"), "command": S}, required=("command",)),
    "attribution": Spec("obj", fields={"commit": S, "pr": S, "sessionUrl": B}),
    "sandbox": SANDBOX,
    "worktree": Spec(
        "obj",
        fields={
            "sparsePaths": SA,
            "symlinkDirectories": SA,
            "baseRef": enum("fresh", "head"),
            "bgIsolation": enum("worktree", "none", catch=True),
        },
    ),
    "allowedMcpServers": Spec("mcpfilter"),
    "deniedMcpServers": Spec("mcpfilter"),
    "enabledMcpjsonServers": Spec("str[]", catch=True),
    "disabledMcpjsonServers": Spec("str[]", catch=True),
    "enableAllProjectMcpServers": B,
    "enabledPlugins": Spec("plugins"),
    "apiKeyHelper": S,
    "awsCredentialExport": S,
    "awsAuthRefresh": S,
    "gcpAuthRefresh": S,
    "otelHeadersHelper": S,
    "proxyAuthHelper": S,
    "processWrapper": S,
    "policyHelper": Spec("obj", catch=True),
    "autoMemoryEnabled": B,
    "autoMemoryDirectory": S,
    "autoUpdatesChannel": enum("stable", "latest", "rc"),
    "claudeMdExcludes": SA,
    "cleanupPeriodDays": Spec("int", minimum=1),
    "includeGitInstructions": B,
    "includeCoAuthoredBy": B,
    "plansDirectory": S,
    "respectGitignore": B,
    "language": S,
    "model": S,
    "availableModels": SA,
    "modelOverrides": OBJ,
    "effortLevel": enum("low", "medium", "high", "xhigh", catch=True),
    "fastMode": B,
    "fastModePerSessionOptIn": B,
    "feedbackSurveyRate": Spec("num", minimum=0),
    "httpHookAllowedEnvVars": SA,
    "disableAllHooks": B,
    "allowedChannelPlugins": Spec("obj[]"),
    "allowedHttpHookUrls": SA,
    "allowManagedHooksOnly": B,
    "allowManagedPermissionRulesOnly": B,
    "allowManagedMcpServersOnly": B,
    "extraKnownMarketplaces": Spec("obj", catch=True),
    "strictKnownMarketplaces": Spec("any"),
    "blockedMarketplaces": Spec("any"),
    "skippedMarketplaces": ANY,
    "skippedPlugins": ANY,
    "forceLoginMethod": enum("claudeai", "console", "gateway", catch=True),
    "forceLoginOrgUUID": Spec("str|str[]"),
    "forceLoginGatewayUrl": Spec("str", catch=True),
    "outputStyle": S,
    "skipWebFetchPreflight": B,
    "spinnerVerbs": Spec("obj", fields={"mode": enum("append", "replace"), "verbs": SA}, required=("verbs",)),
    "spinnerTipsEnabled": B,
    "spinnerTipsOverride": Spec("obj", catch=True),
    "terminalProgressBarEnabled": B,
    "showTurnDuration": B,
    "skillOverrides": Spec("map", item=enum("on", "name-only", "user-invocable-only", "off")),
    "prefersReducedMotion": B,
    "prUrlTemplate": S,
    "alwaysThinkingEnabled": B,
    "companyAnnouncements": SA,
    "teammateMode": enum("auto", "in-process", "tmux", "iterm2", catch=True),
    "teammateDefaultModel": ANY,
    "parentSettingsBehavior": enum("first-wins", "merge"),
    "pluginTrustMessage": S,
    "pluginConfigs": OBJ,
    "pluginSuggestionMarketplaces": SA,
    "agent": S,
    "autoMode": OBJ,
    "channelsEnabled": B,
    "defaultShell": enum("bash", "powershell"),
    "disableDeepLinkRegistration": enum("disable"),
    "disableSkillShellExecution": B,
    "forceRemoteSettingsRefresh": B,
    "minimumVersion": S,
    "requiredMinimumVersion": S,
    "requiredMaximumVersion": S,
    "showClearContextOnPlanAccept": B,
    "showThinkingSummaries": B,
    "skipDangerousModePermissionPrompt": B,
    "skipAutoPermissionPrompt": B,
    "strictPluginOnlyCustomization": Spec("any"),
    "tui": enum("fullscreen", "default"),
    "viewMode": enum("default", "verbose", "focus", catch=True),
    "defaultView": ANY,
    "useAutoModeDuringPlan": B,
    "voiceEnabled": B,
    "voice": Spec("obj", fields={"mode": enum("hold", "tap")}),
    "wslInheritsWindowsSettings": B,
    "advisorModel": S,
    "autoCompactEnabled": B,
    "autoCompactWindow": ANY,
    "disableAgentView": B,
    "editorMode": enum("normal", "vim", catch=True),
    "enforceAvailableModels": B,
    "fallbackModel": SA,
    "fileCheckpointingEnabled": B,
    "managedMcpServers": Spec("obj", catch=True),
    "skillListingMaxDescChars": Spec("int", minimum=0, exclusive=True),
    "skillListingBudgetFraction": Spec("num", minimum=0, exclusive=True),
    "preferredNotifChannel": enum(
        "auto",
        "terminal_bell",
        "iterm2",
        "iterm2_with_bell",
        "kitty",
        "ghostty",
        "notifications_disabled",
        catch=True,
    ),
    "respondToBashCommands": B,
    "sshConfigs": Spec("obj[]"),
    "sshHostAllowlist": Spec("str[]", catch=True),
    "theme": Spec("str", catch=True),
    "wheelScrollAccelerationEnabled": B,
    "disableBundledSkills": B,
    "awaySummaryEnabled": B,
    "autoScrollEnabled": B,
    "allowAllClaudeAiMcps": B,
    "agentPushNotifEnabled": B,
    "axScreenReader": B,
    "claudeMd": S,
    "disableArtifact": B,
    "disableAutoMode": enum("disable"),
    "disableClaudeAiConnectors": B,
    "disableRemoteControl": B,
    "disableWorkflows": B,
    "footerLinksRegexes": Spec("obj[]", catch=True),
    "inputNeededNotifEnabled": B,
    "remoteControlAtStartup": B,
    "syntaxHighlightingDisabled": B,
    "verbose": B,
    "workflowKeywordTriggerEnabled": B,
    "askUserQuestionTimeout": enum("60s", "5m", "10m", "never", catch=True),
    "workflowSizeGuideline": enum("unrestricted", "small", "medium", "large"),
    "enableArtifact": B,
    "permissionExplainerEnabled": ANY,
    "diffTool": enum("auto", "terminal", catch=True),
    "externalEditorContext": ANY,
    "autoConnectIde": ANY,
    "autoInstallIdeExtension": ANY,
    "emojiCompletionEnabled": B,
    "vimInsertModeRemaps": Spec("obj", catch=True),
    "disableSideloadFlags": B,
    "browserExternalPageTools": enum("disabled", catch=True),
    "disableBrowserExternalNavigation": ANY,
    "disableMobileSimulatorTools": ANY,
    "requireCoworkFullVmSandbox": ANY,
    # Keys in the Claude Code bundle but not (yet) in the SchemaStore schema.
    "autoDreamEnabled": ANY,
    "breakReminder": ANY,
    "quietHours": ANY,
    "remote": ANY,
    "ultracode": ANY,
    "totalTokensReminder": ANY,
    "totalTokensReminderBudget": ANY,
    "todoFeatureEnabled": ANY,
    "terminalTitleFromRename": ANY,
}

# Honoured only in managed settings; elsewhere Claude Code ignores them (notes §1.2).
MANAGED_ONLY = frozenset(
    {
        "allowManagedPermissionRulesOnly",
        "allowManagedHooksOnly",
        "allowManagedMcpServersOnly",
        "allowAllClaudeAiMcps",
        "strictKnownMarketplaces",
        "blockedMarketplaces",
        "strictPluginOnlyCustomization",
        "disableSideloadFlags",
        "pluginTrustMessage",
        "pluginSuggestionMarketplaces",
        "requiredMinimumVersion",
        "requiredMaximumVersion",
        "forceLoginOrgUUID",
        "enforceAvailableModels",
        "claudeMd",
        "companyAnnouncements",
        "channelsEnabled",
        "policyHelper",
        "managedMcpServers",
        "parentSettingsBehavior",
    }
)

DEPRECATED: dict[str, str] = {
    "includeCoAuthoredBy": "deprecated since Claude Code 2.0.62; use `attribution: {commit, pr}` instead",
}

# Keys that belong in settings but are sometimes written under `permissions`, or vice versa.
MISPLACED_IN_PERMISSIONS = {
    "allowManagedPermissionRulesOnly": "a top-level key, not under `permissions`",
}


def json_type(value: Any) -> str:
    """JavaScript's view of a JSON value's type, as Claude Code's messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_problem(spec: Spec, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec``, or None. Nested object fields are checked elsewhere."""
    kind = spec.kind
    if kind in ("any", "hooks", "env", "rules", "mcpfilter"):
        return None
    actual = json_type(value)
    if kind == "bool":
        return None if actual == "boolean" else f"expected boolean, received {actual}"
    if kind == "str":
        return None if actual == "string" else f"expected string, received {actual}"
    if kind == "str|null":
        return None if actual in ("string", "null") else f"expected string or null, received {actual}"
    if kind in ("num", "int"):
        if actual != "number":
            return f"expected number, received {actual}"
        if kind == "int" and not float(value).is_integer():
            return f"expected an integer, received {value}"
        if spec.minimum is not None:
            too_small = value <= spec.minimum if spec.exclusive else value < spec.minimum
            if too_small:
                bound = ">" if spec.exclusive else ">="
                return f"must be {bound} {spec.minimum:g}, received {value}"
        return None
    if kind == "enum":
        if actual != "string" or value not in spec.enum:
            shown = value if actual == "string" else actual
            return f"invalid value {shown!r}; expected one of: {', '.join(spec.enum)}"
        return None
    if kind == "str[]":
        if actual != "array":
            return f"expected array, received {actual}"
        for i, item in enumerate(value):
            if not isinstance(item, str):
                return f"item {i}: expected string, received {json_type(item)}"
        return None
    if kind == "obj[]":
        if actual != "array":
            return f"expected array, received {actual}"
        return None
    if kind == "str|str[]":
        if actual == "string" or (actual == "array" and all(isinstance(i, str) for i in value)):
            return None
        return f"expected string or array of strings, received {actual}"
    if kind == "obj":
        return None if actual == "object" else f"expected object, received {actual}"
    if kind == "map":
        return None if actual == "object" else f"expected object, received {actual}"
    if kind == "plugins":
        if actual != "object":
            return f"expected object, received {actual}"
        for name, item in value.items():
            if not (
                isinstance(item, bool) or (isinstance(item, list) and all(isinstance(i, str) for i in item))
            ):
                return f"{name!r}: expected boolean or array of strings, received {json_type(item)}"
        return None
    return None
