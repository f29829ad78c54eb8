"""Keep the Parquet copy of the predictions (what Athena queries) current from the table's stream.

Each stream batch is folded per upload day and merged into that day's file. Merging is idempotent,
so a failed batch is simply retried (the event source mapping bisects and, at last, reports it to
the copy's dead-letter queue). Classification never waits on this: the stream is read after the fact.
"""

import json
import logging
import os

from spotter.adapters.aws import client
from spotter.adapters.dynamodb_stream import changes_from_stream
from spotter.adapters.s3_day_files import S3DayFiles
from spotter.parquet_copy import changes_by_day

logger = logging.getLogger()
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))


def lambda_handler(event: dict, context) -> dict:
    files = S3DayFiles(client("s3"), os.environ["COPY_BUCKET"], os.environ.get("COPY_PREFIX", "predictions/"))
    days = changes_by_day(changes_from_stream(event))
    written = {day: files.apply(day, changes) for day, changes in sorted(days.items())}
    logger.info(json.dumps({"message": "copy updated", "records": len(event.get("Records", [])), "days": written}))
    return {"days": written}
