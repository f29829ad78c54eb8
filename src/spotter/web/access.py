"""Who may see what when sign-in is on: researchers see their own batches; analysts see everything.

API Gateway's JWT authorizer has already verified the token; this decides what its claims allow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spotter.keys import UPLOADS_PREFIX
from spotter.records import PredictionRecord
from spotter.web.uploads import new_batch_id

ANALYSTS_GROUP = "analysts"


class AccessDenied(Exception):
    """The caller is signed in but may not see this (HTTP 403)."""


CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site_refusal(
    method: str, headers: Mapping[str, str], allowed_origins: tuple[str, ...]
) -> tuple[int, str] | None:
    """(status, message) for a request that changes data and may have come from another site's page;
    None when it may go on. A browser sends a form or a `text/plain` fetch to any origin without asking
    first (no CORS preflight), and with sign-in off nothing else tells such a request from the page's:
    a request carrying an `Origin` not allowed is refused, and a browser's body (one with an `Origin`)
    must be JSON, which a browser only sends cross-origin after a preflight that CORS answers. Scripts
    send no `Origin`, and are not asked for a Content-Type."""
    if method.upper() not in CHANGING_METHODS:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    origin = lower.get("origin")
    if origin is not None and "*" not in allowed_origins and origin not in allowed_origins:
        return 403, f"a request from {origin!r} may not change data: only the page's own origin may"
    if origin is not None and method.upper() != "DELETE":
        kind = (lower.get("content-type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            return 415, "send the body as JSON, with Content-Type: application/json"
    return None


@dataclass(frozen=True)
class Caller:
    subject: str | None  # None: sign-in is off, everyone is trusted
    groups: frozenset[str] = frozenset()

    @classmethod
    def anonymous(cls) -> Caller:
        return cls(subject=None)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Caller:
        raw = claims.get("cognito:groups") or ""
        if isinstance(raw, list):
            groups = raw
        else:  # HTTP API passes list claims as "[a b]"
            groups = str(raw).strip("[]").replace(",", " ").split()
        return cls(subject=str(claims["sub"]), groups=frozenset(groups))

    @property
    def sees_everything(self) -> bool:
        return self.subject is None or ANALYSTS_GROUP in self.groups

    @property
    def batch_prefix(self) -> str:
        """Batches a researcher creates start with a tag derived from their identity."""
        if self.subject is None:  # everyone is trusted: no batch belongs to anyone (callers check first)
            raise AccessDenied("an anonymous caller has no batch prefix")
        return "u" + hashlib.sha256(self.subject.encode()).hexdigest()[:10] + "-"

    @property
    def owner(self) -> str:
        """The `owner` attribute of this researcher's web records (spotter.keys.owner_of)."""
        return self.batch_prefix[:-1]

    def owns_batch(self, batch: str | None) -> bool:
        return self.sees_everything or bool(batch and batch.startswith(self.batch_prefix))

    def batch_for_upload(self, requested: str | None) -> str:
        batch = requested or new_batch_id()
        if self.subject is None or batch.startswith(self.batch_prefix):
            return batch
        return (self.batch_prefix + batch)[:64]

    def check_owner(self, batch: str) -> None:
        """Only the batch's owner may set its diagnoses (an analyst reads them, never writes them);
        with sign-in off, everyone is trusted."""
        if self.subject is None:
            return
        if not batch.startswith(self.batch_prefix):
            raise AccessDenied("only the batch's owner may set its diagnoses")

    def check_listing(self, batch: str | None) -> None:
        if self.sees_everything:
            return
        if not batch:
            raise AccessDenied("give the batch to list: researchers see their own batches only")
        if not self.owns_batch(batch):
            raise AccessDenied("this batch belongs to someone else")

    def may_read(self, record: PredictionRecord) -> bool:
        """A researcher reads records of their own web batches, never a drone's, whatever its folder."""
        return self.sees_everything or (record.key.startswith(UPLOADS_PREFIX) and self.owns_batch(record.batch))
