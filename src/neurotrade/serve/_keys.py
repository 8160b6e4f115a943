"""API keys: created once and shown once, kept only as a salted sha256, compared in constant time.

A key reads ``nt_<id>_<secret>``: the id finds its row without scanning, the 32 random bytes of the secret are what
make it hard to guess. A high-entropy random secret needs no slow password hash (scrypt and the like defend short
human passwords against guessing); the salt keeps two databases' digests of one key unlike.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from neurotrade.errors import NeurotradeError
from neurotrade.serve._db import Database, transaction

KEY_RE = re.compile(r"nt_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}")
MAX_KEY_LENGTH = 128
# Compared against when the id is unknown, so a wrong id costs the same time as a wrong secret.
_DUMMY_SALT = b"\0" * 16


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret."""

    key_id: str
    name: str
    created_at: str
    revoked_at: str | None


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_key(db: Database, name: str = "default") -> str:
    """Make a new API key, store its salted digest, and return the key: it cannot be read back later.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> db = Database(Path(tempfile.mkdtemp()) / "serve.sqlite")
    >>> key = create_key(db, "laptop")
    >>> check_key(db, key), check_key(db, key[:-1] + "x"), check_key(db, "nonsense")
    (True, False, False)
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise NeurotradeError(
            f"key name {name!r} is not allowed: use 1-64 letters, digits, spaces or . _ @ -, starting with a "
            "letter or digit"
        )
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
    with transaction(db.conn) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, name, salt, digest, created_at) VALUES (?, ?, ?, ?, ?)",
            (key_id, name, salt, _digest(salt, secret), _now()),
        )
    return f"nt_{key_id}_{secret}"


def check_key(db: Database, presented: str | None) -> bool:
    """Whether ``presented`` is a key that exists and is not revoked; the digest comparison takes constant time.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> check_key(Database(Path(tempfile.mkdtemp()) / "serve.sqlite"), None)
    False
    """
    if not presented or len(presented) > MAX_KEY_LENGTH:
        return False
    match = KEY_RE.fullmatch(presented)
    key_id, secret = (match["id"], match["secret"]) if match else ("", presented)
    row = db.conn.execute(
        "SELECT salt, digest FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (key_id,)
    ).fetchone()
    salt, stored = (bytes(row["salt"]), bytes(row["digest"])) if row else (_DUMMY_SALT, b"\0" * 32)
    secret_ascii = secret.encode("ascii", "replace").decode("ascii")
    same = hmac.compare_digest(_digest(salt, secret_ascii), stored)
    return same and row is not None and match is not None


def list_keys(db: Database) -> list[KeyInfo]:
    """Every key ever made, oldest first, revoked ones included (with when).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> db = Database(Path(tempfile.mkdtemp()) / "serve.sqlite")
    >>> _ = create_key(db, "ci")
    >>> [k.name for k in list_keys(db)]
    ['ci']
    """
    rows = db.conn.execute("SELECT key_id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, key_id")
    return [KeyInfo(r["key_id"], r["name"], r["created_at"], r["revoked_at"]) for r in rows]


def revoke_key(db: Database, key_id: str) -> KeyInfo:
    """Revoke a key by its id (the 12 hex digits after ``nt_``); it is refused from the next request on.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> db = Database(Path(tempfile.mkdtemp()) / "serve.sqlite")
    >>> key = create_key(db)
    >>> revoke_key(db, key[3:15]).revoked_at is not None, check_key(db, key)
    (True, False)
    """
    with transaction(db.conn) as conn:
        changed = conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (_now(), key_id)
        ).rowcount
    if not changed:
        known = ", ".join(k.key_id for k in list_keys(db) if k.revoked_at is None) or "none"
        raise NeurotradeError(
            f"no active key with id {key_id!r}; active key ids: {known} (`neurotrade serve key list`)"
        )
    return next(k for k in list_keys(db) if k.key_id == key_id)
