"""The decode budget (issue 13): any decode ends within a wall-time and memory limit, in a worker
process, or is rejected saying which limit; archived objects, folder markers, MPO and odd TIFFs."""

import dataclasses
import json
import struct
import time

import hostile
import images
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from spotter.config import Settings
from spotter.errors import ObjectArchived, RejectedImage
from spotter.ingest.decode_sandbox import BudgetedDecoder
from spotter.ingest.events import objects_in_s3_event
from spotter.ingest.imaging import DecodeLimits, decode_image, jpeg_layout, tiff_page_count
from spotter.ops.dead_letters import diagnose_with_heads, permanent_reason
from spotter.ports import ObjectHead

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def decoder():
    worker = BudgetedDecoder(DecodeLimits(memory_bytes=200 * MiB, seconds=5.0)).start()
    yield worker
    worker.close()


def test_budget_is_sized_from_the_function_memory_and_timeout():
    lambda_like = Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"})
    assert (lambda_like.decode_memory_mb, lambda_like.decode_seconds) == (704, 2.7)
    bigger = Settings.from_env(
        {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048", "CLASSIFY_TIMEOUT_S": "60", "CLASSIFY_BATCH_SIZE": "5"}
    )
    assert (bigger.decode_memory_mb, bigger.decode_seconds) == (1728, 11.4)
    assert Settings.from_env({"DECODE_MEMORY_MB": "300", "DECODE_SECONDS": "1.5"}).decode_memory_mb == 300


def test_a_normal_image_decodes_in_the_worker_like_inline(decoder):
    data = images.encode(images.photo_like((1200, 900)), "JPEG", quality=90)
    bounded, inline = decoder.decode(data), decode_image(data)
    assert bounded.image.size == inline.image.size and bounded.image.tobytes() == inline.image.tobytes()
    assert (bounded.width, bounded.height, bounded.format) == (1200, 900, "JPEG")


def test_over_the_memory_limit_is_a_rejection_and_the_worker_is_replaced(decoder):
    starts = decoder.starts
    with pytest.raises(RejectedImage, match="200 MB decode memory limit"):
        decoder.decode(hostile.png_zeros(8000, 8000, 8, 6))  # 256 MB of RGBA
    assert decoder.decode(images.jpeg()).image.mode == "RGB"
    assert decoder.starts == starts + 1


def test_over_the_time_limit_the_worker_is_killed_and_the_next_image_is_unaffected():
    slow = BudgetedDecoder(DecodeLimits(seconds=0.02)).start()
    try:
        started = time.monotonic()
        with pytest.raises(RejectedImage, match=r"longer than the 0.02 s time limit"):
            slow.decode(hostile.png_zeros(6000, 6000, 16, 0))  # ~0.2 s to inflate and scale on a quiet machine
        assert time.monotonic() - started < 3.0  # killed at the limit, not left to finish (a loaded CI machine)
        # the next image gets a fresh worker; a roomier limit, or a loaded machine times out even a small JPEG
        slow.limits = dataclasses.replace(slow.limits, seconds=10.0)
        assert slow.decode(images.jpeg()).image.mode == "RGB"
        assert slow.starts == 2
    finally:
        slow.close()


def test_the_invocations_remaining_time_lowers_the_limit(decoder):
    with pytest.raises(RejectedImage, match=r"0\.05 s time limit"):
        decoder.decode(hostile.png_zeros(4000, 4000, 16, 0), seconds=0.05)


def test_known_traps_are_refused_before_decoding_with_how_far_over():
    with pytest.raises(RejectedImage, match=r"TIFF has 20,000 pages, over the 10,000-page limit by 10,000"):
        decode_image(hostile.tiff_pages(20_000))
    assert tiff_page_count(hostile.tiff_pages(300)) == 300
    with pytest.raises(RejectedImage, match=r"JPEG has 1,00\d scans, over the 100-scan limit"):
        decode_image(hostile.jpeg_repeated_scan(1000))
    progressive = images.encode(images.photo_like((64, 48)), "JPEG", progressive=True)
    layout = jpeg_layout(progressive, 1000)
    assert layout is not None and layout.scans <= 10 and layout.progressive
    with pytest.raises(RejectedImage, match=r"needs at least .* over the 50.0 MB decode memory limit by"):
        decode_image(hostile.pa_tiff(4000), limits=DecodeLimits(memory_bytes=50 * MiB))


def test_the_first_picture_of_an_mpo_is_classified():
    decoded = decode_image(hostile.mpo(images.RED, images.BLUE))
    assert decoded.format == "MPO" and decoded.frames == 2
    pixel = decoded.image.getpixel((10, 10))
    assert isinstance(pixel, tuple)
    r, _g, b = pixel
    assert r > 200 and b < 60


@pytest.mark.parametrize(
    "bits, fmt, samples, word", [(64, 3, 1, "64-bit floating-point"), (16, 3, 1, "16-bit floating-point")]
)
def test_unreadable_tiff_sample_layouts_are_named_truly(bits, fmt, samples, word):
    with pytest.raises(RejectedImage) as caught:
        decode_image(hostile.tiff_samples(bits, fmt, samples))
    assert word in caught.value.reason and "not a recognised" not in caught.value.reason


def test_float_and_32_bit_tiffs_are_classified():
    assert decode_image(hostile.tiff_samples(32, 3, value=struct.pack("<f", 0.5))).image.mode == "RGB"
    assert decode_image(hostile.tiff_samples(32, 2)).image.mode == "RGB"


def test_palette_alpha_and_rotation_are_reduced_before_they_are_expanded():
    decoded = decode_image(hostile.rotated(Image.new("RGBA", (1200, 800), (255, 0, 0, 0)), "PNG", 6))
    assert (decoded.width, decoded.height) == (800, 1200) and decoded.image.width < decoded.image.height
    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)  # transparent -> white, after the reduction
    palette = decode_image(hostile.png_palette_zeros(2000, 1000))
    assert palette.image.size == (1000, 500)


