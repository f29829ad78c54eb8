"""Composition: clients are built for the endpoint they are given, and Settings is the one reader
of the environment."""

from __future__ import annotations

import re
from pathlib import Path

from spotter.adapters.aws import client, low_level_client, resource
from spotter.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_clients_follow_the_endpoint_they_are_given(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    first = client("sqs")
    assert first.meta.endpoint_url == "http://127.0.0.1:1111"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")  # a later endpoint is not ignored
    assert client("sqs").meta.endpoint_url == "http://127.0.0.1:2222"
    assert client("sqs") is not first and client("sqs", endpoint_url="http://127.0.0.1:1111") is first
    assert low_level_client("s3", endpoint_url="http://127.0.0.1:3333").meta.endpoint_url == "http://127.0.0.1:3333"
    assert (
        resource("dynamodb", endpoint_url="http://127.0.0.1:4444").meta.client.meta.endpoint_url
        == "http://127.0.0.1:4444"
    )


def test_settings_carry_the_endpoint():
    assert Settings.from_env({"AWS_ENDPOINT_URL": "http://moto:5000"}).endpoint_url == "http://moto:5000"
    assert Settings.from_env({}).endpoint_url is None


def test_only_config_reads_or_writes_the_environment():
    """Settings (config.py) is the one reader and writer of os.environ in the package, the command
    line, the local stack and the handlers: everything else is given settings."""
    pattern = re.compile(r"os\.environ|getenv\(|putenv\(|unsetenv\(")
    files = [p for folder in ("src/spotter", "functions") for p in (ROOT / folder).rglob("*.py")]
    offenders = sorted(
        str(p.relative_to(ROOT))
        for p in files
        if pattern.search(p.read_text()) and p.relative_to(ROOT) != Path("src/spotter/config.py")
    )
    allowed = {
        # hands the decode worker (a child process) a copy of the environment, reading no setting
        "src/spotter/ingest/decode_sandbox.py",
        # the moto server's own process (python -m): tells moto, which reads it there, its port
        "src/spotter/local/moto_main.py",
    }
    assert set(offenders) <= allowed, offenders
