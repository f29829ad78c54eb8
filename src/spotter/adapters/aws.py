"""boto3 clients configured once: standard retries with backoff, endpoint from AWS_ENDPOINT_URL."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config

RETRIES = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None):
    return boto3.session.Session().client(service, region_name=region, config=RETRIES)


@lru_cache(maxsize=None)
def resource(service: str, region: str | None = None):
    return boto3.session.Session().resource(service, region_name=region, config=RETRIES)
