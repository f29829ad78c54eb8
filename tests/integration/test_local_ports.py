"""The local stack's ports refuse what another web page (or a DNS-rebinding one) could send them:
cross-origin requests to moto beyond the page's own uploads and reads, and any `Host` but the server's own."""

import json
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from spotter.local.request_guard import host_allowed

EVIL = "http://evil.example"
DDB_JSON = "application/x-amz-json-1.0"


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _forged_record(e: dict) -> dict:
    return {
        "TableName": e["table"],
        "Item": {
            "object_id": {"S": "forged"},
            "model": {"S": "forged"},
            "label": {"S": "malignant"},
            "score": {"N": "0.99"},
        },
    }


@pytest.fixture(scope="module")
def dynamodb(spotter_up):
    e = spotter_up["endpoints"]
    return boto3.client(
        "dynamodb",
        endpoint_url=e["s3"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_another_origin_cannot_preflight_or_call_dynamodb_on_motos_port(spotter_up, dynamodb):
    e = spotter_up["endpoints"]
    preflight = requests.options(
        e["s3"] + "/",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
        timeout=5,
    )
    assert preflight.status_code == 403
    assert not any(name.lower().startswith("access-control-") for name in preflight.headers)

    for target in ("DynamoDB_20120810.Scan", "DynamoDB_20120810.PutItem"):
        body = {"TableName": e["table"]} if target.endswith("Scan") else _forged_record(e)
        answer = requests.post(
            e["s3"] + "/",
            data=json.dumps(body),
            headers={"Origin": EVIL, "Content-Type": DDB_JSON, "X-Amz-Target": target},
            timeout=5,
        )
        assert answer.status_code == 403, answer.text
        assert "Access-Control-Allow-Origin" not in answer.headers
        assert "Items" not in answer.text
    # even the page's own origin has no business with DynamoDB on moto's port
    page = e["web"].rstrip("/")
    answer = requests.post(
        e["s3"] + "/",
        data=json.dumps(_forged_record(e)),
        headers={"Origin": page, "Content-Type": DDB_JSON, "X-Amz-Target": "DynamoDB_20120810.PutItem"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert "Item" not in dynamodb.get_item(
        TableName=e["table"], Key={"object_id": {"S": "forged"}, "model": {"S": "forged"}}
    )


def test_a_cross_site_form_or_link_cannot_reach_the_query_apis(spotter_up):
    """A form (text/plain or urlencoded, no preflight) or a link carries the action in its body or query."""
    e = spotter_up["endpoints"]
    action = {"Action": "SendMessage", "QueueUrl": e["queue"], "MessageBody": "forged"}
    form = requests.post(
        e["s3"] + "/",
        data=action,
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
        timeout=5,
    )
    assert form.status_code == 403
    link = requests.get(
        e["s3"] + "/",
        params=action,
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
        timeout=5,
    )
    assert link.status_code == 403
    dashboard = requests.get(
        e["s3"] + "/moto-api/data.json",
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
        timeout=5,
    )
    assert dashboard.status_code == 403


def test_the_pages_origin_may_preflight_its_upload_and_another_may_not(spotter_up):
    e = spotter_up["endpoints"]
    bucket_url = f"{e['s3']}/{e['bucket']}"
    page = e["web"].rstrip("/")
    mine = requests.options(bucket_url, headers={"Origin": page, "Access-Control-Request-Method": "POST"}, timeout=5)
    assert mine.status_code == 200 and mine.headers.get("Access-Control-Allow-Origin") == page
    theirs = requests.options(bucket_url, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}, timeout=5)
    assert theirs.status_code == 403 and "Access-Control-Allow-Origin" not in theirs.headers
    put = requests.put(f"{bucket_url}/uploads/forged.png", data=b"x", headers={"Origin": page}, timeout=5)
    assert put.status_code == 403  # the page uploads with a signed POST only


def _s3(e: dict):
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=e["s3"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4"),
    )


POLYGLOT = b"\xff\xd8\xff\xe0 not really a JPEG <html><script>document.title='pwned'</script></html>"
NAVIGATE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def test_a_browser_reads_objects_only_through_genuine_presigned_links_and_never_as_a_page(spotter_up, dynamodb):
    """The fifth trial: a forged presign (signature 00) with response-content-type=text/html served an
    uploaded file as HTML on moto's origin, whose script then listed the bucket, scanned and changed the
    table with forged SigV4 headers, as requests from moto's own origin were let through."""
    e = spotter_up["endpoints"]
    s3 = _s3(e)
    key = "drones/mallory/poly.jpg"
    s3.put_object(Bucket=e["bucket"], Key=key, Body=POLYGLOT, ContentType="image/jpeg")
    url = f"{e['s3']}/{e['bucket']}/{key}"
    forged = (
        "?response-content-type=text%2Fhtml&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=x%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T035541Z"
        "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
    )
    assert requests.get(url + forged, headers=NAVIGATE, timeout=5).status_code == 403
    assert (
        requests.get(url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, timeout=5).status_code
        == 403
    )

    as_html = s3.generate_presigned_url(
        "get_object", Params={"Bucket": e["bucket"], "Key": key, "ResponseContentType": "text/html"}, ExpiresIn=60
    )
    assert requests.get(as_html, headers=NAVIGATE, timeout=5).status_code == 403  # signed, but not a raster type
    genuine = s3.generate_presigned_url(
        "get_object", Params={"Bucket": e["bucket"], "Key": key, "ResponseContentType": "image/jpeg"}, ExpiresIn=60
    )
    shown = requests.get(genuine, headers=NAVIGATE, timeout=5)
    assert shown.status_code == 200 and shown.content == POLYGLOT
    assert shown.headers["Content-Type"] == "image/jpeg" and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown.headers["Content-Security-Policy"]  # even served as HTML, no script would run
    assert requests.get(genuine.replace("Expires=60", "Expires=61"), headers=NAVIGATE, timeout=5).status_code == 403
    assert requests.get(genuine, timeout=5).status_code == 200  # not a browser: an SDK or curl

    # a script on moto's own origin is a browser like any other
    own = e["s3"].rstrip("/")
    same_origin = {"Origin": own, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    fake_auth = "AWS4-HMAC-SHA256 Credential=local/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
    listing = requests.get(
        f"{e['s3']}/{e['bucket']}?list-type=2", headers={**same_origin, "Authorization": fake_auth}, timeout=5
    )
    assert listing.status_code == 403 and key not in listing.text
    scan = requests.post(
        e["s3"] + "/",
        data=json.dumps({"TableName": e["table"]}),
        headers={**same_origin, "Content-Type": DDB_JSON, "X-Amz-Target": "DynamoDB_20120810.Scan"},
        timeout=5,
    )
    assert scan.status_code == 403 and "Items" not in scan.text
    put = requests.put(f"{e['s3']}/{e['bucket']}/uploads/evil/x.jpg", data=b"x", headers=same_origin, timeout=5)
    assert put.status_code == 403
    navigated = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert requests.get(f"{e['s3']}/{e['bucket']}?list-type=2", headers=navigated, timeout=5).status_code == 403


def test_an_image_shown_to_another_origin_is_never_readable_by_it(spotter_up):
    """The sixth trial: an <img> of a link (no Origin) got `Access-Control-Allow-Origin: *`, and
    Chromium reused that cached response for the other origin's later fetch(), which then read the
    bytes. A link carrying ?acl, ?tagging or a download name passed as an object read."""
    e = spotter_up["endpoints"]
    s3 = _s3(e)
    key = "drones/falcon-2/DCIM/IMG_0001.JPG"
    s3.put_object(Bucket=e["bucket"], Key=key, Body=b"\xff\xd8\xff\xe0 jpeg", ContentType="image/jpeg")
    link = s3.generate_presigned_url("get_object", Params={"Bucket": e["bucket"], "Key": key}, ExpiresIn=60)
    as_img = requests.get(link, headers={"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}, timeout=5)
    assert as_img.status_code == 200
    assert not any(name.lower().startswith("access-control-") for name in as_img.headers)
    assert as_img.headers["Cache-Control"] == "private, no-store" and as_img.headers["Vary"] == "Origin"
    page = e["web"].rstrip("/")
    mine = requests.get(link, headers={"Origin": page, "Sec-Fetch-Mode": "cors"}, timeout=5)
    assert mine.status_code == 200 and mine.headers.get("Access-Control-Allow-Origin") == page
    theirs = requests.get(link, headers={"Origin": "http://127.0.0.1:47123", "Sec-Fetch-Mode": "cors"}, timeout=5)
    assert theirs.status_code == 403 and "Access-Control-Allow-Origin" not in theirs.headers
    for params in (
        {"ResponseContentDisposition": "attachment; filename=evil.html"},
        {"ResponseCacheControl": "public, max-age=99999"},
    ):
        odd = s3.generate_presigned_url(
            "get_object", Params={"Bucket": e["bucket"], "Key": key, **params}, ExpiresIn=60
        )
        assert requests.get(odd, headers={"Sec-Fetch-Mode": "no-cors"}, timeout=5).status_code == 403, params
    for operation in ("get_object_acl", "get_object_tagging"):
        sub = s3.generate_presigned_url(operation, Params={"Bucket": e["bucket"], "Key": key}, ExpiresIn=60)
        assert requests.get(sub, headers={"Sec-Fetch-Mode": "no-cors"}, timeout=5).status_code == 403, operation


def test_health_is_not_shared_with_other_sites_and_the_web_port_lists_no_folder(spotter_up):
    """The seventh trial: /health (pids, the state folder) carried `Access-Control-Allow-Origin: *`, and
    the web port listed /samples/."""
    e = spotter_up["endpoints"]
    health = requests.get(e["api"] + "/health", headers={"Origin": EVIL}, timeout=5)
    assert health.status_code == 200 and "Access-Control-Allow-Origin" not in health.headers
    assert requests.get(e["web"].rstrip("/") + "/samples/", timeout=5).status_code == 404


@pytest.mark.parametrize("server", ["s3", "api", "web"])
def test_a_foreign_host_header_is_refused_on_every_port(spotter_up, server):
    e = spotter_up["endpoints"]
    port = _port(e[server])
    path = {"s3": "/moto-api/data.json", "api": "/health", "web": "/config.json"}[server]
    url = e[server].rstrip("/") + path
    refused = requests.get(url, headers={"Host": f"evil.example:{port}"}, timeout=5)
    assert refused.status_code == 403, refused.text
    assert "apiUrl" not in refused.text and "buckets" not in refused.text.lower()
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert requests.get(url, headers={"Host": host}, timeout=5).status_code == 200


def test_host_names_allowed():
    assert host_allowed("127.0.0.1:8000", 8000)
    assert host_allowed("LOCALHOST:8000", 8000)
    assert host_allowed("bucket.localhost:8000", 8000)
    assert host_allowed("[::1]:8000", 8000)
    assert not host_allowed("127.0.0.1:8001", 8000)
    assert not host_allowed("evil.example:8000", 8000)
    assert not host_allowed("127.0.0.1.evil.example:8000", 8000)
    assert not host_allowed("localhost", 8000)
    assert not host_allowed(None, 8000)
    assert not host_allowed("", 8000)
    assert host_allowed("192.168.1.5:8000", 8000, "192.168.1.5")
