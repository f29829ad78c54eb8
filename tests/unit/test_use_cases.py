"""Every use case on in-memory fakes of its ports (tests/support/fakes.py): no moto, no subprocess, no model
file. The adapters and the whole stack are tested elsewhere against moto."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import images
import pytest
from fakes import (
    FakeBatchObjects,
    FakeDeadLetters,
    FakeFolder,
    FakeInspector,
    FakeObjects,
    FakePredictions,
    FakePresigner,
    FakeQueries,
    FakeQueue,
    FakeRecordReader,
    FakeRemover,
    PlatformError,
)

from spotter.errors import RejectedImage
from spotter.ingest.events import S3Object
from spotter.ingest.imaging import DecodeLimits
from spotter.ingest.pipeline import ClassifyService, Outcome, classify_messages
from spotter.model.classifier import Prediction
from spotter.model.preprocess import InputContract
from spotter.ops import dead_letters, reprocess, sync
from spotter.ports import ObjectHead
from spotter.records import STATUS_OK, STATUS_REFUSED, STATUS_REJECTED, PredictionRecord, object_id_for
from spotter.results.names import stored_names
from spotter.results.query import PredictionQuery, QueryError
from spotter.results.stats import matching_records
from spotter.web.access import AccessDenied, Caller
from spotter.web.batches import remove_batch
from spotter.web.responses import csv_pages, json_page
from spotter.web.uploads import PlannedUpload, RefusedFile, parse_files, plan_uploads, refusal_record

BUCKET = "bucket"
NOW = "2026-11-01T08:00:00.000Z"


# --- the classify pipeline ----------------------------------------------------------------------


@dataclass
class FakeCard:
    name: str = "fake"
    version: str = "1"
    model_id: str = "fake@1"


@dataclass
class FakeClassifier:
    """Classifies by the image's mean red: 'red' or 'other'; a grey image is refused as unreadable."""

    input_size: tuple[int, int] = (32, 32)
    card: FakeCard = field(default_factory=FakeCard)
    calls: int = 0
    contract: InputContract | None = None  # the real classifier's fit; None: pictures come as decoded

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def classify(self, image, top_k: int = 3) -> Prediction:
        self.calls += 1
        from PIL import ImageStat

        red, green, blue = ImageStat.Stat(image.convert("RGB")).mean
        if abs(red - green) < 5 and abs(green - blue) < 5:
            raise RejectedImage("grey: the fake model refuses it")
        label = "red" if red > max(green, blue) else "other"
        return Prediction(label=label, score=0.9, top=((label, 0.9),), preprocess_ms=1.0, inference_ms=2.0)


def _service(objects: FakeObjects, store: FakePredictions, max_bytes: int = 1_000_000) -> ClassifyService:
    return ClassifyService(
        objects, store, FakeClassifier(), limits=DecodeLimits(max_bytes=max_bytes), clock=lambda: NOW
    )


def _stored(store: FakePredictions, key: str, model: str = "fake@1") -> PredictionRecord:
    """The record the store holds for BUCKET/key under this model (there must be one)."""
    record = store.get(object_id_for(BUCKET, key), model)
    assert record is not None, f"no {model} record for {key}"
    return record


def _outcome_record(outcome: Outcome | Exception) -> PredictionRecord:
    """The record an outcome carries (there must be one: not an error, a deleted object or a skip)."""
    assert isinstance(outcome, Outcome) and outcome.record is not None, outcome
    return outcome.record


def _message(key: str, size: int | None = None, sequencer: str | None = None, bucket: str = BUCKET) -> str:
    obj = {
        "key": key,
        **({"size": size} if size is not None else {}),
        **({"sequencer": sequencer} if sequencer else {}),
    }
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": NOW,
                    "s3": {"bucket": {"name": bucket}, "object": obj},
                }
            ]
        }
    )


