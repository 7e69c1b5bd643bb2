"""The live service's settings: one object, built by the CLI, passed to `create_app`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    event_dir: Path
    database_url: str
    password_hash: str  # scrypt, see hash_password; the password itself is never kept
    tokens: dict[str, str] = field(default_factory=dict)  # reader id -> uplink token
    redis_url: str | None = None  # Channels over Redis, for several worker processes
    secret: str = field(default_factory=lambda: secrets.token_hex(32))  # CSRF signing
    publish_interval_s: float = 0.2


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt from the standard library: salted, memory-hard, no extra dependency."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


def load_tokens(path: Path, readers: list[str]) -> dict[str, str]:
    """Reader tokens from `tokens.toml` (`FIN = "..."`); missing readers get new ones,
    written back so agents can be given them."""
    tokens: dict[str, str] = {}
    if path.exists():
        tokens = {k: str(v) for k, v in tomllib.loads(path.read_text()).items()}
    missing = [r for r in readers if r not in tokens]
    if missing:
        tokens.update({r: secrets.token_urlsafe(18) for r in missing})
        path.write_text("".join(f'{k} = "{v}"\n' for k, v in sorted(tokens.items())))
        path.chmod(0o600)
    return tokens
