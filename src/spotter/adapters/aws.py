"""boto3 clients configured once per endpoint: standard retries with backoff.

Each client is built for the endpoint it is given (`Settings.endpoint_url`), or else for
`config.aws_endpoint_url()` as it is at the call: one cached per (service, region, endpoint), so
a later endpoint (another moto server) gets a client of its own instead of the first one's.

`low_level_client` is for the classify function's cold start: a plain botocore client from one shared
botocore session, without importing boto3 (its resources, s3transfer and a session per call)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from botocore.config import Config

from spotter.config import aws_endpoint_url

if TYPE_CHECKING:  # botocore and boto3 ship no types: these name what is passed, for the reader
    import botocore.session
    from boto3.resources.base import ServiceResource
    from botocore.client import BaseClient

RETRIES = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


def config_for(service: str, endpoint_override: str | None = None) -> Config:
    """S3 signs with SigV4 (botocore would presign with SigV2 in regions that still allow it, and
    buckets created since 2020 refuse it) at the bucket's regional virtual-host address, so a
    browser's POST is not redirected; an endpoint override (moto) keeps path-style addresses."""
    if service != "s3":
        return RETRIES
    addressing = {} if endpoint_override else {"s3": {"addressing_style": "virtual"}}
    return RETRIES.merge(Config(signature_version="s3v4", **addressing))


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> BaseClient:
    return _client(service, region, endpoint_url or aws_endpoint_url())


@cache
def _client(service: str, region: str | None, endpoint_url: str | None) -> BaseClient:
    import boto3

    return boto3.session.Session().client(
        service, region_name=region, config=config_for(service, endpoint_url), endpoint_url=endpoint_url
    )


@cache
def _botocore_session() -> botocore.session.Session:
    import botocore.session

    return botocore.session.get_session()


def low_level_client(service: str, region: str | None = None, endpoint_url: str | None = None) -> BaseClient:
    """A botocore client (the same API as a boto3 client, without boto3's extras such as
    `upload_file`); created from one session shared by all of them."""
    return _low_level_client(service, region, endpoint_url or aws_endpoint_url())


@cache
def _low_level_client(service: str, region: str | None, endpoint_url: str | None) -> BaseClient:
    return _botocore_session().create_client(
        service, region_name=region, config=config_for(service, endpoint_url), endpoint_url=endpoint_url
    )


def resource(service: str, region: str | None = None, endpoint_url: str | None = None) -> ServiceResource:
    return _resource(service, region, endpoint_url or aws_endpoint_url())


@cache
def _resource(service: str, region: str | None, endpoint_url: str | None) -> ServiceResource:
    import boto3

    return boto3.session.Session().resource(service, region_name=region, config=RETRIES, endpoint_url=endpoint_url)


def forget_low_level_clients() -> None:
    """Drop the shared botocore session and its clients (their connections and credentials), so the
    next `low_level_client` builds fresh ones: after a SnapStart restore, a snapshot's sockets are dead."""
    _low_level_client.cache_clear()
    _botocore_session.cache_clear()