def test_pipeline_classifies_a_readable_image_as_ok():
    objects, store = FakeObjects({(BUCKET, "drones/d1/f/a.jpg"): images.jpeg(images.RED)}), FakePredictions()
    outcome = _service(objects, store).classify(S3Object(BUCKET, "drones/d1/f/a.jpg", sequencer="01"))
    assert outcome.stored and outcome.status == STATUS_OK
    record = _stored(store, "drones/d1/f/a.jpg")
    assert (record.label, record.source, record.batch, record.width) == ("red", "d1", "f", 64)


def test_pipeline_rejects_a_file_that_is_not_an_image_a_too_large_one_and_what_the_model_refuses():
    objects = FakeObjects(
        {
            (BUCKET, "drones/d/x.jpg"): b"not an image at all",
            (BUCKET, "drones/d/big.png"): images.png(size=(64, 48)),
            (BUCKET, "drones/d/grey.png"): images.png(colour=(128, 128, 128)),
        }
    )
    store = FakePredictions()
    service = _service(objects, store, max_bytes=len(images.png(colour=(128, 128, 128))) + 10)
    service.limits = DecodeLimits(max_bytes=len(images.png(size=(64, 48))) - 1)
    big = service.classify(S3Object(BUCKET, "drones/d/big.png"))
    assert big.status == STATUS_REJECTED and "limit" in (_outcome_record(big).reason or "")
    service.limits = DecodeLimits(max_bytes=1_000_000)
    bad = service.classify(S3Object(BUCKET, "drones/d/x.jpg"))
    grey = service.classify(S3Object(BUCKET, "drones/d/grey.png"))
    assert bad.status == STATUS_REJECTED and _outcome_record(bad).reason
    assert grey.status == STATUS_REJECTED and "grey" in (_outcome_record(grey).reason or "")
    assert {r.status for r in store.records.values()} == {STATUS_REJECTED}


def test_pipeline_writes_nothing_for_a_deleted_object_or_a_folder_marker():
    store = FakePredictions()
    service = _service(FakeObjects(), store)
    assert service.classify(S3Object(BUCKET, "drones/d/gone.jpg")).status == "missing"
    assert service.classify(S3Object(BUCKET, "drones/d/sub/", size=0)).status == "skipped"
    assert store.records == {}


def test_a_platform_error_fails_only_its_message_which_is_retried():
    objects = FakeObjects(
        {(BUCKET, "drones/d/a.jpg"): images.jpeg(), (BUCKET, "drones/d/b.jpg"): images.jpeg()},
        failing={"drones/d/b.jpg"},
    )
    store = FakePredictions(failing=set())
    results = classify_messages(
        _service(objects, store),
        [("m1", _message("drones/d/a.jpg")), ("m2", _message("drones/d/b.jpg")), ("m3", "not json")],
    )
    assert [r.error is None for r in results] == [True, False, False]
    assert isinstance(results[1].error, PlatformError)
    assert [r.key for r in store.records.values()] == ["drones/d/a.jpg"]


def test_a_failed_write_is_a_retry_too():
    objects = FakeObjects({(BUCKET, "drones/d/a.jpg"): images.jpeg()})
    store = FakePredictions(failing={"drones/d/a.jpg"})
    [result] = classify_messages(_service(objects, store), [("m1", _message("drones/d/a.jpg"))])
    assert isinstance(result.error, PlatformError) and store.records == {}


def test_the_later_sequencer_wins_whatever_order_the_events_arrive_in():
    key = "drones/d/a.jpg"
    objects, store = FakeObjects({(BUCKET, key): images.jpeg(images.RED)}), FakePredictions()
    service = _service(objects, store)
    assert service.classify(S3Object(BUCKET, key, sequencer="00A0")).stored
    objects.objects[BUCKET, key] = images.jpeg(images.BLUE)
    late_old = service.classify(S3Object(BUCKET, key, sequencer="009F"))  # an older event, delivered late
    assert not late_old.stored
    assert _stored(store, key).label == "red"
    assert service.classify(S3Object(BUCKET, key, sequencer="0A00")).stored  # longer hex: later
    assert _stored(store, key).label == "other"


