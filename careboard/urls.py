"""URL helpers shared by the blueprints."""
from __future__ import annotations

from urllib.parse import urlsplit


def local_url(target: str | None) -> str | None:
    """`target` if it is a path on this site (for ?next= and form `next` fields), else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
