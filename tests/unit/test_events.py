import json

import pytest

from spotter.errors import MalformedEvent
from spotter.ingest.events import objects_in_message, objects_in_s3_event
from spotter.keys import origin_of, sanitise_file_name, upload_key


def s3_record(key, name="ObjectCreated:Put", size=10):
    return {
        "eventSource": "aws:s3",
        "eventName": name,
        "eventTime": "2026-11-23T01:02:03.456Z",
        "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": size, "eTag": "abc", "sequencer": "0A1"}},
    }


def test_keys_are_url_decoded():
    objs = objects_in_s3_event({"Records": [s3_record("drones/d1/My+Photo%2B1+%C3%A9t%C3%A9.jpg")]})
    assert objs[0].key == "drones/d1/My Photo+1 été.jpg"
    assert objs[0].size == 10 and objs[0].etag == "abc" and objs[0].sequencer == "0A1"


def test_direct_sqs_and_sns_wrapped_events():
    direct = {"Records": [s3_record("a.jpg")]}
    assert [o.key for o in objects_in_s3_event(direct)] == ["a.jpg"]
    assert [o.key for o in objects_in_message(json.dumps(direct))] == ["a.jpg"]
    sns = json.dumps({"Type": "Notification", "Message": json.dumps(direct)})
    assert [o.key for o in objects_in_message(sns)] == ["a.jpg"]


def test_test_event_and_deletions_yield_nothing():
    assert objects_in_message(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert objects_in_s3_event({"Records": [s3_record("a.jpg", name="ObjectRemoved:Delete")]}) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"hello": 1}),
        json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
        json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
    ],
)
def test_malformed_messages_raise(body):
    with pytest.raises(MalformedEvent):
        objects_in_message(body)


def test_origin_of_keys():
    assert origin_of("uploads/b1/0b8f4a52-4d7e-4d3c-9a57-2a1e8c2f6b11-cat.jpg").__dict__ == {
        "source": "web",
        "batch": "b1",
        "file_name": "cat.jpg",
    }
    assert origin_of("drones/falcon/2026-11-01/flight3/img.jpg").__dict__ == {
        "source": "falcon",
        "batch": "2026-11-01/flight3",
        "file_name": "img.jpg",
    }
    assert origin_of("drones/falcon/img.jpg").batch is None
    assert origin_of("elsewhere/x.jpg").source == "unknown"
    # a non-empty object whose key ends in "/" still has a name to show
    assert origin_of("drones/falcon/sub/").file_name == "sub"
    assert origin_of("drones/falcon//").file_name == "falcon"
    assert origin_of("/").file_name == "/"


def test_sanitised_names_are_safe_and_bounded():
    assert sanitise_file_name("../../etc/passwd") == "passwd"
    assert sanitise_file_name("C:\\Users\\me\\Été 2026.JPG") == "Ete_2026.JPG"
    assert sanitise_file_name("...") == "image"
    long_name = sanitise_file_name("x" * 1000 + ".jpeg")
    assert len(long_name) <= 120 and long_name.endswith(".jpeg")
    assert upload_key("b", "u", "a b.png") == "uploads/b/u-a_b.png"


def test_sequencers_of_different_lengths_order_by_value():
    from spotter.records import sequence_key

    assert sequence_key("FF", None) < sequence_key("0100", None) < sequence_key("0000000000000000000101", None)
    assert sequence_key("00a1", None) == sequence_key("00A1", None)
