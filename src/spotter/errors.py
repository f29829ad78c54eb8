"""Errors the domain raises; adapters translate platform errors into these."""


class RejectedImage(Exception):
    """A permanent problem with the uploaded file itself: retrying cannot help.

    The pipeline records it as a `rejected` prediction with `reason`, and moves on.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ObjectArchived(RejectedImage):
    """The object is in an archive storage class (GLACIER, DEEP_ARCHIVE, an archive tier): S3 refuses
    to read it until it is restored. Permanent for this event: a record says so."""

    def __init__(self, storage_class: str | None):
        self.storage_class = storage_class or "an archive"
        super().__init__(
            f"the object is archived (S3 storage class {self.storage_class}) and cannot be read until it is "
            "restored: restore it, then run `spotter reprocess`"
        )


class OutOfTime(Exception):
    """Too little of the invocation is left to decode within the budget: retried, not rejected."""


class DecoderLost(Exception):
    """The decode worker was killed from outside (SIGKILL: the host's out-of-memory killer, an
    operator), not by the budget and not by the file: retried, not rejected."""


class ObjectMissing(Exception):
    """The object named by an event no longer exists (deleted before we read it)."""


class MalformedEvent(ValueError):
    """A message that is not an S3 notification we understand (a poison message)."""


class ModelError(Exception):
    """A model file or card that cannot be served."""


class BatchGone(Exception):
    """A request names a batch that has been deleted (HTTP 410): nothing more may be written into it."""


class BatchDeleted(BatchGone):
    """The record's batch was deleted (its tombstone is stored): a late image is not recorded, and the
    object it came from is discarded. Raised by the conditional record write; a 410 where it reaches
    the API (a refused file's record racing the batch's delete)."""

    def __init__(self, batch: str) -> None:
        super().__init__(f"batch {batch} has been deleted")
        self.batch = batch
