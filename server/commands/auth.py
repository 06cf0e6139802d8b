"""``claude-health auth``: which credential Claude Code will use, and who pays."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from claude_health.server.commands.common import style, workspace
from claude_health.server.output import dump_json, findings_payload, print_findings
from claude_health.tools.findings import Summary


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "auth",
        parents=[common],
        help="which credential Claude Code will use and who pays",
        description="Report the credential Claude Code will use (in the vocabulary of "
        "`claude auth status --json`), who pays for it, and billing traps such as an API key "
        "overriding a Max/Pro plan. Keys are shown redacted.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.tools.auth.check import auth_route

    ws = workspace(args)
    result = auth_route(ws)
    status = result.status
    if args.json:
        dump_json(findings_payload(result.findings, auth=status.to_json()))
        return Summary.of(result.findings).exit_code
    st = style(args)
    out = sys.stdout
    method = {
        "claude.ai": "claude.ai login (subscription)",
        "api_key": f"API key ({status.apiKeySource})",
        "oauth_token": f"bearer token ({status.tokenSource})",
        "api_key_helper": "apiKeyHelper command",
        "third_party": f"cloud provider ({status.apiProvider})",
        "none": "none",
    }[status.authMethod]
    out.write(f"{st.bold('Credential in use:')} {method}\n")
    out.write(f"{st.bold('Who pays:')}          {status.billing} - {status.billingExplanation}\n")
    if status.subscriptionType:
        out.write(f"{st.bold('Plan:')}              {status.subscriptionType}\n")
    if status.baseUrl:
        out.write(f"{st.bold('Base URL:')}          {status.baseUrl}\n")
    if status.credentials:
        out.write(st.bold("Credentials seen:") + "\n")
        for cred in status.credentials:
            mark = "in use" if cred.in_use else "not in use"
            shown = f" {cred.redacted}" if cred.redacted else ""
            note = f" ({cred.note})" if cred.note else ""
            out.write(f"  - {cred.source}{shown}{note}: {mark}  {st.dim(cred.location)}\n")
    out.write("\n")
    return print_findings(result.findings, st).exit_code
