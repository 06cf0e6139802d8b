"""A stand-in for macOS ``/usr/bin/security`` that follows its documented behaviour.

``find-generic-password [-a account] [-s service] [-w]`` looks an item up by service (and
account when given). Found: exit 0, and with ``-w`` the password on stdout (as hex when it holds
a byte that is not printable ASCII, as the real tool does), followed by a newline. Not found:
exit 44 and ``security: SecKeychainSearchCopyNext: The specified item could not be found in the
keychain.`` on stderr. A locked keychain that cannot prompt: exit 36. Access denied: exit 51.

The items and the keychain's state live in ``keychain.json`` beside the program, and every call's
argument list is appended to ``calls.jsonl`` there, so tests can assert exactly what was run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PROGRAM = """#!{python}
import json, sys, time
from pathlib import Path

here = Path(__file__).resolve().parent
state = json.loads((here / "keychain.json").read_text())
argv = sys.argv[1:]
with (here / "calls.jsonl").open("a") as log:
    log.write(json.dumps(argv) + "\\n")
if not argv or argv[0] != "find-generic-password":
    sys.stderr.write("security: unknown command\\n")
    sys.exit(2)
account = service = None
show = False
i = 1
while i < len(argv):
    arg = argv[i]
    if arg in ("-a", "-s", "-l", "-c", "-C", "-D", "-G", "-j", "-r"):
        value = argv[i + 1] if i + 1 < len(argv) else None
        if arg == "-a":
            account = value
        elif arg == "-s":
            service = value
        i += 2
        continue
    if arg == "-w":
        show = True
    i += 1
mode = state.get("mode", "unlocked")
if mode == "hang":
    time.sleep(60)
if mode == "locked":
    sys.stderr.write("security: SecKeychainSearchCopyNext: User interaction is not allowed.\\n")
    sys.exit(36)
if mode == "denied":
    sys.stderr.write("security: SecKeychainItemCopyAttributesAndData: The user name or passphrase "
                     "you entered is not correct.\\n")
    sys.exit(51)
for item in state.get("items", []):
    if item["service"] == service and (account is None or item["account"] == account):
        if show:
            data = item["password"].encode("utf-8")
            if all(32 <= b < 127 for b in data):
                sys.stdout.write(data.decode("ascii") + "\\n")
            else:
                sys.stdout.write(data.hex() + "\\n")
        else:
            sys.stdout.write('keychain: "login.keychain-db"\\nclass: "genp"\\n')
        sys.exit(0)
sys.stderr.write("security: SecKeychainSearchCopyNext: The specified item could not be found in the "
                 "keychain.\\n")
sys.exit(44)
"""


class FakeSecurity:
    """A ``security`` program in ``bin_dir``; put ``bin_dir`` first on PATH to use it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        bin_dir.mkdir(parents=True, exist_ok=True)
        program = bin_dir / "security"
        program.write_text(PROGRAM.replace("{python}", sys.executable))
        program.chmod(0o755)
        self.items: list[dict[str, str]] = []
        self.mode = "unlocked"
        self.save()

    def save(self) -> None:
        state = {"mode": self.mode, "items": self.items}
        (self.bin_dir / "keychain.json").write_text(json.dumps(state))

    def add(self, service: str, account: str, password: str | dict[str, Any]) -> None:
        text = password if isinstance(password, str) else json.dumps(password)
        self.items.append({"service": service, "account": account, "password": text})
        self.save()

    def set_mode(self, mode: str) -> None:
        """unlocked | locked (exit 36) | denied (exit 51) | hang (never answers)."""
        self.mode = mode
        self.save()

    def calls(self) -> list[list[str]]:
        log = self.bin_dir / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line]
