"""The local stack checks a presigned POST as S3 does (moto checks nothing): signature, expiry, every
condition of the policy, no field outside it. Unit tests of the verifier and the middleware, then
the tester's attacks replayed against `spotter up`."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import images
import pytest
import requests
from botocore.config import Config
from waiting import wait_until
from werkzeug.test import Client

from spotter.adapters.s3 import S3Presigner
from spotter.local.post_policy import (
    FormUpload,
    PolicyError,
    PostPolicyApp,
    sigv4_signature,
    verify,
)

BUCKET = "spotter-uploads"
KEY = "uploads/20260101-000000-abcdef/0b6c-red.png"
PNG = images.png(images.RED)


def _signer(secret: str = "local") -> S3Presigner:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return S3Presigner(client, BUCKET)


def _form(max_bytes: int = 1000, expires_s: int = 300, secret: str = "local") -> dict:
    return _signer(secret).upload_form(KEY, "image/png", max_bytes, expires_s, {"original-name": "red.png"})


def _upload(fields: dict, size: int = len(PNG), bucket: str = BUCKET) -> FormUpload:
    return FormUpload(bucket=bucket, fields=list(fields.items()), file_sizes=[size])


def _refused(upload: FormUpload, **kwargs) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        verify(upload, **kwargs)
    return caught.value


def _resign(fields: dict, document: dict, secret: str = "local") -> dict:
    """The form with this policy document, signed properly (a signer who chose these conditions)."""
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    _, date, region, service, _ = fields["x-amz-credential"].split("/")
    return {**fields, "policy": policy, "x-amz-signature": sigv4_signature(secret, date, region, service, policy)}


def _document(fields: dict) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


# -- the verifier --------------------------------------------------------------------------------


def test_the_apps_own_form_is_accepted():
    verify(_upload(_form()["fields"]))
    verify(_upload(_form()["fields"], size=1))
    verify(_upload(_form(max_bytes=1000)["fields"], size=1000))


def test_field_names_are_matched_without_case_as_s3_does():
    fields = {name.upper() if name.startswith("x-amz-meta") else name: v for name, v in _form()["fields"].items()}
    verify(_upload(fields))


@pytest.mark.parametrize("content_type", ["image/svg+xml", "text/html", "image/png,text/html", "IMAGE/PNG"])
def test_another_content_type_fails_its_condition(content_type):
    error = _refused(_upload({**_form()["fields"], "Content-Type": content_type}))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]'
    assert b"<Code>AccessDenied</Code>" in error.xml()


@pytest.mark.parametrize("key", ["drones/evil/pwn.svg", KEY + "x", "uploads/other/red.png"])
def test_another_key_fails_its_condition(key):
    error = _refused(_upload({**_form()["fields"], "key": key}))
    assert (error.status, error.code) == (403, "AccessDenied") and '"$key"' in error.message


def test_another_bucket_fails_its_condition():
    error = _refused(_upload(_form()["fields"], bucket="someone-elses"))
    assert (error.status, error.code) == (403, "AccessDenied") and '{"bucket": "spotter-uploads"}' in error.message


def test_signed_metadata_cannot_be_changed():
    error = _refused(_upload({**_form()["fields"], "x-amz-meta-original-name": "evil.svg"}))
    assert (error.status, error.code) == (403, "AccessDenied")


def test_a_tampered_policy_does_not_match_its_signature():
    fields = _form()["fields"]
    document = _document(fields)
    document["conditions"] = [c for c in document["conditions"] if "$Content-Type" not in c]
    tampered = {**fields, "policy": base64.b64encode(json.dumps(document).encode()).decode()}
    error = _refused(_upload({**tampered, "Content-Type": "text/html"}))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    error = _refused(_upload({**fields, "x-amz-signature": "0" * 64}))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")


def test_a_form_signed_with_another_secret_is_refused():
    error = _refused(_upload(_form(secret="not-the-local-one")["fields"]))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    unknown = _refused(_upload(_form()["fields"]), secret_for=lambda key_id: None)
    assert (unknown.status, unknown.code) == (403, "InvalidAccessKeyId")


def test_a_form_without_its_signature_fields_is_a_400():
    for name in ("x-amz-signature", "x-amz-credential", "x-amz-date"):
        fields = {k: v for k, v in _form()["fields"].items() if k != name}
        error = _refused(_upload(fields))
        assert (error.status, error.code) == (400, "InvalidArgument"), name


def test_sizes_outside_the_range_are_entity_too_small_or_too_large():
    small = _refused(_upload(_form()["fields"], size=0))
    assert (small.status, small.code, small.extra["MinSizeAllowed"]) == (400, "EntityTooSmall", "1")
    large = _refused(_upload(_form(max_bytes=1000)["fields"], size=100_000))
    assert (large.status, large.code, large.extra["MaxSizeAllowed"]) == (400, "EntityTooLarge", "1000")
    assert b"<ProposedSize>100000</ProposedSize>" in large.xml()


def test_an_expired_policy_is_refused():
    fields = _form(expires_s=60)["fields"]
    verify(_upload(fields), now=datetime.now(UTC) + timedelta(seconds=30))
    error = _refused(_upload(fields), now=datetime.now(UTC) + timedelta(seconds=61))
    assert (error.status, error.code, error.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


def test_fields_the_policy_does_not_name_are_refused():
    error = _refused(_upload({**_form()["fields"], "success_action_status": "201"}))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == "Invalid according to Policy: Extra input fields: success_action_status"
    error = _refused(_upload({**_form()["fields"], "x-amz-meta-extra": "1", "acl": "public-read"}))
    assert error.message.endswith("Extra input fields: x-amz-meta-extra, acl")
    verify(_upload({**_form()["fields"], "x-ignore-anything": "1"}))  # exempt, as on S3


def test_fields_sent_twice_or_several_files_are_refused():
    fields = list(_form()["fields"].items())
    twice = FormUpload(BUCKET, [*fields, ("key", "drones/evil/pwn.svg")], [len(PNG)])
    assert _refused(twice).code == "InvalidArgument"
    assert _refused(FormUpload(BUCKET, fields, [1, 1])).code == "InvalidArgument"
    assert _refused(FormUpload(BUCKET, fields, [])).code == "InvalidArgument"


def test_starts_with_and_simple_conditions_as_s3_reads_them():
    fields = _form()["fields"]
    document = _document(fields)
    pinned = ("$key", "$Content-Type")
    document["conditions"] = [
        c
        for c in document["conditions"]
        if not (isinstance(c, list) and c[1] in pinned) and not (isinstance(c, dict) and f"${next(iter(c))}" in pinned)
    ]
    document["conditions"] += [["starts-with", "$key", "uploads/"], {"Content-Type": "image/png"}]
    signed = _resign(fields, document)
    verify(_upload(signed))
    assert _refused(_upload({**signed, "key": "drones/x/y.png"})).code == "AccessDenied"
    assert _refused(_upload({**signed, "Content-Type": "text/html"})).code == "AccessDenied"
    verify(_upload({**signed, "key": "uploads/anything/else.png"}))


def test_a_malformed_policy_is_invalid_policy_document():
    fields = _form()["fields"]
    documents: tuple[dict[str, object], ...] = (
        {"conditions": []},
        {"expiration": "tomorrow", "conditions": []},
        {"expiration": "2999-01-01T00:00:00Z"},
    )
    for document in documents:
        error = _refused(_upload(_resign(fields, document)))
        assert (error.status, error.code) == (400, "InvalidPolicyDocument"), document
    bad = {**_document(fields), "conditions": [["matches", "$key", ".*"]]}
    assert _refused(_upload(_resign(fields, bad))).code == "InvalidPolicyDocument"


# -- the middleware ------------------------------------------------------------------------------


class _Moto:
    """Stands in for moto's app: records what reached it."""

    def __init__(self):
        self.bodies: list[bytes] = []

    def __call__(self, environ, start_response):
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("204 No Content", [])
        return [b""]