def test_an_overlapped_batch_keeps_order_and_one_record_per_object():
    keys = [f"drones/d/{i}.jpg" for i in range(7)]
    objects = FakeObjects({(BUCKET, k): images.jpeg(images.RED if i % 2 else images.BLUE) for i, k in enumerate(keys)})
    objects.objects[BUCKET, keys[3]] = b"broken"
    store = FakePredictions()
    batch = [
        S3Object(BUCKET, k, size=len(objects.objects[BUCKET, k]), sequencer=f"{i:04X}") for i, k in enumerate(keys)
    ]
    duplicate = S3Object(BUCKET, keys[0], sequencer="0000")
    results = _service(objects, store).classify_batch([*batch, duplicate], ahead=2, ahead_bytes=2000)
    assert [_outcome_record(r).key for r in results] == [*keys, keys[0]]
    assert [_outcome_record(r).status for r in results[:7]] == [STATUS_OK] * 3 + [STATUS_REJECTED] + [STATUS_OK] * 3
    assert [_outcome_record(r).label for r in results[:3]] == ["other", "red", "other"]
    assert len(store.records) == 7


def test_a_web_upload_keeps_the_name_the_researcher_chose():
    key = "uploads/b1/1234-caf_.jpg"
    objects = FakeObjects({(BUCKET, key): images.jpeg()}, metadata={(BUCKET, key): {"original-name": "café.jpg"}})
    store = FakePredictions()
    outcome = _service(objects, store).classify(S3Object(BUCKET, key))
    assert _outcome_record(outcome).source == "web" and _outcome_record(outcome).batch == "b1"


# --- uploads and access -------------------------------------------------------------------------


def test_uploads_plan_a_key_per_file_and_refuse_what_cannot_be_read():
    files, batch = parse_files(
        {
            "files": [
                {"name": "a.jpg", "type": "image/jpeg", "size": 10},
                {"name": "b.heic", "type": "", "size": 10},
                {"name": "c.png", "type": "image/png", "size": 0},
                {"name": "d.png", "type": "image/png", "size": 2000},
            ],
            "batch": "b1",
        }
    )
    assert batch is not None
    plans = plan_uploads(files, batch, BUCKET, max_bytes=1000)
    assert [type(p) for p in plans] == [PlannedUpload, RefusedFile, RefusedFile, RefusedFile]
    planned, heic, empty, big = plans
    assert isinstance(planned, PlannedUpload)
    assert isinstance(heic, RefusedFile) and isinstance(empty, RefusedFile) and isinstance(big, RefusedFile)
    assert planned.key.startswith("uploads/b1/") and planned.content_type == "image/jpeg"
    assert "HEIC" in heic.error and "empty" in empty.error and "limit" in big.error
    assert len({p.key for p in plans}) == 4
    store, signer = FakePredictions(), FakePresigner(BUCKET)
    record = refusal_record(heic, batch, BUCKET, "fake", "1", now=NOW)
    assert store.put(record)
    refused = store.get(heic.object_id, "fake@1")
    assert refused is not None and refused.status == STATUS_REFUSED
    form = signer.upload_form(planned.key, planned.content_type, 1000, 300)
    assert form["fields"]["key"] == planned.key


def test_uploads_refuse_a_malformed_request():
    with pytest.raises(ValueError):
        parse_files({"files": []})
    with pytest.raises(ValueError):
        parse_files({"files": [{"name": "a.jpg", "type": "image/png,text/html", "size": 1}]})


def _record(key: str, label: str = "red", status: str = STATUS_OK, model: str = "fake@1", score=0.9, **extra):
    from spotter.keys import origin_of

    origin = origin_of(key)
    return PredictionRecord(
        object_id=object_id_for(BUCKET, key),
        model=model,
        bucket=BUCKET,
        key=key,
        status=status,
        source=origin.source,
        file_name=origin.file_name,
        uploaded_at=NOW,
        classified_at=NOW,
        model_name=model.split("@")[0],
        model_version=model.split("@")[1],
        batch=origin.batch,
        label=label,
        score=score,
        **extra,
    )