# ---- composed traps: huge declared size, many frames, palette + alpha + rotation ----------------


def _compose(kind: str, side: int, frames: int, orientation: int) -> bytes:
    if kind == "palette+alpha":
        data = hostile.png_palette_zeros(side, side // 2 + 1)
    elif kind == "PA TIFF":
        data = hostile.pa_tiff(side)
    elif kind == "pages":
        data = hostile.tiff_pages(frames, 2, 2)
    elif kind == "scans":
        data = hostile.jpeg_repeated_scan(frames)
    else:  # an RGBA picture with many frames and a lying declared size
        first = Image.new("RGBA", (side, side), (0, 0, 255, 100))
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = images.encode(
            first,
            "GIF" if kind == "gif" else "PNG",
            save_all=True,
            append_images=[first] * min(frames, 20),
            duration=10,
            **({} if kind == "gif" else {"exif": exif.tobytes()}),
        )
        if kind == "declared":  # IHDR claims 40x the real size on each side
            data = data[:16] + struct.pack(">II", side * 40, side * 40) + data[24:]
    return data


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(["palette+alpha", "PA TIFF", "pages", "scans", "gif", "apng", "declared"]),
    side=st.integers(1, 2500),
    frames=st.integers(1, 30_000),
    orientation=st.integers(0, 9),
)
def test_composed_traps_end_within_the_budget(decoder, kind, side, frames, orientation):
    data = _compose(kind, side, frames, orientation)
    started = time.monotonic()
    try:
        decoded = decoder.decode(data, (32, 32))
        assert decoded.image.mode == "RGB" and decoded.frames >= 1
    except RejectedImage as rejection:
        assert rejection.reason.strip()
    assert time.monotonic() - started < decoder.limits.seconds + 2  # a worker restart included


# ---- every object ends in one record or is skipped on purpose -------------------------------------


def _event(key: str, size: int) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": size}},
            }
        ]
    }


def test_zero_byte_folder_markers_are_skipped_but_files_are_not():
    assert objects_in_s3_event(_event("drones/x/sub/", 0)) == []
    assert objects_in_s3_event(_event("drones/x/sub_%24folder%24", 0)) == []
    assert len(objects_in_s3_event(_event("drones/x/sub/a.jpg", 0))) == 1  # an empty file: a rejected record


