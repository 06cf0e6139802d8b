"""The OpenSSL-free SHA-256 gives hashlib's digests (fingerprints must not change)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from claude_health.tools.digest import sha256_hex
from claude_health.tools.redact import fingerprint


def test_sha256_hex_is_hashlibs() -> None:
    for data in (b"", b"sk-ant-api03-", os.urandom(1), os.urandom(4096)):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert fingerprint(" sk-ant-x \n") == hashlib.sha256(b"sk-ant-x").hexdigest()[:12]


def test_fingerprints_load_no_openssl() -> None:
    code = (
        "import sys; from claude_health.tools.redact import fingerprint; fingerprint('k'); "
        "print('hashlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
