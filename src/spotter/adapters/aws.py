"""boto3 clients configured once: standard retries with backoff, endpoint from AWS_ENDPOINT_URL."""

from __future__ import annotations

import os
from functools import lru_cache

import boto3
from botocore.config import Config

RETRIES = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


def config_for(service: str, endpoint_override: str | None = None) -> Config:
    """S3 signs with SigV4 (botocore would presign with SigV2 in regions that still allow it, and
    buckets created since 2020 refuse it) at the bucket's regional virtual-host address, so a
    browser's POST is not redirected; an endpoint override (moto) keeps path-style addresses."""
    if service != "s3":
        return RETRIES
    addressing = {} if endpoint_override else {"s3": {"addressing_style": "virtual"}}
    return RETRIES.merge(Config(signature_version="s3v4", **addressing))


@lru_cache(maxsize=None)
def client(service: str, region: str | None = None):
    config = config_for(service, os.environ.get("AWS_ENDPOINT_URL"))
    return boto3.session.Session().client(service, region_name=region, config=config)


@lru_cache(maxsize=None)
def resource(service: str, region: str | None = None):
    return boto3.session.Session().resource(service, region_name=region, config=RETRIES)