def test_archived_objects_are_rejected_saying_why(moto):
    import boto3

    from spotter.adapters.s3 import S3Objects

    s3 = boto3.client(
        "s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket="budget-archive")
    for storage_class in ("GLACIER", "DEEP_ARCHIVE"):
        s3.put_object(
            Bucket="budget-archive", Key=f"drones/a/{storage_class}.jpg", Body=images.jpeg(), StorageClass=storage_class
        )
        with pytest.raises(ObjectArchived) as caught:
            S3Objects(s3).read("budget-archive", f"drones/a/{storage_class}.jpg", 1000)
        assert storage_class in caught.value.reason and "restore" in caught.value.reason
        assert isinstance(caught.value, RejectedImage)


def test_dlq_never_calls_an_archived_object_or_a_folder_marker_retryable():
    body = json.dumps(_event("drones/x/a.jpg", 10))
    from fakes import FakeInspector

    archived = ObjectHead(size=10, storage_class="DEEP_ARCHIVE")
    diagnosis = diagnose_with_heads(body, 3, FakeInspector({("b", "drones/x/a.jpg"): archived}))
    assert not diagnosis.retryable and "DEEP_ARCHIVE" in diagnosis.reason
    restored = ObjectHead(size=10, storage_class="GLACIER", restore='ongoing-request="false", expiry-date="x"')
    assert diagnose_with_heads(body, 3, FakeInspector({("b", "drones/x/a.jpg"): restored})).retryable
    assert permanent_reason(ObjectHead(size=0), "drones/x/sub/")
    assert permanent_reason(ObjectHead(size=5, storage_class="STANDARD"), "drones/x/a.jpg") is None


@pytest.mark.parametrize("sent, outcome", [("SIGKILL", "retried"), ("SIGSEGV", "rejected")])
def test_a_worker_killed_from_outside_is_retried_a_crash_is_the_files(sent, outcome):
    import os
    import signal
    import threading

    from spotter.errors import DecoderLost

    worker = BudgetedDecoder(DecodeLimits(seconds=30.0)).start()
    slow = hostile.png_zeros(9400, 9400, 16, 0)  # ~0.6 s to decode: killed a tenth of the way in
    try:
        process = worker._process
        assert process is not None  # started
        timer = threading.Timer(0.05, lambda: os.kill(process.pid, getattr(signal, sent)))
        timer.start()
        expected = DecoderLost if outcome == "retried" else RejectedImage
        with pytest.raises(expected):
            worker.decode(slow)
        timer.join()
        assert worker.decode(images.jpeg()).image.mode == "RGB"  # a fresh worker takes the next image
    finally:
        worker.close()


def _apng_declaring(frames: int) -> bytes:
    """A real 2-frame APNG whose acTL chunk claims `frames` frames."""
    import io
    import zlib

    first, second = images.solid(images.RED), images.solid(images.BLUE)
    buffer = io.BytesIO()
    first.save(buffer, "PNG", save_all=True, append_images=[second])
    data = bytearray(buffer.getvalue())
    at = data.index(b"acTL")
    data[at + 4 : at + 8] = struct.pack(">I", frames)
    data[at + 12 : at + 16] = struct.pack(">I", zlib.crc32(bytes(data[at : at + 12])))
    return bytes(data)


def test_a_declared_frame_count_over_the_limit_is_refused_in_every_format():
    assert decode_image(_apng_declaring(3)).frames == 3
    with pytest.raises(RejectedImage, match=r"declares 2,147,483,647 frames, over the 10,000-frame limit"):
        decode_image(_apng_declaring(2**31 - 1))


# ---- the worker fits the picture to the model's input: only that comes back -----------------------


@pytest.mark.parametrize("resize", ["squash", "center_crop", "pad"])
@pytest.mark.parametrize(
    "data",
    [
        images.encode(images.photo_like((1800, 1200)), "JPEG", quality=90),  # drafted, then fitted
        images.rgba_png(alpha=120),  # flattened onto white, then fitted
        hostile.rotated(Image.new("RGBA", (300, 200), (255, 0, 0, 40)), "PNG", 6),
    ],
    ids=["jpeg", "rgba png", "rotated rgba png"],
)
def test_the_worker_fits_the_picture_exactly_as_the_classifier_would(decoder, data, resize):
    from spotter.model.preprocess import InputContract

    contract = InputContract(size=(40, 30), resize=resize, pad_colour=(10, 20, 30))
    fitted = decoder.decode(data, contract.size, fit=contract)
    inline = decode_image(data, contract.size)
    assert fitted.image.size == contract.size and fitted.fit_ms is not None
    assert fitted.image.tobytes() == contract.apply(inline.image).tobytes()
    assert contract.apply(fitted.image).tobytes() == fitted.image.tobytes()  # the classifier's fit: a copy
    assert (fitted.width, fitted.height, fitted.format) == (inline.width, inline.height, inline.format)
    assert decoder.decode(data, contract.size).fit_ms is None  # no contract: the decoded picture


def test_the_fit_runs_inside_the_budget(decoder):
    """A card that pads a thin picture to a square asks for a canvas of its long side squared: in the
    worker that is an allocation over the cap, a rejection, not the caller's memory."""
    from spotter.model.preprocess import InputContract

    thin = images.encode(Image.new("RGB", (40, 9000), (200, 10, 10)), "PNG")  # pads to 9000x9000: 324 MB
    starts = decoder.starts
    with pytest.raises(RejectedImage, match="200 MB decode memory limit"):
        decoder.decode(thin, (32, 32), fit=InputContract(size=(32, 32), resize="pad"))
    assert decoder.decode(images.jpeg()).image.mode == "RGB" and decoder.starts == starts + 1


def test_the_classify_service_gets_the_same_prediction_through_the_worker(int8_model):
    from fakes import FakeObjects, FakePredictions

    from spotter.ingest.events import S3Object
    from spotter.ingest.pipeline import ClassifyService
    from spotter.model.classifier import Classifier

    classifier = Classifier.load(int8_model)
    data = images.encode(images.photo_like((1600, 1200), tint=images.BLUE), "JPEG", quality=90)
    objects, limits = FakeObjects({("b", "drones/x/a.jpg"): data}), DecodeLimits(memory_bytes=200 * MiB, seconds=5.0)
    bounded = BudgetedDecoder(limits).start()
    try:
        records = []
        for decoder in (None, bounded):
            store = FakePredictions()
            service = ClassifyService(objects, store, classifier, limits=limits, decoder=decoder)
            outcome = service.classify(S3Object("b", "drones/x/a.jpg", size=len(data)))
            assert outcome.record is not None
            records.append(outcome.record)
        inline, worker = records
        assert (worker.status, worker.label, worker.top) == (inline.status, inline.label, inline.top)
        assert worker.preprocess_ms is not None and worker.preprocess_ms > 0  # the worker's fit is counted
        assert worker.decode_ms is not None and worker.decode_ms < 5000
    finally:
        bounded.close()


# ---- a worker that answers wrongly, or dies answering: rejected or retried, and replaced ----------

_FAKE_WORKER = r"""
import json, os, signal, struct, sys, time

HEADER = struct.Struct(">Q")
mode, marker, args = sys.argv[1], sys.argv[2], sys.argv[-2:]
if os.path.exists(marker):  # the second worker onwards: the real one
    os.execv(sys.executable, [sys.executable, "-m", "spotter.ingest.decode_sandbox", *args])
open(marker, "w").close()
rfd, wfd = 0, 1
os.write(wfd, HEADER.pack(1))  # ready


def read(n):
    got = b""
    while len(got) < n:
        chunk = os.read(rfd, n - len(got))
        if not chunk:
            sys.exit(0)
        got += chunk
    return got


job = json.loads(read(HEADER.unpack(read(HEADER.size))[0]))
stats = {"seconds": 0.0, "peak": 0, "rss": 0, "size": 0, "baseline": 0, "start_rss": 0}
ok = {"mode": "RGB", "size": [40, 30], "length": 3600, "width": 64, "height": 48, "format": "JPEG",
      "frames": 1, "field": {}, "decode_ms": 1.0, "fit_ms": 1.0}
bodies = {
    "not json": b"\x80{this is not JSON",
    "wrong shape": json.dumps({"kind": "ok"}).encode(),
    "wrong size": json.dumps((("ok", {**ok, "size": [640, 480], "length": 3 * 640 * 480}), stats)).encode(),
    "huge picture": json.dumps((("ok", {**ok, "size": [10**6, 10**6], "length": 3 * 10**12}), stats)).encode(),
    "short file": json.dumps((("ok", {**ok, "length": 3600}), stats)).encode(),
    "odd reason": json.dumps((("rejected", {"not": "a reason"}), stats)).encode(),
    "odd kind": json.dumps((("exploded", None), stats)).encode(),
    "bad stats": json.dumps((("rejected", "no"), {"seconds": "x"})).encode(),
    "infinite size": json.dumps((("ok", {**ok, "size": [float("inf"), 1]}), stats)).encode(),
    "deep nesting": b"[" * 200_000 + b"]" * 200_000,
}
if mode == "short file":
    os.ftruncate(int(args[1]), 100)  # fewer bytes in the shared file than the reply announces
if mode == "huge header":
    os.write(wfd, HEADER.pack(2**62))
    time.sleep(30)
body = bodies.get(mode, json.dumps((("rejected", "x" * 400), stats)).encode())
if mode in ("killed mid-reply", "crashed mid-reply", "exits mid-reply", "stalls mid-reply"):
    os.write(wfd, HEADER.pack(len(body)) + body[:7])
    if mode == "stalls mid-reply":
        time.sleep(30)
    if mode == "exits mid-reply":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL if mode == "killed mid-reply" else signal.SIGSEGV)
os.write(wfd, HEADER.pack(len(body)) + body)
time.sleep(30)
"""


def _misbehaving(tmp_path, mode: str, seconds: float = 5.0) -> BudgetedDecoder:
    """A decoder whose first worker answers its first job as `mode` says; the workers after it are real."""
    import shlex
    import sys

    script = tmp_path / "fake_worker.py"
    script.write_text(_FAKE_WORKER)
    python = tmp_path / "python"
    python.write_text(
        f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(script))} "
        f'{shlex.quote(mode)} {shlex.quote(str(tmp_path / "used"))} "$@"\n'
    )
    python.chmod(0o755)
    return BudgetedDecoder(DecodeLimits(memory_bytes=200 * MiB, seconds=seconds), python=str(python)).start()


