"""API keys: from configuration only, compared in constant time.

The keys file (a mounted secret in Kubernetes) is re-read when its modification time changes, so a
rotated secret takes effect without a restart.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stream.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API key from LIFEUP_API_KEYS(_FILE).")


@dataclass
class KeyRing:
    """The accepted keys, refreshed from the keys file when it changes."""

    settings: Settings
    _keys: list[bytes] = field(default_factory=list)
    _mtime: float | None = None

    def __post_init__(self) -> None:
        self._load()

    def _file_mtime(self) -> float | None:
        path: Path | None = self.settings.api_keys_file
        try:
            return path.stat().st_mtime if path is not None else None
        except OSError:
            return None

    def _load(self) -> None:
        self._mtime = self._file_mtime()
        try:
            keys = self.settings.api_key_list()
        except OSError:
            keys = []
        self._keys = [k.encode() for k in keys]

    def keys(self) -> list[bytes]:
        if self.settings.api_keys_file is not None and self._file_mtime() != self._mtime:
            self._load()
        return self._keys

    def accepts(self, candidate: str) -> bool:
        """Compares against every key, so the time taken says nothing about which one matched."""
        given = candidate.encode()
        found = False
        for key in self.keys():
            found |= hmac.compare_digest(given, key)
        return found


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def require_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Raises 401 unless the request carries ``Authorization: Bearer <a configured key>``."""
    ring: KeyRing = request.app.state.keys
    if not ring.keys():
        raise _unauthorized(
            "no API keys are configured: set LIFEUP_API_KEYS or LIFEUP_API_KEYS_FILE on the server"
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing API key: send the header 'Authorization: Bearer <key>'")
    if not ring.accepts(credentials.credentials):
        raise _unauthorized("invalid API key")


async def api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """The dependency every protected route declares (it also documents the scheme in OpenAPI)."""
    require_key(request, credentials)
