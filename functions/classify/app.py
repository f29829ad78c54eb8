"""Classify Lambda: an SQS batch of S3 ObjectCreated notifications -> one prediction record each.

Bad images become `rejected` records (not retried); platform errors become batch item
failures, so SQS retries them and finally moves them to the dead-letter queue.
"""

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from spotter.adapters.wiring import classify_service
from spotter.config import Settings
from spotter.events import S3Object, objects_in_message

settings = Settings.from_env()
logger = Logger(service="spotter-classify")
metrics = Metrics(namespace="Spotter", service="spotter-classify")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
service = classify_service(settings)  # the model loads once per cold start
if service.decoder is not None:
    service.decoder.start()  # the decode worker too (about 0.2 s, in the init phase)
idempotency = IdempotencyConfig(
    event_key_jmespath="[bucket, key, etag, version_id, sequencer, model]",
    expires_after_seconds=24 * 3600,
)


def classify_object(obj: dict) -> dict:
    outcome = service.classify(S3Object(**{k: v for k, v in obj.items() if k != "model"}))
    record = outcome.record
    if record is not None:
        metrics.add_metric(name="Classified" if record.status == "ok" else "Rejected", unit=MetricUnit.Count, value=1)
        if record.inference_ms is not None:
            metrics.add_metric(name="InferenceMs", unit=MetricUnit.Milliseconds, value=record.inference_ms)
    logger.info(
        "classified",
        extra={"key": obj["key"], "status": outcome.status, "stored": outcome.stored,
               "label": record and record.label, "reason": record and record.reason},
    )
    return {"status": outcome.status, "stored": outcome.stored, "object_id": record and record.object_id}


if settings.idempotency_table:  # duplicate S3 deliveries and SQS redeliveries are skipped
    classify_object = idempotent_function(
        data_keyword_argument="obj",
        config=idempotency,
        persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
    )(classify_object)


def record_handler(record: SQSRecord) -> list[dict]:
    return [classify_object(obj={**obj.as_dict(), "model": service.model_id}) for obj in objects_in_message(record.body)]


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    idempotency.register_lambda_context(context)
    service.deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000.0
    metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