@pytest.mark.parametrize(
    "mode",
    [
        "not json",
        "wrong shape",
        "wrong size",
        "huge picture",
        "short file",
        "odd reason",
        "odd kind",
        "bad stats",
        "infinite size",
        "deep nesting",
        "huge header",
    ],
)
def test_a_reply_that_does_not_add_up_is_a_rejection_and_the_worker_is_replaced(tmp_path, mode):
    from spotter.model.preprocess import InputContract

    contract = InputContract(size=(40, 30))
    worker = _misbehaving(tmp_path, mode)
    try:
        started = time.monotonic()
        with pytest.raises(RejectedImage, match="sent back a reply that does not add up; it was replaced"):
            worker.decode(images.jpeg(), contract.size, fit=contract)
        assert time.monotonic() - started < 2.0  # not left to the time limit
        assert worker.decode(images.jpeg(), contract.size, fit=contract).image.size == (40, 30)
        assert worker.starts == 2
    finally:
        worker.close()


@pytest.mark.parametrize(
    "mode, expected, says",
    [
        ("killed mid-reply", "DecoderLost", "killed from outside"),
        ("crashed mid-reply", "RejectedImage", r"crashed on this file \(signal 11 \(SIGSEGV\)\)"),
        ("exits mid-reply", "RejectedImage", r"crashed on this file \(exit 3\)"),
        ("stalls mid-reply", "RejectedImage", r"longer than the 0.5 s time limit"),
    ],
)
def test_a_worker_that_dies_or_stalls_mid_reply_is_replaced(tmp_path, mode, expected, says):
    from spotter.errors import DecoderLost

    worker = _misbehaving(tmp_path, mode, seconds=0.5)
    try:
        with pytest.raises(DecoderLost if expected == "DecoderLost" else RejectedImage, match=says):
            worker.decode(images.jpeg())
        assert worker.decode(images.jpeg()).image.mode == "RGB"
        assert worker.starts == 2
    finally:
        worker.close()


