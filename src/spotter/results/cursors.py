"""Signed, opaque paging cursors: the one cursor format every paged listing uses.

A cursor is `base64url(JSON payload) "." base64url(HMAC-SHA256 tag)`, signed with a key from
configuration (`Settings.cursor_key`, CURSOR_KEY; on AWS a generated Secrets Manager secret, see
infra/template.yaml). A cursor whose tag does not match (tampered, forged, or made under another key)
is a QueryError, a 400, before anything is read: a forged DynamoDB start key never reaches DynamoDB.
Without a configured key a process signs with a random key of its own, so its cursors are good for as
long as it runs (the local stack's API, one `spotter` command).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from spotter.results.query import QueryError

NOT_OURS = "cursor is not one this API returned"
_TAG_BYTES = 16
_MAX_CURSOR_CHARS = 4096  # a start key of a few short strings: far under this

_PROCESS_KEY = secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


class CursorSigner:
    """Seals a JSON payload into a cursor and opens one back, checking its tag."""

    def __init__(self, key: bytes | str | None = None, purpose: str = "predictions") -> None:
        raw = key.encode() if isinstance(key, str) else key
        # one key, several listings: each listing's cursors are signed under its own derived key, so a
        # cursor of one listing is never accepted by another
        self._key = hmac.new(raw or _PROCESS_KEY, purpose.encode(), hashlib.sha256).digest()

    def _tag(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()[:_TAG_BYTES]

    def seal(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64(self._tag(body))}"

    def open(self, cursor: str) -> dict[str, Any]:
        """The payload of a cursor this signer sealed; QueryError for anything else."""
        try:
            if len(cursor) > _MAX_CURSOR_CHARS:
                raise ValueError("too long")
            body, _, tag = cursor.partition(".")
            if not hmac.compare_digest(_unb64(tag), self._tag(body)):
                raise ValueError("bad tag")
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeError, binascii.Error):
            raise QueryError(f"{NOT_OURS} (altered, or from another deployment)") from None
        if not isinstance(payload, dict):
            raise QueryError(NOT_OURS)
        return payload
