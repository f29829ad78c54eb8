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