# ---- the worker maps the caller's bytes instead of copying them: decoding them is the same ---------


def _outcome(data, limits: DecodeLimits):
    """What decode_image makes of `data`: the reason, or the picture and what is said about it."""
    try:
        decoded = decode_image(data, (32, 32), limits)
    except RejectedImage as rejection:
        return ("rejected", rejection.reason)
    image = decoded.image
    return ("ok", image.size, image.tobytes(), decoded.width, decoded.height, decoded.format, decoded.frames)


_COMPARED = DecodeLimits(memory_bytes=200 * MiB)


def _both_ways(data: bytes, limits: DecodeLimits = _COMPARED) -> None:
    import mmap
    import os

    fd = os.memfd_create("spotter-test", 0)
    try:
        os.write(fd, data)
        mapped = mmap.mmap(fd, len(data), prot=mmap.PROT_READ) if data else b""
        try:
            assert _outcome(mapped, limits) == _outcome(data, limits)
        finally:
            if isinstance(mapped, mmap.mmap):
                mapped.close()  # would raise BufferError if decode_image had kept a view of it
    finally:
        os.close(fd)


def test_mapped_bytes_decode_as_bytes_do_for_every_hostile_kind():
    for case in hostile.catalogue():
        _both_ways(case.data)
    for data, _name, _reason in images.bad_and_odd_files().values():
        _both_ways(data)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    sample=st.sampled_from(sorted(hostile._valid_samples().items())),
    cut=st.integers(0, 100),
    garbage=st.binary(max_size=64),
    at=st.integers(0, 100),
)
def test_mapped_bytes_decode_as_bytes_do_when_damaged(sample, cut, garbage, at):
    data = sample[1][: max(1, len(sample[1]) * cut // 100)]
    where = len(data) * at // 100
    _both_ways(data[:where] + garbage + data[where + len(garbage) :])


def test_mapped_file_reads_and_seeks_as_bytesio_does():
    import io
    import mmap
    import os

    from spotter.ingest.imaging import _file

    data = bytes(range(256)) * 40 + b"line one\nline two\n"
    fd = os.memfd_create("spotter-test", 0)
    os.write(fd, data)
    mapped = mmap.mmap(fd, len(data), prot=mmap.PROT_READ)
    ours, theirs = _file(mapped), io.BytesIO(data)
    steps: list[tuple[str, *tuple[int, ...]]] = [
        ("read", 10),
        ("seek", 5000, 0),
        ("read", 100),
        ("seek", -20, 1),
        ("tell",),
        ("seek", -10, 2),
        ("readline",),
        ("read", -1),
        ("read", 5),
        ("seek", 10**6, 0),  # past the end: allowed, and nothing to read there
        ("read", 5),
        ("tell",),
        ("seek", -(10**7), 1),  # before the start, relatively: clamped to 0
        ("tell",),
        ("read",),
    ]
    for name, *args in steps:
        assert getattr(ours, name)(*args) == getattr(theirs, name)(*args), (name, args)
    for bad in ((-1, 0), (0, 3)):
        with pytest.raises(ValueError):
            theirs.seek(*bad)
        with pytest.raises(ValueError):
            ours.seek(*bad)
    with pytest.raises(OSError):  # no file descriptor (libtiff then reads from Python, as with BytesIO)
        ours.fileno()
    ours.close()
    mapped.close()  # no view of the mapping is left
    os.close(fd)


def test_a_detectors_tiles_are_cut_and_fitted_in_the_worker_exactly_as_inline(decoder):
    """A detector's photo goes to the worker whole and comes back as its views (the whole photo and
    each tile, fitted to the input): the full-resolution picture never leaves the worker."""
    from spotter.model.preprocess import InputContract
    from spotter.model.tiling import Tiling, cut_views

    contract, tiling = InputContract(size=(300, 300)), Tiling(tile=768, overlap=0.2, max_tiles=36)
    data = images.encode(images.photo_like((3000, 2000)), "JPEG", quality=90)
    bounded = decoder.decode(data, contract.size, use_draft=False, fit=contract, tiling=tiling)
    inline = decode_image(data, contract.size, use_draft=False)
    plan = tiling.plan(inline.width, inline.height)
    expected = cut_views(inline.image, plan, contract)
    assert bounded.plan == plan and len(bounded.views) == len(plan.regions) + 1 > 1
    for got, want in zip(bounded.views, expected, strict=True):
        assert got.region == pytest.approx(want.region) and got.window == want.window
        assert got.image.size == (300, 300) and got.image.tobytes() == want.image.tobytes()
    assert bounded.image.tobytes() == expected[0].image.tobytes()
    assert (bounded.width, bounded.height) == (3000, 2000)
