"""Keep the Parquet copy of the predictions (what Athena queries) current from the table's stream.

Each stream batch is folded per upload day and merged into that day's file. Merging is idempotent,
so a failed batch is simply retried (the event source mapping bisects and, at last, reports it to
the copy's dead-letter queue). Classification never waits on this: the stream is read after the fact.
"""

import json
import logging

from spotter.adapters.aws import client
from spotter.adapters.dynamodb_stream import changes_from_stream
from spotter.adapters.s3_day_files import S3DayFiles
from spotter.config import Settings, running_in_lambda
from spotter.parquet_copy import changes_by_day

logger = logging.getLogger()
# Built once per cold start by `init`: at Lambda's INIT (below), or by whoever loads this module.
_files: S3DayFiles | None = None


def init(settings: Settings | None = None, files: S3DayFiles | None = None) -> S3DayFiles:
    """The day files from `settings` (default: the environment's), or `files` as built."""
    global _files
    settings = settings if settings is not None else Settings.from_env()
    logger.setLevel(settings.log_level or "INFO")
    if files is None:
        if not settings.copy_bucket:
            raise KeyError("COPY_BUCKET")  # the template always sets it
        files = S3DayFiles(client("s3", endpoint_url=settings.endpoint_url), settings.copy_bucket, settings.copy_prefix)
    _files = files
    return files


def services() -> S3DayFiles:
    return _files if _files is not None else init()


def lambda_handler(event: dict, context) -> dict:
    files = services()
    days = changes_by_day(changes_from_stream(event))
    written = {day: files.apply(day, changes) for day, changes in sorted(days.items())}
    logger.info(json.dumps({"message": "copy updated", "records": len(event.get("Records", [])), "days": written}))
    return {"days": written}


if running_in_lambda():  # Lambda's INIT
    init()
