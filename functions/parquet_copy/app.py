"""Keep the Parquet copy of the predictions (what Athena queries) current from the table's stream.

Each stream batch is folded per upload day and merged into that day's file. Merging is idempotent,
so a failed batch is simply retried (the event source mapping bisects and, at last, reports it to
the copy's dead-letter queue). Classification never waits on this: the stream is read after the fact.
"""

from aws_lambda_powertools import Logger

from spotter.adapters.dynamodb_stream import changes_from_stream
from spotter.adapters.wiring import day_files
from spotter.config import Settings, running_in_lambda
from spotter.ports import DayFiles
from spotter.results.parquet_copy import changes_by_day

logger = Logger(service="spotter-copy")
# Built once per cold start by `init`: at Lambda's INIT (below), or by whoever loads this module.
_files: DayFiles | None = None


def init(settings: Settings | None = None, files: DayFiles | None = None) -> DayFiles:
    """The day files from `settings` (default: the environment's), or `files` as built."""
    global _files
    settings = settings if settings is not None else Settings.from_env()
    if settings.log_level:
        logger.setLevel(settings.log_level)
    _files = files if files is not None else day_files(settings)
    return _files


def services() -> DayFiles:
    return _files if _files is not None else init()


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    files = services()
    days = changes_by_day(changes_from_stream(event))
    written = {day: files.apply(day, changes) for day, changes in sorted(days.items())}
    logger.info("copy updated", records=len(event.get("Records", [])), days=written)
    return {"days": written}


if running_in_lambda():  # Lambda's INIT
    init()
