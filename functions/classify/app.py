"""Classify Lambda: an SQS batch of S3 ObjectCreated notifications -> one prediction record each.

Bad images become `rejected` records (not retried); platform errors and poison messages become
batch item failures, so SQS retries them and finally moves them to the dead-letter queue. The
objects of a batch are classified overlapped (reads ahead, writes behind); duplicates and
out-of-order deliveries are settled by the record's conditional, sequencer-ordered write.
"""

import random
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from spotter.adapters.wiring import classify_service, connect
from spotter.config import Settings, running_in_lambda
from spotter.ingest.pipeline import ClassifyService, classify_messages
from spotter.records import STATUS_OK

logger = Logger(service="spotter-classify")
metrics = Metrics(namespace="Spotter", service="spotter-classify")
# Built once per cold start by `init`: at Lambda's INIT (below), or by whoever loads this module
# (the local stack and tests, spotter.local.lambda_runtime), with settings of their own.
_settings: Settings | None = None
_service: ClassifyService | None = None


def init(settings: Settings | None = None, service: ClassifyService | None = None) -> ClassifyService:
    """Build the service from `settings` (default: the environment's), or take `service` as built.
    The model loads once per cold start; the decode worker starts beside it and is ready before the
    first event. SnapStart (the template's ClassifySnapStart): this INIT runs once per published
    version and its memory is snapshotted, so no worker starts here (`after_restore` starts it)."""
    global _settings, _service
    settings = settings if settings is not None else Settings.from_env()
    if settings.log_level:
        logger.setLevel(settings.log_level)
    if service is None:
        service = classify_service(settings, launch_decoder=not settings.snap_start)
        if service.decoder is not None and not settings.snap_start:
            service.decoder.start()  # ready before the first event
    _settings, _service = settings, service
    return service


def services() -> ClassifyService:
    """The service this cold start built (building it now if nothing has)."""
    return _service if _service is not None else init()


def before_snapshot() -> None:
    """The model is loaded; run it once, so the snapshot holds a warm interpreter. A snapshot
    cannot hold a child process: no decode worker may be running."""
    service = services()
    service.warm_up()
    if service.decoder is not None:
        service.decoder.close()


def after_restore() -> None:
    """Every restore of one snapshot starts with the same memory: re-seed randomness, connect
    afresh (the snapshot's sockets and credentials are stale) and launch the decode worker."""
    random.seed()
    service = services()
    connect(service, _settings if _settings is not None else Settings.from_env())
    if service.decoder is not None:
        service.decoder.start(wait=False)  # starts beside the first reads; the first decode waits


try:  # Lambda's python3.12 runtime provides the hooks' registry; elsewhere there is no snapshot
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:
    pass
else:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)


def _report(result) -> None:
    if result.error is not None:
        logger.warning(
            "message failed, to be retried",
            extra={"message_id": result.message_id, "error": f"{type(result.error).__name__}: {result.error}"},
        )
        return
    for outcome in result.outcomes:
        record = outcome.record
        if record is not None:
            metrics.add_metric(
                name="Classified" if record.status == STATUS_OK else "Rejected", unit=MetricUnit.Count, value=1
            )
            if record.inference_ms is not None:
                metrics.add_metric(name="InferenceMs", unit=MetricUnit.Milliseconds, value=record.inference_ms)
        logger.info(
            "classified",
            extra={
                "key": record.key if record else None,
                "status": outcome.status,
                "stored": outcome.stored,
                "label": record and record.label,
                "reason": record and record.reason,
            },
        )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    service = services()
    service.deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000.0
    messages = [(m.get("messageId"), m.get("body")) for m in event.get("Records", [])]
    metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=len(messages))
    results = classify_messages(service, messages)
    for result in results:
        _report(result)
    return {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in results if r.error is not None]}


if running_in_lambda():  # Lambda's INIT: the model loads now (and SnapStart snapshots it), not in the first event
    init()
