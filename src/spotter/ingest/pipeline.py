"""Classify one uploaded object: read, decode, infer, record. The heart of the classify Lambda."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import cast

from spotter.errors import BatchDeleted, MalformedEvent, ObjectMissing, OutOfTime, RejectedImage
from spotter.ingest.events import S3Object, is_folder_marker, objects_in_message
from spotter.ingest.imaging import DecodedImage, DecodeLimits, check_size, decode_image
from spotter.keys import ORIGINAL_NAME_METADATA, UPLOADS_PREFIX, decode_original_name, origin_of
from spotter.model.tiling import WHOLE, View, cut_views
from spotter.ports import Decoder, ImageClassifier, ObjectDetector, ObjectReader, PredictionWriter, StoredObject
from spotter.records import (
    STATUS_OK,
    STATUS_REJECTED,
    PredictionRecord,
    apply_detection,
    normalise_capture_time,
    normalise_time,
    object_id_for,
    utc_now,
)

log = logging.getLogger(__name__)
DEFAULT_LIMITS = DecodeLimits()


@dataclass(frozen=True)
class Outcome:
    record: PredictionRecord | None  # None: deleted before we could read it, or skipped on purpose
    stored: bool  # False: a newer event for the same object had already been recorded
    skipped: str | None = None  # why no record is written (a folder marker)

    @property
    def status(self) -> str:
        return self.record.status if self.record else ("skipped" if self.skipped else "missing")


@dataclass
class _Work:
    """One object on its way through the stages, with its record being made. A stage that finds
    nothing left to do (a folder marker, a vanished object) hands on its `Outcome` instead."""

    obj: S3Object
    record: PredictionRecord
    data: bytes | None = None  # the object's bytes, until decoded
    size: int = 0
    decoded: DecodedImage | None = None  # until inferred


class ClassifyService:
    def __init__(
        self,
        objects: ObjectReader,
        predictions: PredictionWriter,
        classifier: ImageClassifier | ObjectDetector,
        limits: DecodeLimits = DEFAULT_LIMITS,
        top_k: int = 3,
        clock: Callable[[], str] = utc_now,
        decoder: Decoder | None = None,
    ) -> None:
        """`decoder`: a `spotter.ingest.decode_sandbox.BudgetedDecoder` (the classify function's); None decodes in this
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

    @property
    def detector(self) -> ObjectDetector | None:
        """The model, when it is an object detector (its photos are counted tile by tile)."""
        model = self.classifier
        return model if getattr(model, "task", "classify") == "detect" else None  # type: ignore[return-value]

    def decode(self, data: bytes) -> DecodedImage:
        detector = self.detector
        if self.decoder is None:
            if detector is None:
                return decode_image(data, self.classifier.input_size, self.limits)
            # tiles need the photo's own pixels: no reduced (draft) decode
            decoded = decode_image(data, detector.input_size, self.limits, use_draft=False)
            plan = detector.tiling.plan(decoded.width, decoded.height)
            views = tuple(cut_views(decoded.image, plan, detector.contract))
            return replace(decoded, image=views[0].image, views=views, plan=plan)
        seconds = None
        if self.deadline is not None:
            seconds = self.deadline - time.monotonic() - self.finish_s
            if seconds < min(0.5, self.limits.seconds or 0.5):
                raise OutOfTime(f"{seconds + self.finish_s:.1f} s left in this invocation: too little to decode")
        # the worker fits the picture to the model's input too: 150 KB comes back, not the decoded picture
        if detector is not None:  # the worker cuts the tiles and fits each: only those come back
            return self.decoder.decode(
                data,
                detector.input_size,
                use_draft=False,
                seconds=seconds,
                fit=detector.contract,
                tiling=detector.tiling,
            )
        return self.decoder.decode(data, self.classifier.input_size, seconds=seconds, fit=self.classifier.contract)

    def warm_up(self) -> None:
        """One inference on a blank picture: the interpreter's first run (kernels chosen, buffers
        touched) happens now rather than on the first image (SnapStart snapshots this state)."""
        from PIL import Image

        blank = Image.new("RGB", self.classifier.input_size, (128, 128, 128))
        detector = self.detector
        if detector is not None:
            detector.raw(blank)
        else:
            cast(ImageClassifier, self.classifier).classify(blank, self.top_k)

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def classify(self, obj: S3Object) -> Outcome:
        """Permanent problems with the file become a `rejected` record; platform errors propagate
        (the SQS batch reports them as failures, so they are retried and finally dead-lettered)."""
        return self._store(self._infer(self._decode(self._fetch(obj))))

    def classify_batch(
        self, objects: list[S3Object], ahead: int = 3, ahead_bytes: int = 64 * 1024 * 1024, writers: int = 2
    ) -> list[Outcome | Exception]:
        """`classify` for each object, with I/O overlapping compute: while one image is inferred here,
        the next decodes (in the decode worker), up to `ahead` further ones are being read from storage
        (at most `ahead_bytes` of them by their declared size, and always at least one), and the records
        before it are being written. Returns, in the same order, each object's `Outcome` or the platform
        error that stopped it (that object alone is retried). Records stay exactly one per object and
        model: the write is conditional on the S3 sequencer, so the order the writes land in cannot let
        an older event win."""
        from concurrent.futures import ThreadPoolExecutor

        results: dict[int, Outcome | Exception] = {}
        with (
            ThreadPoolExecutor(max(1, ahead), thread_name_prefix="spotter-fetch") as fetching,
            ThreadPoolExecutor(1, thread_name_prefix="spotter-decode") as decoding,
            ThreadPoolExecutor(max(1, writers), thread_name_prefix="spotter-write") as writing,
        ):
            decoded: dict[int, Future[_Work | Outcome]] = {}  # index -> future of the fetched and decoded work
            writes: dict[int, Future[Outcome]] = {}  # index -> future of its Outcome
            admitted = 0

            def decode_fetched(fetched: Future[_Work | Outcome]) -> _Work | Outcome:
                return self._decode(fetched.result())

            def declared(index: int) -> int:
                size = objects[index].size
                return self.limits.max_bytes if size is None else size

            for index in range(len(objects)):
                # read ahead: the image after this one is decoding while this one is inferred
                while admitted < len(objects) and (
                    admitted <= index
                    or (
                        admitted - index <= ahead
                        and sum(declared(i) for i in range(index, admitted + 1)) <= ahead_bytes
                    )
                ):
                    fetched = fetching.submit(self._fetch, objects[admitted])
                    decoded[admitted] = decoding.submit(decode_fetched, fetched)
                    admitted += 1
                try:
                    work = self._infer(decoded.pop(index).result())
                except Exception as error:  # a platform error: this object alone fails
                    results[index] = error
                    continue
                writes[index] = writing.submit(self._store, work)
            for index, future in writes.items():
                try:
                    results[index] = future.result()
                except Exception as error:
                    results[index] = error
        return [results[index] for index in range(len(objects))]

    # the stages of one object: fetch (I/O), decode (the worker), infer (here), store (I/O)
    def _fetch(self, obj: S3Object) -> _Work | Outcome:
        if obj.size == 0 and is_folder_marker(obj.key):
            return self._skip(obj)
        record = self._new_record(obj)
        try:
            if obj.size is not None:
                check_size(obj.size, self.limits)
            stored = self.objects.read(obj.bucket, obj.key, self.limits.max_bytes, obj.version_id)
        except ObjectMissing:
            log.warning("object %s/%s no longer exists; nothing to classify", obj.bucket, obj.key)
            return Outcome(record=None, stored=False)
        except RejectedImage as rejection:
            record.status, record.reason = STATUS_REJECTED, rejection.reason
            return _Work(obj, record=record)
        # The record describes the version read, all of it from that one GetObject: a re-upload between
        # the event (or a reprocess's listing) and the read must not leave the old ETag and upload time
        # beside the new size and label.
        named = record.etag
        record.size = stored.size
        record.etag = stored.etag or record.etag
        record.version_id = stored.version_id or record.version_id
        if named and stored.etag and named != stored.etag.strip('"') and stored.last_modified:
            record.uploaded_at = stored.last_modified  # the event named another version: this one's time
        record.file_name = self._original_name(obj.key, stored) or record.file_name
        if stored.size == 0 and is_folder_marker(obj.key):
            return self._skip(obj)
        return _Work(obj, record=record, data=stored.data, size=stored.size)

    def _decode(self, work: _Work | Outcome) -> _Work | Outcome:
        if isinstance(work, Outcome) or work.data is None:
            return work
        record, data, work.data = work.record, work.data, None  # the bytes are not kept past the decode
        try:
            check_size(work.size, self.limits)
            decoded = self.decode(data)
        except RejectedImage as rejection:
            record.status, record.reason = STATUS_REJECTED, rejection.reason
            return work
        record.width, record.height = decoded.width, decoded.height
        record.format, record.frames = decoded.format, decoded.frames
        record.decode_ms = round(decoded.decode_ms, 2)
        field = decoded.field
        record.captured_at = normalise_capture_time(field.captured_at)
        record.latitude, record.longitude = field.latitude, field.longitude
        record.altitude, record.camera = field.altitude, field.camera
        work.decoded = decoded
        return work

    def _infer(self, work: _Work | Outcome) -> _Work | Outcome:
        if isinstance(work, Outcome):
            return work
        record, decoded, work.decoded = work.record, work.decoded, None
        detector = self.detector
        if decoded is not None and detector is not None:
            deadline = None if self.deadline is None else self.deadline - self.finish_s
            views = list(decoded.views) or [View(WHOLE, decoded.image)]
            found = detector.detect(views, decoded.plan, deadline=deadline)
            record.status, record.reason = STATUS_OK, None
            apply_detection(record, found)
            record.preprocess_ms = round(decoded.fit_ms or 0.0, 2)
            record.inference_ms = round(found.inference_ms, 2)
        elif decoded is not None:
            try:
                prediction = cast(ImageClassifier, self.classifier).classify(decoded.image, self.top_k)
            except RejectedImage as rejection:
                record.status, record.reason = STATUS_REJECTED, rejection.reason
            else:
                record.status, record.reason = STATUS_OK, None
                record.label, record.score = prediction.label, prediction.score
                record.top = [{"label": label, "score": score} for label, score in prediction.top]
                record.decision, record.decision_rule = prediction.decision, prediction.decision_rule
                record.positive_score, record.domain_distance = prediction.positive_score, prediction.domain_distance
                record.preprocess_ms = round(prediction.preprocess_ms + (decoded.fit_ms or 0.0), 2)
                record.inference_ms = round(prediction.inference_ms, 2)
        record.classified_at = self.clock()
        return work

    def _store(self, work: _Work | Outcome) -> Outcome:
        if isinstance(work, Outcome):
            return work
        try:
            return Outcome(record=work.record, stored=self.predictions.put(work.record))
        except BatchDeleted as deleted:  # the image arrived after its batch was deleted: not kept
            obj = work.obj
            log.warning("batch %s was deleted; discarding its late object %s/%s", deleted.batch, obj.bucket, obj.key)
            self.objects.discard(obj.bucket, obj.key, work.record.version_id)
            return Outcome(record=None, stored=False, skipped="batch deleted")

    @staticmethod
    def _original_name(key: str, stored: StoredObject) -> str | None:
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


@dataclass(frozen=True)
class MessageResult:
    """What became of one queue message: its objects' outcomes, or why it must be retried."""

    message_id: str
    outcomes: list[Outcome]
    error: Exception | None = None  # a poison message or a platform error: the message is retried


def classify_messages(service: ClassifyService, messages: list[tuple[str, str]]) -> list[MessageResult]:
    """Classify every object of a batch of (message id, body) S3 notifications at once, overlapped
    (`ClassifyService.classify_batch`). A message fails as a whole when its body is not an S3
    notification or any of its objects met a platform error; the others are done."""
    parsed: list[tuple[str, list[S3Object] | None, Exception | None]] = []
    for message_id, body in messages:
        try:
            parsed.append((message_id, objects_in_message(body), None))
        except MalformedEvent as exc:
            parsed.append((message_id, None, exc))
    objects = [obj for _, found, _ in parsed for obj in (found or [])]
    results = iter(service.classify_batch(objects))
    done = []
    for message_id, found, malformed in parsed:
        ends = [next(results) for _ in (found or [])]
        error = malformed or next((r for r in ends if isinstance(r, Exception)), None)
        outcomes = [r for r in ends if isinstance(r, Outcome)]  # every one of them when there is no error
        done.append(MessageResult(message_id, [] if error else outcomes, error))
    return done
