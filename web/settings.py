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
    redis_url: str | None = None  # updates to fan-out workers (web/fanout.py) over Redis
    secret: str = field(default_factory=lambda: secrets.token_hex(32))  # CSRF signing
    # The least time between two refreshes: a lone read is published at once; under load
    # updates come at most this often (each costs every phone a message).
    publish_interval_s: float = 0.025
    # Where phones get live updates: fan-out workers on this port of the same host
    # (`serve --workers`); None: this process, or the same origin behind a proxy.
    live_port: int | None = None
    # Cookies only over HTTPS: set where the service runs behind TLS (a reverse proxy).
    secure_cookies: bool = False
    # A director session ends after this long without a request (renewed while used).
    session_idle_s: int = 2 * 3600
    # Wrong passwords allowed per window before logins are refused with 429, as
    # `limits` strings: each longer window makes the wait longer (docs/security.md).
    login_limits_client: str = "5/minute;20/hour;100/day"
    login_limits_account: str = "20/minute;100/hour;500/day"


SCRYPT_N, SCRYPT_R = 2**14, 8


def hash_password(password: str, salt: bytes | None = None, parallel: int = 1) -> str:
    """scrypt from the standard library: salted, memory-hard, no extra dependency.
    `parallel` (scrypt's p) raises the time a guess costs without raising memory."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=parallel)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${parallel}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Blocks for the whole hash (~0.1 s): call it from a worker thread."""
    parts = stored.split("$")
    try:
        if len(parts) == 3:  # scrypt$salt$digest, the costs before they were written down
            n, r, p, salt, digest = SCRYPT_N, SCRYPT_R, 1, parts[1], parts[2]
        else:
            _scheme, n_text, r_text, p_text, salt, digest = parts
            n, r, p = int(n_text), int(r_text), int(p_text)
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=n, r=r, p=p, maxmem=256 * 1024 * 1024
        )
    except ValueError:
        return False
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