def _multipart(form: dict, data: bytes, extra: dict | None = None) -> tuple[bytes, dict]:
    prepared = requests.Request(
        "POST", form["url"], data={**form["fields"], **(extra or {})}, files={"file": ("red.png", data, "image/png")}
    ).prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.body, dict(prepared.headers)


def _send(app, form: dict, data: bytes = PNG, extra: dict | None = None):
    body, headers = _multipart(form, data, extra)
    return Client(app).post(urlsplit(form["url"]).path, data=body, headers=headers)


def test_the_middleware_hands_moto_the_body_it_checked():
    moto = _Moto()
    form = _form()
    body, headers = _multipart(form, PNG)
    response = Client(PostPolicyApp(moto)).post(f"/{BUCKET}", data=body, headers=headers)
    assert response.status_code == 204
    assert moto.bodies == [body]


def test_the_middleware_answers_a_refusal_with_s3s_xml_and_moto_never_sees_it():
    moto = _Moto()
    app = PostPolicyApp(moto)
    response = _send(app, _form(), extra={"Content-Type": "image/svg+xml"})
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/xml"
    assert b"<Code>AccessDenied</Code>" in response.data and b"Policy Condition failed" in response.data
    response = _send(app, _form(max_bytes=10))
    assert response.status_code == 400 and b"<Code>EntityTooLarge</Code>" in response.data
    response = _send(app, _form(), data=b"")
    assert response.status_code == 400 and b"<Code>EntityTooSmall</Code>" in response.data
    assert moto.bodies == []


