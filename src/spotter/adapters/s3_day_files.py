"""The Parquet copy on S3: one file per upload day, read, merged and written back with a
conditional PUT (If-Match its ETag, or If-None-Match for a new day), so two writers racing on one
day never lose each other's rows: the loser reads again and retries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from spotter.results.parquet_copy import (
    DAY_FILE,
    DayChanges,
    day_folder,
    from_parquet_bytes,
    merge_day,
    to_parquet_bytes,
)

if TYPE_CHECKING:  # botocore and pyarrow ship no types: these name what is passed, for the reader
    import pyarrow as pa
    from botocore.client import BaseClient

_RACE_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class CopyConflict(RuntimeError):
    pass


class S3DayFiles:
    def __init__(self, s3: BaseClient, bucket: str, prefix: str = "predictions/", attempts: int = 5) -> None:
        self.s3, self.bucket, self.attempts = s3, bucket, attempts
        self.prefix = prefix if prefix.endswith("/") or not prefix else prefix + "/"

    def key_for(self, day: str) -> str:
        return f"{self.prefix}{day_folder(day)}{DAY_FILE}"

    def _read(self, key: str) -> tuple[pa.Table | None, str | None]:
        """The day's table and its ETag; (None, None) when the day has no file yet."""
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise
        return from_parquet_bytes(found["Body"].read()), found["ETag"]

    def apply(self, day: str, changes: DayChanges) -> int:
        """Write `changes` into the day's file; returns the rows it now holds."""
        key = self.key_for(day)
        for _ in range(self.attempts):
            existing, etag = self._read(key)
            merged = merge_day(existing, changes)
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                if merged.num_rows == 0 and etag:
                    self.s3.delete_object(Bucket=self.bucket, Key=key, **condition)
                elif merged.num_rows:
                    self.s3.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=to_parquet_bytes(merged),
                        ContentType="application/vnd.apache.parquet",
                        **condition,
                    )
                rows: int = merged.num_rows
                return rows
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _RACE_CODES:
                    raise
        raise CopyConflict(f"{key}: still changing after {self.attempts} attempts")