def test_access_researchers_see_their_own_web_batches_only():
    alice, bob = Caller("alice"), Caller("bob")
    analyst, anyone = Caller("carol", frozenset({"analysts"})), Caller.anonymous()
    batch = alice.batch_for_upload("trip")
    assert batch.startswith(alice.batch_prefix) and alice.batch_for_upload(batch) == batch
    assert anyone.batch_for_upload("trip") == "trip"
    alice.check_listing(batch)
    with pytest.raises(AccessDenied):
        bob.check_listing(batch)
    with pytest.raises(AccessDenied):
        alice.check_listing(None)
    analyst.check_listing(None)
    mine, drone = _record(f"uploads/{batch}/1-a.jpg"), _record(f"drones/d/{batch}/a.jpg")
    assert alice.may_read(mine) and not bob.may_read(mine) and not alice.may_read(drone)
    assert analyst.may_read(drone) and anyone.may_read(drone)


# --- queries, paging, names, batches ------------------------------------------------------------


def _many(n: int, batch: str = "b1") -> list[PredictionRecord]:
    return [_record(f"uploads/{batch}/{i:03}-a.jpg", label="red" if i % 3 else "blue") for i in range(n)]


def test_queries_page_through_every_match_once():
    queries = FakeQueries(_many(25) + _many(5, batch="other"))
    found = list(matching_records(queries.query, PredictionQuery(batch="b1", limit=7)))
    assert len(found) == 25 and len({r.key for r in found}) == 25
    assert queries.calls == 1  # matching_records asks for 1000 a page
    with pytest.raises(QueryError):
        list(matching_records(queries.query, PredictionQuery(batch="b1"), max_records=10))


def test_json_and_csv_replies_stay_under_their_budget_and_hand_back_a_cursor():
    queries = FakeQueries(_many(40))
    page = json_page(queries.query, PredictionQuery(batch="b1", limit=10), lambda r: {"key": r.key})
    assert len(page["items"]) == 10 and page["next"] == "10"
    small = json_page(queries.query, PredictionQuery(batch="b1", limit=40), lambda r: {"key": r.key}, budget=900)
    assert 1 <= len(small["items"]) < 40 and small["next"]
    body, cursor = csv_pages(queries.query, PredictionQuery(batch="b1", limit=10), budget=10**6)
    assert cursor is None and body.count("uploads/b1/") == 40
    body, cursor = csv_pages(queries.query, PredictionQuery(batch="b1", limit=10), budget=3000)
    rows = body.count("uploads/b1/")
    assert 0 < rows < 40 and cursor == str(rows)


def test_names_match_without_regard_to_case_or_list_the_known_ones():
    queries = FakeQueries(_many(3))
    query, notes = stored_names(PredictionQuery(label="RED"), queries)
    assert query.label == "red" and notes
    with pytest.raises(QueryError, match="blue"):
        stored_names(PredictionQuery(label="green"), queries)


def test_removing_a_batch_deletes_its_objects_and_only_its_records():
    records = [*_many(3), _record("drones/d/b1/x.jpg")]
    objects = FakeBatchObjects({"uploads/b1/000-a.jpg": 2, "uploads/b2/z.jpg": 1})
    remover = FakeRemover()
    removal = remove_batch("b1", records, objects, remover)
    assert objects.deleted_prefixes == ["uploads/b1/"] and removal.records == 3 and removal.versions == 2
    assert {r.key for r in remover.deleted} == {r.key for r in records[:3]}
    assert "uploads/b2/z.jpg" in objects.versions


def test_removing_a_batch_also_sweeps_records_the_index_did_not_show_yet():
    """On AWS the batch's index lags the table: a record written just before the tombstone may be
    missing from what the index read returns. Every stored object's records are swept by key."""
    lagging = _record("uploads/b1/001-late.jpg")
    old_model = _record("uploads/b1/001-late.jpg", model="fake@0")
    objects = FakeBatchObjects({"uploads/b1/000-a.jpg": 1, "uploads/b1/001-late.jpg": 1})
    remover = FakeRemover(table=[lagging, old_model])
    removal = remove_batch("b1", [_record("uploads/b1/000-a.jpg")], objects, remover)
    assert removal.records == 3 and not remover.table
    assert {(r.key, r.model) for r in remover.deleted} >= {(lagging.key, "fake@1"), (lagging.key, "fake@0")}