def test_a_large_body_is_spooled_and_counted():
    moto = _Moto()
    big = b"\0" * (9 * 1024 * 1024)  # over the in-memory spool
    response = _send(PostPolicyApp(moto), _form(max_bytes=len(big)), data=big)
    assert response.status_code == 204 and len(moto.bodies[0]) > len(big)
    response = _send(PostPolicyApp(moto), _form(max_bytes=len(big) - 1), data=big)
    assert response.status_code == 400 and b"<MaxSizeAllowed>" in response.data


def test_other_requests_pass_through_untouched():
    moto = _Moto()
    app = PostPolicyApp(moto)
    client = Client(app)
    assert client.put("/bucket/key", data=b"bytes").status_code == 204
    assert (
        client.post("/", data="Action=SendMessage", content_type="application/x-www-form-urlencoded").status_code == 204
    )
    assert len(moto.bodies) == 2 and moto.bodies[0] == b"bytes"


def test_a_form_post_without_a_policy_is_anonymous_and_refused():
    moto = _Moto()
    client = Client(PostPolicyApp(moto))
    anonymous = client.post("/bucket", data={"key": "drones/evil/x.html", "file": (io.BytesIO(b"<html>"), "x")})
    assert anonymous.status_code == 403 and b"AccessDenied" in anonymous.data and moto.bodies == []


def test_a_key_field_spelled_otherwise_is_refused_not_a_server_error():
    moto = _Moto()
    form = _form()
    renamed = {("KEY" if name == "key" else name): value for name, value in form["fields"].items()}
    body, headers = _multipart({**form, "fields": renamed}, PNG)
    response = Client(PostPolicyApp(moto)).post(f"/{BUCKET}", data=body, headers=headers)
    assert response.status_code == 400 and moto.bodies == []


def test_a_malformed_multipart_body_is_refused():
    moto = _Moto()
    body, headers = _multipart(_form(), PNG)
    response = Client(PostPolicyApp(moto)).post(f"/{BUCKET}", data=body[: len(body) // 2], headers=headers)
    assert response.status_code == 400 and moto.bodies == []


# -- against `spotter up` ------------------------------------------------------------------------


def _objects(endpoints) -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoints["s3"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(s3={"addressing_style": "path"}),
    )
    listed = s3.list_objects_v2(Bucket=endpoints["bucket"])
    return [item["Key"] for item in listed.get("Contents", [])]


def test_the_testers_attacks_are_refused_by_spotter_up(spotter_up):
    e = spotter_up["endpoints"]
    declared = len(PNG)
    planned = requests.post(
        f"{e['api']}/uploads", json={"files": [{"name": "red.png", "type": "image/png", "size": declared}]}, timeout=30
    )
    assert planned.status_code == 200, planned.text
    upload = planned.json()["uploads"][0]
    fields, url = upload["fields"], upload["url"]
    document = _document(fields)
    (high,) = [c[2] for c in document["conditions"] if isinstance(c, list) and c[0] == "content-length-range"]
    before = set(_objects(e))

    def post(data: bytes, content_type: str = "image/png", **changed: str) -> requests.Response:
        return requests.post(
            url, data={**fields, **changed}, files={"file": ("red.png", data, content_type)}, timeout=60
        )

    tampered = {**document, "conditions": [c for c in document["conditions"] if "$Content-Type" not in c]}
    attacks = {
        "svg type": (post(PNG, "image/svg+xml", **{"Content-Type": "image/svg+xml"}), 403, "AccessDenied"),
        "html type": (post(b"<script>1</script>", "text/html", **{"Content-Type": "text/html"}), 403, "AccessDenied"),
        "drone key": (post(PNG, key="drones/evil/pwn.svg"), 403, "AccessDenied"),
        "tampered policy": (
            post(
                b"<svg/>",
                "image/svg+xml",
                policy=base64.b64encode(json.dumps(tampered).encode()).decode(),
                **{"Content-Type": "image/svg+xml"},
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        "empty body": (post(b""), 400, "EntityTooSmall"),
        "oversized body": (post(b"\0" * max(100 * declared, high + 1)), 400, "EntityTooLarge"),
    }
    for name, (response, status, code) in attacks.items():
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert f"<Code>{code}</Code>" in response.text, (name, response.text[:300])
    assert set(_objects(e)) == before  # nothing stored, not even under the planned key

    genuine = post(PNG)
    assert genuine.status_code == 204, genuine.text
    item = wait_until(
        lambda: requests.get(f"{e['api']}/predictions/{upload['objectId']}", timeout=5),
        30,
        until=lambda item: item.status_code == 200,
        fail=False,
    )
    assert item.status_code == 200 and item.json()["label"] == "red"
    assert set(_objects(e)) == before | {upload["key"]}
