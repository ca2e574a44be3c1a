"""The paths of the LD API (relative to a server's base URL)."""

from __future__ import annotations

__all__ = [
    "API", "BATCH", "CANCEL", "DOWNLOAD", "EXPORT", "HEALTH", "IMPORT", "ITEMS",
    "SET_COMMUNITY", "STATUS", "TOKEN", "TOKEN_INFO", "UPDATES", "UPSERT", "VALIDATE",
    "download_path",
]

API = "/ls/api"
OAUTH2 = f"{API}/oauth2"
BATCH = f"{API}/batch"
ITEMS = f"{API}/items"

TOKEN = f"{OAUTH2}/token"
VALIDATE = f"{OAUTH2}/validate"
TOKEN_INFO = f"{OAUTH2}/tokenInfo"
SET_COMMUNITY = f"{OAUTH2}/setCommunity"

IMPORT = f"{BATCH}/import"
EXPORT = f"{BATCH}/export"
STATUS = f"{BATCH}/status"
CANCEL = f"{BATCH}/cancel"
#: The download route's pattern; :func:`download_path` fills it in.
DOWNLOAD = f"{BATCH}/download/{{link_id}}/{{name}}"

UPSERT = f"{ITEMS}/upsert"
UPDATES = f"{ITEMS}/updates"

#: The local server's liveness check (not an LD route; needs no token).
HEALTH = "/health"


def download_path(link_id: str, name: str) -> str:
    """The path of a result or rejection file's download link."""
    return DOWNLOAD.format(link_id=link_id, name=name)