# --- reprocess ----------------------------------------------------------------------------------

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def test_reprocess_queues_the_matching_images_ten_a_message_batch():
    folder = FakeFolder()
    for i in range(23):
        folder.add(f"drones/d1/f/{i:02}.jpg", 10, f"e{i}", T0 + timedelta(minutes=i))
    folder.add("drones/d2/f/x.jpg", 10, "e", T0)
    folder.add("uploads/b/x.jpg", 10, "e", T0)
    matched = reprocess.matching_objects(folder, "d1", None, since="2026-11-01T08:05:00Z", until="2026-11-01T08:20:00Z")
    assert [m.key for m in matched] == [f"drones/d1/f/{i:02}.jpg" for i in range(5, 20)]
    queue = FakeQueue()
    assert reprocess.queue_for_classification(queue, BUCKET, matched) == 15
    assert [len(b) for b in queue.batches] == [10, 5]
    first = json.loads(queue.sent[0])["Records"][0]
    assert first["s3"]["object"]["key"] == "drones/d1/f/05.jpg" and first["eventTime"].endswith("Z")
    assert len(reprocess.matching_objects(folder, None, None)) == 25


def test_reprocess_leaves_out_images_already_classified_from_the_same_content():
    folder = FakeFolder()
    folder.add("uploads/b/a.jpg", 1, "same", T0)
    folder.add("uploads/b/b.jpg", 1, "changed", T0)
    folder.add("uploads/b/c.jpg", 1, "new", T0)
    reader = FakeRecordReader(
        {
            (object_id_for(BUCKET, "uploads/b/a.jpg"), "fake@1"): '"same"',
            (object_id_for(BUCKET, "uploads/b/b.jpg"), "fake@1"): "old",
        }
    )
    matched = reprocess.matching_objects(folder, None, "b")
    assert reprocess.already_classified(reader, BUCKET, "fake@1", matched) == {"uploads/b/a.jpg"}
    assert reprocess.already_classified(reader, BUCKET, "fake@2", matched) == set()


def test_reprocess_names_the_recorded_version_and_its_millisecond_upload_time():
    """A reprocess describes the upload its first record did: the version id and the upload event's time
    to the millisecond, from a record made from the same content (S3's LastModified has whole seconds).
    A record of other content (a re-upload since) lends nothing; of several, the latest upload wins."""
    from spotter.ports import RecordedUpload

    folder = FakeFolder()
    for name in ("a", "b", "c"):
        folder.add(f"drones/d/{name}.jpg", 4, f"e-{name}", T0)
    reader = FakeRecordReader(
        recorded={
            object_id_for(BUCKET, "drones/d/a.jpg"): [
                RecordedUpload('"e-a"', "v-a1", "2026-11-01T08:00:00.000Z"),  # an older reprocess's, cut
                RecordedUpload("e-a", "v-a1", "2026-11-01T08:00:00.725Z"),
            ],
            object_id_for(BUCKET, "drones/d/b.jpg"): [RecordedUpload("old", "v-b0", "2026-10-01T08:00:00.100Z")],
        }
    )
    matched = reprocess.with_recorded_uploads(reader, BUCKET, reprocess.matching_objects(folder, "d", None))
    queue = FakeQueue()
    reprocess.queue_for_classification(queue, BUCKET, matched)
    sent = {json.loads(b)["Records"][0]["s3"]["object"]["key"]: json.loads(b)["Records"][0] for b in queue.sent}
    assert sent["drones/d/a.jpg"]["eventTime"] == "2026-11-01T08:00:00.725Z"
    assert sent["drones/d/a.jpg"]["s3"]["object"]["versionId"] == "v-a1"
    for other in ("drones/d/b.jpg", "drones/d/c.jpg"):  # S3's listing: its time, no version named
        assert sent[other]["eventTime"] == "2026-11-01T08:00:00Z" and "versionId" not in sent[other]["s3"]["object"]
    objects = FakeObjects({(BUCKET, "drones/d/a.jpg"): images.jpeg(images.RED)})
    store = FakePredictions()
    body = next(b for b in queue.sent if "a.jpg" in b)
    [result] = classify_messages(_service(objects, store), [("m1", body)])
    record = _outcome_record(result.outcomes[0])
    assert record.version_id == "v-a1" and record.uploaded_at == "2026-11-01T08:00:00.725Z"


