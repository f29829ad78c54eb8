"""Composition root: build the domain services on their AWS adapters, from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotter.adapters.aws import client, forget_low_level_clients, low_level_client, resource
from spotter.adapters.dynamodb_records import ConditionalRecordWriter, DynamoBatchTombstones
from spotter.adapters.s3 import S3Objects, S3Presigner
from spotter.config import Settings

if TYPE_CHECKING:  # imported where used (see below)
    from spotter.ingest.decode_sandbox import BudgetedDecoder
    from spotter.ingest.imaging import DecodeLimits
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.classifier import Classifier
    from spotter.model.detector import Detector
    from spotter.ports import (
        BatchObjects,
        BatchTombstones,
        DayFiles,
        PredictionQueries,
        PredictionStore,
        Presigner,
        RecordRemover,
        RefusalCounter,
    )

# The one composition root of all three functions (classify, api, parquet_copy) and the command line:
# each gets its services as ports, built here on their adapters. Each imports only what it uses, inside
# the function that builds it: the copy function's layer has no NumPy or Pillow, and the classify
# function's cold start no boto3 resources or query adapter.


def decode_limits(settings: Settings) -> DecodeLimits:
    from spotter.ingest.imaging import DecodeLimits

    return DecodeLimits(
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        max_frames=settings.max_frames,
        max_jpeg_scans=settings.max_jpeg_scans,
        memory_bytes=settings.decode_memory_mb * 1024 * 1024,
        seconds=settings.decode_seconds,
    )


def decoder(settings: Settings) -> BudgetedDecoder | None:
    """The bounded decoder (a warm worker process), or None to decode inline (DECODE_ISOLATION=inline)."""
    if settings.decode_isolation == "inline":
        return None
    from spotter.ingest.decode_sandbox import BudgetedDecoder

    return BudgetedDecoder(decode_limits(settings))


def predictions(settings: Settings) -> PredictionStore:
    """The API's record store (get and put, through boto3's Table resource)."""
    from spotter.adapters.dynamodb import DynamoPredictions

    return DynamoPredictions(resource("dynamodb", endpoint_url=settings.endpoint_url).Table(settings.predictions_table))


def classify_service(
    settings: Settings, classifier: Classifier | Detector | None = None, launch_decoder: bool = True
) -> ClassifyService:
    """The classify function's service. Its decode worker is launched first (unless not
    `launch_decoder`), so that the worker's interpreter starts beside the clients and the model
    load; `decoder.start()` waits for it."""
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.detector import Detector
    from spotter.model.loading import load_model

    bounded = decoder(settings)
    if bounded is not None and launch_decoder:
        bounded.start(wait=False)
    model = classifier or load_model(
        settings.model_path, labels_path=settings.labels_path, num_threads=settings.num_threads
    )
    if isinstance(model, Detector) and settings.detect_tiling:
        model.with_tiling(model.tiling.overridden(settings.detect_tiling, "DETECT_TILING"), "DETECT_TILING")
    objects, writer = _fresh_adapters(settings)
    return ClassifyService(
        objects=objects,
        predictions=writer,
        classifier=model,
        limits=decode_limits(settings),
        top_k=settings.top_k,
        decoder=bounded,
    )


def _fresh_adapters(settings: Settings) -> tuple[S3Objects, ConditionalRecordWriter]:
    """The S3 reader and record writer on fresh low-level clients."""
    forget_low_level_clients()
    return S3Objects(low_level_client("s3", endpoint_url=settings.endpoint_url)), ConditionalRecordWriter(
        low_level_client("dynamodb", endpoint_url=settings.endpoint_url), settings.predictions_table
    )


def connect(service: ClassifyService, settings: Settings) -> None:
    """Give the service its S3 reader and record writer on fresh low-level clients (at cold start,
    and again after a SnapStart restore)."""
    service.objects, service.predictions = _fresh_adapters(settings)


def prediction_queries(settings: Settings) -> PredictionQueries:
    from spotter.adapters.dynamodb import DynamoPredictionQueries
    from spotter.results.cursors import CursorSigner

    return DynamoPredictionQueries(
        resource("dynamodb", endpoint_url=settings.endpoint_url).Table(settings.predictions_table),
        signer=CursorSigner(cursor_key(settings)),
    )


def cursor_key(settings: Settings) -> str | None:
    """The key the API signs cursors with: CURSOR_KEY, else the secret CURSOR_KEY_SECRET names (read
    once per cold start), else None (a key of this process's own)."""
    if settings.cursor_key or not settings.cursor_key_secret:
        return settings.cursor_key
    secrets = client("secretsmanager", endpoint_url=settings.endpoint_url)
    return str(secrets.get_secret_value(SecretId=settings.cursor_key_secret)["SecretString"])


def presigner(settings: Settings) -> Presigner:
    return S3Presigner(client("s3", endpoint_url=settings.endpoint_url), settings.uploads_bucket)


def batch_tombstones(settings: Settings) -> BatchTombstones:

    return DynamoBatchTombstones(client("dynamodb", endpoint_url=settings.endpoint_url), settings.predictions_table)


def refusal_counter(settings: Settings) -> RefusalCounter:
    from spotter.adapters.dynamodb_records import DynamoRefusalCounter

    return DynamoRefusalCounter(client("dynamodb", endpoint_url=settings.endpoint_url), settings.predictions_table)


def batch_removal(settings: Settings) -> tuple[BatchObjects, RecordRemover]:
    from spotter.adapters.batch_removal import DynamoRecordRemover, S3BatchObjects

    return (
        S3BatchObjects(client("s3", endpoint_url=settings.endpoint_url), settings.uploads_bucket),
        DynamoRecordRemover(resource("dynamodb", endpoint_url=settings.endpoint_url).Table(settings.predictions_table)),
    )


def day_files(settings: Settings) -> DayFiles:
    """The copy function's Parquet day files in the copy bucket."""
    from spotter.adapters.s3_day_files import S3DayFiles

    if not settings.copy_bucket:
        raise KeyError("COPY_BUCKET")  # the template always sets it
    return S3DayFiles(client("s3", endpoint_url=settings.endpoint_url), settings.copy_bucket, settings.copy_prefix)
