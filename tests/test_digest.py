"""The OpenSSL-free SHA-256 gives hashlib's digests (fingerprints must not change)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

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


def test_a_file_named_like_a_newer_pythons_module_is_never_imported(tmp_path: Path) -> None:
    """On Python 3.11 `_sha2` is no module of the interpreter's: asked for by name, it would be
    looked up along sys.path, and any `_sha2.py` there would run. (The working directory itself is
    kept off sys.path by `-P` in every command claude-health registers.)"""
    marker = tmp_path / "ran"
    (tmp_path / "_sha2.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    code = (
        f"import sys; sys.path.append({str(tmp_path)!r}); "
        "from claude_health.tools.digest import sha256_hex; print(sha256_hex(b'x'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == hashlib.sha256(b"x").hexdigest()
    assert not marker.exists()
