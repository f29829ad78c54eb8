"""Composition root: build the domain services on their AWS adapters, from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..classifier import Classifier
from ..config import Settings
from ..imaging import DecodeLimits
from ..pipeline import ClassifyService
from .aws import client, forget_low_level_clients, low_level_client, resource
from .dynamodb_records import ConditionalRecordWriter, DynamoBatchTombstones
from .s3 import S3Objects, S3Presigner

if TYPE_CHECKING:  # imported where used (see below)
    from ..budget import BudgetedDecoder
    from .batch_removal import DynamoRecordRemover, S3BatchObjects
    from .dynamodb import DynamoPredictionQueries, DynamoPredictions

# The classify function's cold start imports this module: what only the API and the command line
# use (boto3's resources, the query adapter) is imported inside the functions that build them.


def decode_limits(settings: Settings) -> DecodeLimits:
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
    from ..budget import BudgetedDecoder

    return BudgetedDecoder(decode_limits(settings))


def predictions(settings: Settings) -> DynamoPredictions:
    """The API's record store (get and put, through boto3's Table resource)."""
    from .dynamodb import DynamoPredictions

    return DynamoPredictions(resource("dynamodb", endpoint_url=settings.endpoint_url).Table(settings.predictions_table))


def classify_service(
    settings: Settings, classifier: Classifier | None = None, launch_decoder: bool = True
) -> ClassifyService:
    """The classify function's service. Its decode worker is launched first (unless not
    `launch_decoder`), so that the worker's interpreter starts beside the clients and the model
    load; `decoder.start()` waits for it."""
    bounded = decoder(settings)
    if bounded is not None and launch_decoder:
        bounded.start(wait=False)
    model = classifier or Classifier.load(settings.model_path, num_threads=settings.num_threads)
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


def prediction_queries(settings: Settings) -> DynamoPredictionQueries:
    from ..cursors import CursorSigner
    from .dynamodb import DynamoPredictionQueries

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


def presigner(settings: Settings) -> S3Presigner:
    return S3Presigner(client("s3", endpoint_url=settings.endpoint_url), settings.uploads_bucket)


def batch_tombstones(settings: Settings) -> DynamoBatchTombstones:
    from .dynamodb_records import DynamoBatchTombstones

    return DynamoBatchTombstones(client("dynamodb", endpoint_url=settings.endpoint_url), settings.predictions_table)


def batch_removal(settings: Settings) -> tuple[S3BatchObjects, DynamoRecordRemover]:
    from .batch_removal import DynamoRecordRemover, S3BatchObjects

    return (
        S3BatchObjects(client("s3", endpoint_url=settings.endpoint_url), settings.uploads_bucket),
        DynamoRecordRemover(resource("dynamodb", endpoint_url=settings.endpoint_url).Table(settings.predictions_table)),
    )
