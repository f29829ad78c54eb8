"""Composition root: build the domain services on their AWS adapters, from settings."""

from __future__ import annotations

from ..classifier import Classifier
from ..config import Settings
from ..imaging import DecodeLimits
from ..pipeline import ClassifyService
from .aws import client, resource
from .batch_removal import DynamoRecordRemover, S3BatchObjects
from .dynamodb import DynamoPredictionQueries, DynamoPredictions
from .s3 import S3Objects, S3Presigner


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels,
                        max_frames=settings.max_frames, max_jpeg_scans=settings.max_jpeg_scans,
                        memory_bytes=settings.decode_memory_mb * 1024 * 1024, seconds=settings.decode_seconds)


def decoder(settings: Settings):
    """The bounded decoder (a warm worker process), or None to decode inline (DECODE_ISOLATION=inline)."""
    if settings.decode_isolation == "inline":
        return None
    from ..budget import BudgetedDecoder

    return BudgetedDecoder(decode_limits(settings))


def predictions(settings: Settings) -> DynamoPredictions:
    return DynamoPredictions(resource("dynamodb").Table(settings.predictions_table))


def classify_service(settings: Settings, classifier: Classifier | None = None) -> ClassifyService:
    classifier = classifier or Classifier.load(settings.model_path, num_threads=settings.num_threads)
    return ClassifyService(
        objects=S3Objects(client("s3")),
        predictions=predictions(settings),
        classifier=classifier,
        limits=decode_limits(settings),
        top_k=settings.top_k,
        decoder=decoder(settings),
    )


def prediction_queries(settings: Settings) -> DynamoPredictionQueries:
    return DynamoPredictionQueries(resource("dynamodb").Table(settings.predictions_table))


def presigner(settings: Settings) -> S3Presigner:
    return S3Presigner(client("s3"), settings.uploads_bucket)


def batch_removal(settings: Settings) -> tuple[S3BatchObjects, DynamoRecordRemover]:
    return (S3BatchObjects(client("s3"), settings.uploads_bucket),
            DynamoRecordRemover(resource("dynamodb").Table(settings.predictions_table)))
