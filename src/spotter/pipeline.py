"""Classify one uploaded object: read, decode, infer, record. The heart of the classify Lambda."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from .classifier import Classifier
from .errors import ObjectMissing, OutOfTime, RejectedImage
from .events import S3Object, is_folder_marker
from .imaging import DecodedImage, DecodeLimits, check_size, decode_image
from .keys import ORIGINAL_NAME_METADATA, UPLOADS_PREFIX, decode_original_name, origin_of
from .ports import ObjectReader, PredictionWriter
from .records import (
    STATUS_OK,
    STATUS_REJECTED,
    PredictionRecord,
    normalise_capture_time,
    normalise_time,
    object_id_for,
    utc_now,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    record: PredictionRecord | None  # None: deleted before we could read it, or skipped on purpose
    stored: bool  # False: a newer event for the same object had already been recorded
    skipped: str | None = None  # why no record is written (a folder marker)

    @property
    def status(self) -> str:
        return self.record.status if self.record else ("skipped" if self.skipped else "missing")


class ClassifyService:
    def __init__(
        self,
        objects: ObjectReader,
        predictions: PredictionWriter,
        classifier: Classifier,
        limits: DecodeLimits = DecodeLimits(),
        top_k: int = 3,
        clock: Callable[[], str] = utc_now,
        decoder=None,
    ):
        """`decoder`: a `spotter.budget.BudgetedDecoder` (the classify function's); None decodes in this
        process with no time or memory bound."""
        self.objects = objects
        self.predictions = predictions
        self.classifier = classifier
        self.limits = limits
        self.top_k = top_k
        self.clock = clock
        self.decoder = decoder
        self.deadline: float | None = None  # time.monotonic() by which this invocation must be done
        self.finish_s = 1.5  # kept back from the deadline for inference, the write and the reply

    def decode(self, data: bytes) -> DecodedImage:
        if self.decoder is None:
            return decode_image(data, self.classifier.input_size, self.limits)
        seconds = None
        if self.deadline is not None:
            seconds = self.deadline - time.monotonic() - self.finish_s
            if seconds < min(0.5, self.limits.seconds or 0.5):
                raise OutOfTime(f"{seconds + self.finish_s:.1f} s left in this invocation: too little to decode")
        return self.decoder.decode(data, self.classifier.input_size, seconds=seconds)

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def classify(self, obj: S3Object) -> Outcome:
        """Permanent problems with the file become a `rejected` record; platform errors propagate
        (the SQS batch reports them as failures, so they are retried and finally dead-lettered)."""
        if obj.size == 0 and is_folder_marker(obj.key):
            return self._skip(obj)
        record = self._new_record(obj)
        try:
            if obj.size is not None:
                check_size(obj.size, self.limits)
            stored = self.objects.read(obj.bucket, obj.key, self.limits.max_bytes, obj.version_id)
            record.size = stored.size
            record.etag = record.etag or stored.etag
            record.file_name = self._original_name(obj.key, stored) or record.file_name
            if stored.size == 0 and is_folder_marker(obj.key):
                return self._skip(obj)
            check_size(stored.size, self.limits)
            decoded = self.decode(stored.data)
            record.width, record.height = decoded.width, decoded.height
            record.format, record.frames = decoded.format, decoded.frames
            record.decode_ms = round(decoded.decode_ms, 2)
            field = decoded.field
            record.captured_at = normalise_capture_time(field.captured_at)
            record.latitude, record.longitude = field.latitude, field.longitude
            record.altitude, record.camera = field.altitude, field.camera
            prediction = self.classifier.classify(decoded.image, self.top_k)
        except ObjectMissing:
            log.warning("object %s/%s no longer exists; nothing to classify", obj.bucket, obj.key)
            return Outcome(record=None, stored=False)
        except RejectedImage as rejection:
            record.status, record.reason = STATUS_REJECTED, rejection.reason
        else:
            record.status = STATUS_OK
            record.label, record.score = prediction.label, prediction.score
            record.top = [{"label": label, "score": score} for label, score in prediction.top]
            record.decision, record.decision_rule = prediction.decision, prediction.decision_rule
            record.preprocess_ms = round(prediction.preprocess_ms, 2)
            record.inference_ms = round(prediction.inference_ms, 2)
        record.classified_at = self.clock()
        return Outcome(record=record, stored=self.predictions.put(record))

    @staticmethod
    def _original_name(key: str, stored) -> str | None:
        """The researcher's own file name, which the API's upload form stores as metadata on web uploads
        (the key holds only a sanitised copy). Only under uploads/, which only those forms write."""
        if not key.startswith(UPLOADS_PREFIX):
            return None
        return decode_original_name((stored.metadata or {}).get(ORIGINAL_NAME_METADATA))

    @staticmethod
    def _skip(obj: S3Object) -> Outcome:
        log.info("skipped %s/%s: a zero-byte folder marker", obj.bucket, obj.key)
        return Outcome(record=None, stored=False, skipped="folder marker")

    def _new_record(self, obj: S3Object) -> PredictionRecord:
        origin = origin_of(obj.key)
        now = self.clock()
        card = self.classifier.card
        return PredictionRecord(
            object_id=object_id_for(obj.bucket, obj.key),
            model=card.model_id,
            bucket=obj.bucket,
            key=obj.key,
            status=STATUS_REJECTED,
            source=origin.source,
            batch=origin.batch,
            file_name=origin.file_name,
            uploaded_at=normalise_time(obj.event_time) or now,
            classified_at=now,
            model_name=card.name,
            model_version=card.version,
            etag=(obj.etag or "").strip('"') or None,
            version_id=obj.version_id,
            sequencer=obj.sequencer,
            size=obj.size,
        )
