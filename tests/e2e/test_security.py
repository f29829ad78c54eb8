"""The security review's attacks, replayed against a running `spotter up` (and Chromium where only a
browser shows the harm). Each must fail: no script from the bucket, no writes into someone else's
batch, no CSV row injection, no 500 or oversized reply from a hostile request."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys

import boto3
import images
import pytest
import requests
from botocore.config import Config
from conftest import ROOT, clean_env
from PIL import Image
from waiting import wait_until

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
SCRIPT_MARK = "spotter-xss-ran"
HTML = f"<html><body><script>console.log('{SCRIPT_MARK}');document.title='{SCRIPT_MARK}'</script></body></html>"


@pytest.fixture(scope="module")
def running(spotter_up):
    return {**spotter_up["endpoints"], "state": spotter_up["state"]}


def _s3(endpoints):
    return boto3.client("s3", endpoint_url=endpoints["s3"], config=Config(s3={"addressing_style": "path"}))


def _bucket(endpoints) -> str:
    return endpoints["bucket"]


def _plan(endpoints, files, batch=None):
    body = {"files": files, **({"batch": batch} if batch else {})}
    return requests.post(f"{endpoints['api']}/uploads", json=body, timeout=30)


def _post(upload: dict, data: bytes, name: str, content_type: str):
    response = requests.post(
        upload["url"], data=upload["fields"], files={"file": (name, data, content_type)}, timeout=10
    )
    assert response.status_code == 204, response.text


def _wait_for(endpoints, params: dict, count: int, timeout_s: float = 30) -> list[dict]:
    return wait_until(
        # a source with no record yet is a 400 (unknown name) until its first record lands
        lambda: (
            requests.get(f"{endpoints['api']}/predictions", params={**params, "limit": 1000}, timeout=10)
            .json()
            .get("items", [])
        ),
        timeout_s,
        until=lambda items: len(items) >= count,
        fail=False,
    )


# ---- 1. exact types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared",
    [
        "image/png,image/svg+xml",
        "image/png, text/html",
        "image/png text/html",
        "image/png;,text/html",
        "image",
        "/png",
        "image/png\r\nX: y",
    ],
)
def test_a_type_that_is_not_one_mime_type_is_a_400(running, declared):
    response = _plan(running, [{"name": "x.png", "type": declared, "size": 10}])
    assert response.status_code == 400 and "one MIME type" in response.json()["message"]


@pytest.mark.parametrize(
    "declared, signed",
    [
        ("image/png", "image/png"),
        ("IMAGE/PNG; charset=binary", "image/png"),
        (" image/jpg ", "image/jpeg"),
        ("image/x-ms-bmp", "image/bmp"),
    ],
)
def test_the_policy_pins_the_normalised_type_exactly(running, declared, signed):
    upload = _plan(running, [{"name": "x.png", "type": declared, "size": 10}]).json()["uploads"][0]
    assert upload["fields"]["Content-Type"] == signed
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["eq", "$Content-Type", signed] in policy["conditions"]
    assert not [c for c in policy["conditions"] if isinstance(c, list) and c[0] == "starts-with"]


@pytest.mark.parametrize(
    "declared",
    [
        "image/svg+xml",
        "text/html",
        "application/xhtml+xml",
        "image/heic",
        "",
        "image/x-icon",
        "application/octet-stream",
    ],
)
def test_types_outside_the_raster_list_are_refused_per_file(running, declared):
    body = _plan(running, [{"name": "x.bin", "type": declared, "size": 10}]).json()
    assert "not a raster image" in body["uploads"][0]["error"] and "url" not in body["uploads"][0]


def test_image_links_never_run_script_in_chromium(running):
    """A drone stores a JPEG with HTML after its end, and a plain HTML page, both as text/html. The API's
    links serve the first as image/jpeg and give the second no link. Even the bucket's own genuine link
    (the stored type, text/html) runs nothing on the local stack: moto's port sends object bytes to a
    browser under a sandbox CSP (on AWS, only the API's links exist for the page). The same HTML set
    as a page's content does run, which shows the check below would see it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser import CHROMIUM_ARGS, chromium_path

    s3, bucket = _s3(running), _bucket(running)
    polyglot = images.jpeg(images.RED) + HTML.encode()
    s3.put_object(Bucket=bucket, Key="drones/xss/f/polyglot.jpg", Body=polyglot, ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="drones/xss/f/page.jpg", Body=HTML.encode(), ContentType="text/html")
    items = {i["file_name"]: i for i in _wait_for(running, {"source": "xss", "batch": "f"}, 2)}
    assert items["polyglot.jpg"]["status"] == "ok" and items["page.jpg"]["status"] == "rejected"
    assert items["page.jpg"]["image_url"] is None  # not an image: nothing to view
    api_link = items["polyglot.jpg"]["image_url"]
    signing = boto3.client(  # the local stack's credentials (spotter.config.use_local_aws)
        "s3",
        endpoint_url=running["s3"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    stored_type_link = signing.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "drones/xss/f/polyglot.jpg"}
    )

    def opened(url: str) -> tuple[str, bool]:
        page = browser.new_page()
        messages: list[str] = []
        page.on("console", lambda msg: messages.append(msg.text))
        response = page.goto(url)
        page.wait_for_timeout(300)
        ran = SCRIPT_MARK in messages or page.title() == SCRIPT_MARK
        page.close()
        return response.headers.get("content-type", ""), ran

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            control = browser.new_page()
            control.set_content(HTML)
            assert control.title() == SCRIPT_MARK  # a script that runs is seen
            control.close()
            assert opened(stored_type_link) == ("text/html", False)  # sandboxed: shown, never run
            assert opened(api_link) == ("image/jpeg", False)
        finally:
            browser.close()


# ---- 2. batch ownership -----------------------------------------------------------------------


def test_a_drone_cannot_write_into_a_web_batch(running):
    plan = _plan(running, [{"name": "mine.png", "type": "image/png", "size": 100}]).json()
    batch, upload = plan["batch"], plan["uploads"][0]
    _post(upload, images.png(images.RED), "mine.png", "image/png")
    s3, bucket = _s3(running), _bucket(running)
    s3.put_object(
        Bucket=bucket, Key=f"drones/intruder/{batch}/theirs.png", Body=images.png(images.BLUE), ContentType="image/png"
    )
    assert len(_wait_for(running, {"source": "intruder"}, 1)) == 1  # classified, so it could show up

    listed = requests.get(f"{running['api']}/predictions", params={"batch": batch}, timeout=10).json()["items"]
    assert [i["file_name"] for i in listed] == ["mine.png"]
    rows = list(
        csv.DictReader(
            io.StringIO(requests.get(f"{running['api']}/predictions.csv", params={"batch": batch}, timeout=10).text)
        )
    )
    assert [r["file_name"] for r in rows] == ["mine.png"]
    cli = [sys.executable, "-m", "spotter.cli", "query", "--state-dir", str(running["state"]), "--format", "csv"]
    mine = subprocess.run(
        [*cli, "--batch", batch], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert mine.returncode == 0, mine.stderr
    assert [r["file_name"] for r in csv.DictReader(io.StringIO(mine.stdout))] == ["mine.png"]
    # the drone's folder is still reachable, under the drone's name
    theirs = subprocess.run(
        [*cli, "--source", "intruder", "--batch", batch],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [r["file_name"] for r in csv.DictReader(io.StringIO(theirs.stdout))] == ["theirs.png"]


# ---- 3. CSV -----------------------------------------------------------------------------------


def test_carriage_returns_in_names_and_exif_stay_inside_their_cell(running):
    s3, bucket = _s3(running), _bucket(running)
    cameras = {"a": 'Cam\r=HYPERLINK("http://evil")', "b": "Cam\n@SUM(1)"}
    for name, colour in (("a", images.RED), ("b", images.BLUE)):
        exif = Image.Exif()
        exif[0x0110] = cameras[name]  # Model
        # (moto cannot store a key holding "\n"; S3 can, and the same quoting covers it)
        s3.put_object(
            Bucket=bucket,
            Key=f"drones/crlf/f/{name}\r=1+1.jpg",
            Body=images.jpeg(colour, exif=exif.tobytes()),
            ContentType="image/jpeg",
        )
    assert len(_wait_for(running, {"source": "crlf"}, 2)) == 2
    text = requests.get(f"{running['api']}/predictions.csv", params={"source": "crlf"}, timeout=10).text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert sorted(r["file_name"] for r in rows) == ["a\r=1+1.jpg", "b\r=1+1.jpg"]
    assert sorted(r["camera"] for r in rows) == sorted(cameras.values())
    # every line break that is not quoted ends a row: exactly header + 2 rows
    unquoted = "".join(part for i, part in enumerate(text.split('"')) if i % 2 == 0)
    assert (
        unquoted.count("\r\n") == 3
        and unquoted.replace("\r\n", "").count("\r") == 0
        and "\n" not in unquoted.replace("\r\n", "")
    )


# ---- 4. bounded API ---------------------------------------------------------------------------


def test_deep_big_and_long_requests_are_400_not_500(running):
    api = f"{running['api']}/uploads"
    deep = requests.post(
        api, data="[" * 100_000 + "]" * 100_000, headers={"content-type": "application/json"}, timeout=30
    )
    assert deep.status_code == 400 and "nested deeper" in deep.json()["message"]
    big = requests.post(api, data=json.dumps({"files": [], "pad": "x" * 2_000_000}), timeout=30)
    assert big.status_code == 400 and "byte limit" in big.json()["message"]
    long_name = _plan(running, [{"name": "n" * 100_000 + ".jpg", "type": "image/jpeg", "size": 10}])
    assert long_name.status_code == 400 and "character limit" in long_name.json()["message"]
    not_json = requests.post(api, data="{files:", timeout=30)
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["message"]


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json", None])
def test_a_body_that_is_not_utf8_is_a_400(running, content_type):
    body = '{"files":[{"name":"\u00e9.png","type":"image/png","size":10}]}'.encode("latin-1")
    headers = {"content-type": content_type} if content_type else {}
    response = requests.post(f"{running['api']}/uploads", data=body, headers=headers, timeout=30)
    assert response.status_code == 400 and "not JSON" in response.json()["message"]


def test_a_drone_cannot_write_to_the_analysts_terminal(running):
    s3, bucket = _s3(running), _bucket(running)
    name = "\x1b]0;PWNED\x07\x1b[31mRED\x1b[0m\x1b[2K\rfake\u202egpj.jpg"
    s3.put_object(Bucket=bucket, Key=f"drones/ansi/f/{name}", Body=images.jpeg(images.RED), ContentType="image/jpeg")
    assert len(_wait_for(running, {"source": "ansi"}, 1)) == 1
    cli = [sys.executable, "-m", "spotter.cli", "query", "--state-dir", str(running["state"]), "--source", "ansi"]
    shown = subprocess.run(cli, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60).stdout
    assert "ansi" in shown and not any(c in shown for c in "\x1b\x07\r\u202e")
    assert "\\x1b]0;PWNED" in shown


def test_the_largest_allowed_request_gets_a_reply_under_lambdas_limit(running):
    for kind in ("image/jpeg", "application/pdf"):  # planned forms, and refusals (which repeat the name)
        files = [{"name": f"{i:03d}" + "\U0001f600" * 247 + ".jpg", "type": kind, "size": 10} for i in range(500)]
        body = json.dumps({"files": files}, ensure_ascii=False).encode()  # as a browser sends it
        response = requests.post(f"{running['api']}/uploads", data=body, timeout=30)
        assert response.status_code == 200 and len(response.json()["uploads"]) == 500
        assert len(response.content) < LAMBDA_RESPONSE_LIMIT
        print(f"\nlargest /uploads reply ({kind}): {len(response.content):,} bytes")


# ---- 5. drones find their bucket with their own permissions -----------------------------------


def test_a_drone_syncs_with_only_the_stack_name(running, tmp_path):
    """`spotter sync --stack NAME` reads the bucket from the stack's drone parameter in SSM: the one
    read the drone policy allows besides its own folder (tests/integration/test_infra.py checks the policy grants
    exactly it, and no DescribeStacks, whose outputs and parameters name AlarmEmail). Here there is no
    stack to describe at all, as for a drone."""
    bucket = _bucket(running)
    ssm = boto3.client("ssm", endpoint_url=running["s3"])
    ssm.put_parameter(
        Name="/spotter/spotter-prod/drone-target",
        Type="String",
        Value=json.dumps({"bucket": bucket, "prefix": "drones/"}),
    )
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "one.png").write_bytes(images.png(images.GREEN))
    command = [
        sys.executable,
        "-m",
        "spotter.cli",
        "sync",
        str(tmp_path / "photos"),
        "--source",
        "scout",
        "--stack",
        "spotter-prod",
        "--endpoint-url",
        running["s3"],
    ]
    result = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    keys = [o["Key"] for o in _s3(running).list_objects_v2(Bucket=bucket, Prefix="drones/scout/")["Contents"]]
    assert keys == ["drones/scout/one.png"]


def test_another_sites_page_cannot_write_through_the_api(running, tmp_path):
    """A page on another origin posts to POST /uploads the ways a browser sends without asking (a
    text/plain no-cors fetch, a text/plain form): the API refuses before acting, so no record lands in
    the victim's batch (the trial planted refused records and used up the site's refusal cap so)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from browser import CHROMIUM_ARGS, chromium_path

    api, batch = running["api"], "victim-batch"
    payload = json.dumps({"batch": batch, "files": [{"name": "EVIL.heic", "type": "image/heic", "size": 5}]})
    name, value = payload[:-2] + ',"x":"', '"}'  # a text/plain form's body is `name=value`
    (tmp_path / "evil.html").write_text(
        f"""<form id=f method=POST enctype="text/plain" action="{api}/uploads">
        <input name='{name}' value='{value}'></form>
        <script>
        fetch({json.dumps(api + "/uploads")}, {{mode: "no-cors", method: "POST",
          headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(payload)}}})
          .finally(() => document.getElementById("f").submit());
        </script>""",
        encoding="utf-8",
    )
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *a: SimpleHTTPRequestHandler(*a, directory=str(tmp_path)),
    )
    Thread(target=server.serve_forever, daemon=True).start()
    sent: list[int] = []
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("response", lambda r: sent.append(r.status) if r.url.startswith(api) else None)
            page.goto(f"http://127.0.0.1:{server.server_port}/evil.html")
            page.wait_for_url(f"{api}/uploads", timeout=15_000)  # the form went
            browser.close()
    finally:
        server.shutdown()
    assert sent and all(status == 403 for status in sent), sent
    # the same from a script that claims another origin, and a text/plain body from the page's own origin
    forged = requests.post(
        f"{api}/uploads", data=payload, headers={"Origin": "http://evil.example", "Content-Type": "text/plain"}
    )
    assert forged.status_code == 403, forged.text
    page_origin = running["web"].rstrip("/")
    plain = requests.post(f"{api}/uploads", data=payload, headers={"Origin": page_origin, "Content-Type": "text/plain"})
    assert plain.status_code == 415, plain.text
    listed = requests.get(f"{api}/predictions", params={"batch": batch}, timeout=30).json()
    assert listed["items"] == [], listed
