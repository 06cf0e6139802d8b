"""SHA-256 of a few bytes, without loading OpenSSL.

``import hashlib`` loads the OpenSSL library first (about 2.5 ms): a key scan paid it twice, in
the CLI's process for fingerprints and in its tree scan's child for the fixture check of every
candidate key. CPython's own SHA-256 module gives the same digests and loads in 0.2 ms (as
guard/fingerprint.py does for blake2b); hashlib where it is missing (another implementation).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _sha256() -> Callable[[bytes], Any]:
    import sys

    for name in ("_sha2", "_sha256"):  # CPython 3.12+, 3.11
        # Only the interpreter's own: a name that is not a standard module on this Python would
        # be looked up on sys.path, where a project's file of that name could stand in for it.
        if name not in sys.stdlib_module_names:
            continue
        try:
            found: Callable[[bytes], Any] = getattr(__import__(name), "sha256")  # noqa: B009
        except (ImportError, AttributeError):
            continue
        return found
    from hashlib import sha256

    return sha256


_SHA256 = _sha256()


def sha256_hex(data: bytes) -> str:
    """``hashlib.sha256(data).hexdigest()``."""
    return str(_SHA256(data).hexdigest())
