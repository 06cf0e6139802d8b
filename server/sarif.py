"""Findings as SARIF 2.1.0, the format GitHub code scanning and most CI dashboards ingest.

Generic: any command's findings convert, with rule metadata from the catalogue. Locations are
relative to ``base_dir`` under the ``%SRCROOT%`` base id, as GitHub expects. GitHub rejects a
result without a location, so findings with no file inside ``base_dir`` (the environment,
shell start-up files) are left out when ``require_location`` is set, and counted in the run's
``properties.omittedResults``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from claude_health.tools import __version__
from claude_health.tools.findings import Finding, Rule, Severity, sort_findings

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://github.com/claude-health/claude-health"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub's security-severity (0.0-10.0) drives its critical/high/medium/low labels.
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.WARNING: "5.0", Severity.INFO: "2.0"}


def _rule_descriptor(code: str, rule: Rule | None, sample: Finding) -> dict[str, Any]:
    title = rule.title if rule else sample.title
    severity = rule.severity if rule else sample.severity
    descriptor: dict[str, Any] = {
        "id": code,
        "name": "".join(w.capitalize() for w in title.replace("-", " ").split() if w.isalnum()) or code,
        "shortDescription": {"text": title},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"tags": ["security"] if (rule and rule.check == "keys") else [], "precision": "high"},
    }
    if rule:
        descriptor["fullDescription"] = {"text": f"{rule.what} {rule.why}"}
        descriptor["help"] = {
            "text": f"{rule.what}\n\nWhy: {rule.why}\n\nFix: {rule.fix}",
            "markdown": f"{rule.what}\n\n**Why:** {rule.why}\n\n**Fix:** {rule.fix}",
        }
        descriptor["helpUri"] = f"{INFORMATION_URI}#{code.lower()}"
        if rule.check == "keys":
            descriptor["properties"]["security-severity"] = SECURITY_SEVERITY[severity]
    return descriptor


def _relative_uri(path: str, base: Path | None) -> str | None:
    if base is None:
        return None
    try:
        rel = Path(path).relative_to(base)
    except ValueError:
        return None
    return quote(_uri_bytes(rel.as_posix()))


def _uri_bytes(text: str) -> bytes:
    """A file name's bytes for percent-encoding: not-UTF-8 names arrive as lone surrogates."""
    try:
        return os.fsencode(text)
    except UnicodeEncodeError:  # a surrogate surrogateescape cannot map (e.g. from JSON)
        return text.encode("utf-8", "backslashreplace")


def _fingerprint(f: Finding, uri: str | None) -> str:
    """Stable across runs and line moves: a key's own fingerprint where there is one."""
    basis = f"{f.code}|{uri or ''}|{f.fingerprint or f.message}"
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def to_sarif(
    findings: Iterable[Finding],
    *,
    base_dir: Path | None,
    rules: Mapping[str, Rule] | None = None,
    require_location: bool = True,
    tool_name: str = "claude-health",
) -> dict[str, Any]:
    """One SARIF log with one run holding every finding that can be placed."""
    if rules is None:
        from claude_health.tools.catalogue import all_rules

        rules = all_rules()
    base = base_dir.resolve() if base_dir is not None else None
    descriptors: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    omitted = 0
    for f in sort_findings(findings):
        uri = _relative_uri(f.path, base) if f.path else None
        if uri is None and require_location:
            omitted += 1
            continue
        if f.code not in index:
            index[f.code] = len(descriptors)
            descriptors[f.code] = _rule_descriptor(f.code, rules.get(f.code), f)
        text = f.message if not f.hint else f"{f.message} Fix: {f.hint}"
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS[f.severity],
            "message": {"text": text},
            "partialFingerprints": {"claudeHealthFinding/v1": _fingerprint(f, uri)},
        }
        if uri is not None:
            region: dict[str, Any] = {}
            if f.line:
                region["startLine"] = f.line
                if f.column:
                    region["startColumn"] = f.column
            physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
            if region:
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        props = {k: v for k, v in (("kind", f.kind), ("redacted", f.redacted), ("commit", f.commit)) if v}
        if f.fingerprint:
            props["keyFingerprint"] = f.fingerprint
        if props:
            result["properties"] = props
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": tool_name,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": list(descriptors.values()),
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": True}],
        "properties": {"omittedResults": omitted},
    }
    if base is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": base.as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
