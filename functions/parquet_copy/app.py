"""Keep the Parquet copy of the predictions (what Athena queries) current from the table's stream.

Each stream batch is folded per upload day and merged into that day's file. Merging is idempotent,
so a failed batch is simply retried (the event source mapping bisects and, at last, reports it to
the copy's dead-letter queue). Classification never waits on this: the stream is read after the fact.

Two datasets, each one file per day: the records under COPY_PREFIX (`predictions/`), and an object
detector's boxes, one row each, beside it (`detections/`: spotter.results.parquet_copy.detections_prefix),
merged from the same changes. Each file is merged and written on its own, conditionally on its ETag.
"""

from dataclasses import replace

from aws_lambda_powertools import Logger

from spotter.adapters.dynamodb_stream import changes_from_stream
from spotter.adapters.wiring import day_files
from spotter.config import Settings, running_in_lambda
from spotter.ports import DayFiles
from spotter.results.parquet_copy import DETECTIONS, changes_by_day, detections_prefix

logger = Logger(service="spotter-copy")
# Built once per cold start by `init`: at Lambda's INIT (below), or by whoever loads this module.
_files: DayFiles | None = None
_detections: DayFiles | None = None


def init(
    settings: Settings | None = None, files: DayFiles | None = None, detections: DayFiles | None = None
) -> DayFiles:
    """The day files from `settings` (default: the environment's), or `files` as built; `detections`
    the detections dataset's (default: beside `files`' prefix in the same bucket)."""
    global _files, _detections
    settings = settings if settings is not None else Settings.from_env()
    if settings.log_level:
        logger.setLevel(settings.log_level)
    _files = files if files is not None else day_files(settings)
    if detections is None:
        detections = day_files(replace(settings, copy_prefix=detections_prefix(settings.copy_prefix)))
    _detections = detections
    return _files


def services() -> tuple[DayFiles, DayFiles]:
    if _files is None or _detections is None:
        init()
    if _files is None or _detections is None:  # never: init sets both
        raise RuntimeError("the copy function's day files were not built")
    return _files, _detections


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    files, detections = services()
    days = changes_by_day(changes_from_stream(event))
    written = {day: files.apply(day, changes) for day, changes in sorted(days.items())}
    boxes = {day: detections.apply(day, changes.of(DETECTIONS)) for day, changes in sorted(days.items())}
    logger.info("copy updated", records=len(event.get("Records", [])), days=written, detections=boxes)
    return {"days": written, "detections": boxes}


if running_in_lambda():  # Lambda's INIT
    init()
