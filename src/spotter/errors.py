"""Errors the domain raises; adapters translate platform errors into these."""


class RejectedImage(Exception):
    """A permanent problem with the uploaded file itself: retrying cannot help.

    The pipeline records it as a `rejected` prediction with `reason`, and moves on.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ObjectMissing(Exception):
    """The object named by an event no longer exists (deleted before we read it)."""


class MalformedEvent(ValueError):
    """A message that is not an S3 notification we understand (a poison message)."""


class ModelError(Exception):
    """A model file or card that cannot be served."""
