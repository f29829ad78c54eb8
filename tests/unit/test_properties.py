"""Property-based tests (Hypothesis): the decoder and the event parser on inputs nobody wrote down.

decode_image: any bytes, and damaged valid images, give an RGB picture or RejectedImage with a
reason, never another exception. Event parsing: any JSON gives a list of S3Object or
MalformedEvent, and object keys survive S3's URL encoding. Derandomized, so CI is repeatable.
"""

import io
import json
from urllib.parse import quote, quote_plus

import hostile
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from spotter.errors import MalformedEvent, RejectedImage
from spotter.ingest.events import S3Object, objects_in_message, objects_in_s3_event
from spotter.ingest.imaging import decode_image, to_rgb

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SAMPLES = dict(hostile._valid_samples().items())


def decodes_or_rejects(data: bytes) -> None:
    try:
        decoded = decode_image(data, target_size=(32, 32))
    except RejectedImage as rejection:
        assert isinstance(rejection.reason, str) and rejection.reason.strip()
        return
    assert decoded.image.mode == "RGB"
    assert decoded.image.width >= 1 and decoded.image.height >= 1
    assert decoded.width >= 1 and decoded.height >= 1 and decoded.frames >= 1
    decoded.image.resize((8, 8))  # the pixels are really there


@FAST
@given(st.binary(max_size=2048))
def test_any_bytes_decode_or_are_rejected_with_a_reason(data):
    decodes_or_rejects(data)


@FAST
@given(
    st.sampled_from(sorted(SAMPLES)).flatmap(
        lambda fmt: st.tuples(
            st.just(fmt),
            st.lists(
                st.tuples(
                    st.integers(0, len(SAMPLES[fmt]) - 1),
                    st.integers(0, 255),
                    st.sampled_from(["set", "xor", "cut", "dup"]),
                ),
                min_size=1,
                max_size=8,
            ),
        )
    )
)
def test_damaged_valid_images_decode_or_are_rejected_with_a_reason(fmt_and_edits):
    fmt, edits = fmt_and_edits
    data = bytearray(SAMPLES[fmt])
    for position, value, how in edits:
        if not data:
            break
        position %= len(data)
        if how == "set":
            data[position] = value
        elif how == "xor":
            data[position] ^= value or 1
        elif how == "cut":
            del data[position:]
        else:
            data[position:position] = data[position : position + value]
    decodes_or_rejects(bytes(data))


@FAST
@given(st.sampled_from(sorted(SAMPLES)), st.binary(min_size=1, max_size=64), st.integers(0, 100))
def test_valid_headers_with_garbage_bodies_decode_or_are_rejected(fmt, garbage, keep_percent):
    data = SAMPLES[fmt]
    decodes_or_rejects(data[: len(data) * keep_percent // 100] + garbage)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.sampled_from(["F", "I", "I;16"]).flatmap(
        lambda mode: st.tuples(
            st.just(mode),
            arrays(
                {"F": np.float32, "I": np.int32, "I;16": np.uint16}[mode],
                st.tuples(st.integers(1, 12), st.integers(1, 12)),
            ),
        )
    )
)
def test_high_depth_pixels_of_any_value_become_rgb(mode_and_pixels):
    _mode, pixels = mode_and_pixels  # NaN, infinities, negatives, the full integer ranges
    rgb = to_rgb(Image.fromarray(pixels))
    assert rgb.mode == "RGB" and rgb.size == (pixels.shape[1], pixels.shape[0])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.sampled_from(["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I", "I;16", "F"]),
    st.integers(1, 2000),
    st.integers(1, 3),
)
def test_every_mode_and_shape_becomes_rgb_at_least_twice_the_target(mode, long_side, aspect):
    size = (long_side, max(1, long_side // (aspect * 7)))
    decoded = decode_image(_tiff(Image.new(mode, size)), target_size=(32, 32))
    assert decoded.image.mode == "RGB" and (decoded.width, decoded.height) == size
    assert min(decoded.image.size) >= min(min(size), 64)  # reduced, but never below twice the target


def _tiff(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="tiff_deflate" if image.mode == "YCbCr" else None)
    return buffer.getvalue()


# ---- S3 notifications ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)


def _record_like():
    """Dicts shaped like an S3 record, with any JSON in any place: the parser's interesting inputs."""
    leaf = json_values
    return st.fixed_dictionaries(
        {
            "eventSource": st.sampled_from(["aws:s3", "aws:sqs", "x"]) | leaf,
            "eventName": st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", "ObjectCreated:Copy"]) | leaf,
            "s3": st.fixed_dictionaries(
                {
                    "bucket": st.fixed_dictionaries({"name": st.text(max_size=10) | leaf}) | leaf,
                    "object": st.fixed_dictionaries(
                        {},
                        optional={
                            "key": st.text(max_size=30) | leaf,
                            "size": st.integers(0, 10**12) | leaf,
                            "eTag": leaf,
                            "versionId": leaf,
                            "sequencer": leaf,
                        },
                    )
                    | leaf,
                }
            )
            | leaf,
        },
        optional={"eventTime": leaf},
    )


def parses_or_is_malformed(parse, value) -> None:
    try:
        objects = parse(value)
    except MalformedEvent as error:
        assert str(error)
        return
    assert isinstance(objects, list) and all(isinstance(o, S3Object) for o in objects)


@FAST
@given(json_values | st.fixed_dictionaries({"Records": st.lists(_record_like() | json_values, max_size=3)}))
def test_any_json_event_gives_objects_or_malformed_event(event):
    parses_or_is_malformed(objects_in_s3_event, event)
    parses_or_is_malformed(objects_in_message, json.dumps(event))
    parses_or_is_malformed(objects_in_message, json.dumps({"Type": "Notification", "Message": json.dumps(event)}))


@FAST
@given(st.text(max_size=200))
def test_any_message_body_gives_objects_or_malformed_event(body):
    parses_or_is_malformed(objects_in_message, body)


s3_keys = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=300).filter(
    lambda key: len(key.encode("utf-8")) <= 1024
)


def _notification(encoded_key: str) -> str:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "s3": {"bucket": {"name": "b"}, "object": {"key": encoded_key, "size": 1, "eTag": "e"}},
    }
    return json.dumps({"Records": [record]})


@FAST
@given(s3_keys)
def test_keys_round_trip_through_s3_url_encoding(key):
    for encoded in (quote_plus(key), quote_plus(key, safe="/"), quote(key, safe="/").replace("%20", "+")):
        [obj] = objects_in_message(_notification(encoded))
        assert obj.key == key


@FAST
@given(s3_keys)
def test_keys_round_trip_inside_sns_and_sqs_envelopes(key):
    body = json.dumps({"Type": "Notification", "Message": _notification(quote_plus(key))})
    [obj] = objects_in_message(body)
    assert obj.key == key


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000], ids=["arrays", "objects"])
def test_absurdly_nested_json_is_malformed(body):
    with pytest.raises(MalformedEvent):
        objects_in_message(body)
