"""The service's settings (one frozen value, made by ``radpilot serve`` or a test)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    db: str  # the archive / service database: a path or a URL
    reports_dir: Path | None = None  # evaluation reports served under /api/evaluations
    token_ttl_seconds: float = 8 * 3600  # a working shift
    session_ttl_seconds: float = 8 * 3600
    max_upload_bytes: int = 64 * MIB  # a whole multipart request to analyze / compare
    max_body_bytes: int = 8 * MIB  # every other request body
    max_upload_files: int = 8
    secure_cookies: bool = False  # True behind HTTPS (cookies then carry Secure)
    image_model: str | None = None  # `radpilot models list`; None: the default model
    semantic_search: bool = True
    secret: bytes | None = None  # None: the database's own, made on first start