# --- dead letters -------------------------------------------------------------------------------


def test_dead_letters_redrive_only_what_can_succeed():
    dlq, queue = FakeDeadLetters(), FakeQueue()
    inspector = FakeInspector(
        {
            (BUCKET, "drones/d/ok.jpg"): ObjectHead(size=5),
            (BUCKET, "drones/d/cold.jpg"): ObjectHead(size=5, storage_class="GLACIER"),
        }
    )
    readable = dlq.add(_message("drones/d/ok.jpg"))
    gone = dlq.add(_message("drones/d/gone.jpg"))
    cold = dlq.add(_message("drones/d/cold.jpg"))
    poison = dlq.add("{not json")
    reviewed = dead_letters.review(dlq, inspector, queue)
    by_id = {r.message.message_id: r for r in reviewed}
    assert by_id[readable.message_id].redriven and by_id[readable.message_id].diagnosis.retryable
    assert "no longer exists" in by_id[gone.message_id].diagnosis.reason
    assert "GLACIER" in by_id[cold.message_id].diagnosis.reason
    assert "poison" in by_id[poison.message_id].diagnosis.reason
    assert queue.sent == [readable.body] and dlq.deleted == [readable.message_id]
    assert sorted(dlq.released) == sorted([gone.message_id, cold.message_id, poison.message_id])


def test_dead_letters_without_a_queue_only_look_and_with_all_redrive_everything():
    dlq = FakeDeadLetters()
    dlq.add(_message("drones/d/gone.jpg"))
    assert not dead_letters.review(dlq, FakeInspector())[0].redriven and not dlq.deleted
    queue = FakeQueue()
    assert dead_letters.review(dlq, FakeInspector(), queue, redrive_all=True)[0].redriven
    assert len(queue.sent) == 1 and dlq.deleted == ["m0"]


# --- sync planning ------------------------------------------------------------------------------


def test_sync_uploads_only_what_the_bucket_lacks_or_holds_differently(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"aaa")
    (tmp_path / "sub" / "b.jpg").write_bytes(b"bbb")
    (tmp_path / "c.jpg").write_bytes(b"ccc")
    (tmp_path / ".hidden").write_bytes(b"h")
    prefix = sync.source_prefix("d1")
    files = sync.local_files(tmp_path, prefix)
    assert [f.key for f in files] == ["drones/d1/a.jpg", "drones/d1/c.jpg", "drones/d1/sub/b.jpg"]
    remote = {
        "drones/d1/a.jpg": (3, sync.s3_etag(tmp_path / "a.jpg", multipart=False)),
        "drones/d1/c.jpg": (3, "0" * 32),
    }
    plan = sync.plan_sync(files, remote)
    assert [f.key for f in plan.unchanged] == ["drones/d1/a.jpg"]
    assert [f.key for f in plan.upload] == ["drones/d1/c.jpg", "drones/d1/sub/b.jpg"] and plan.upload_bytes == 6
    with pytest.raises(ValueError):
        sync.source_prefix("../x")


def test_all_pages_follows_the_cursor_and_reads_no_page_it_is_not_asked_for():
    from spotter.results.query import all_pages

    asked: list[str | None] = []

    def run_query(query: PredictionQuery) -> tuple[list[PredictionRecord], str | None]:
        asked.append(query.cursor)
        n = int(query.cursor or 0)
        return [_record(f"uploads/u/b/p{n}.jpg")], (str(n + 1) if n < 3 else None)

    pages = list(all_pages(run_query, PredictionQuery(limit=1)))
    assert [p[0].file_name for p in pages] == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"] and asked == [
        None,
        "1",
        "2",
        "3",
    ]
    asked.clear()
    for _ in all_pages(run_query, PredictionQuery(limit=1, cursor="1")):
        break
    assert asked == ["1"]
