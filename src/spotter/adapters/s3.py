"""S3 adapter: size-capped reads for the classifier, presigned URLs for the web page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from spotter.errors import ObjectArchived, ObjectMissing
from spotter.ports import ObjectHead, StoredObject
from spotter.records import normalise_time

if TYPE_CHECKING:  # botocore ships no types: this names what is passed, for the reader
    from botocore.client import BaseClient

_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}  # the one list of S3's not-found codes


def _utc(moment: datetime | None) -> str | None:
    """S3's LastModified (aware) as the records' ISO 8601 UTC text."""
    return normalise_time(moment.isoformat()) if moment is not None else None


def is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code", "") in _MISSING


class S3Objects:
    def __init__(self, client: BaseClient) -> None:
        self.client = client

    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> StoredObject:
        args: dict[str, str] = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{max_bytes}"}
        if version_id:
            args["VersionId"] = version_id
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if is_missing(exc):
                raise ObjectMissing(f"s3://{bucket}/{key}") from None
            if code == "InvalidObjectState":  # GLACIER / DEEP_ARCHIVE / an archive tier, not restored
                error = exc.response.get("Error", {})
                raise ObjectArchived(
                    error.get("StorageClass") or self._storage_class(bucket, key, version_id)
                ) from None
            if code == "InvalidRange":  # a zero-byte object has no byte 0
                return StoredObject(data=b"", size=0)
            raise
        with response["Body"] as body:
            data = body.read()
        content_range = response.get("ContentRange") or ""
        total = int(content_range.rsplit("/", 1)[1]) if "/" in content_range else len(data)
        return StoredObject(
            data=data,
            size=total,
            etag=(response.get("ETag") or "").strip('"') or None,
            metadata=response.get("Metadata") or None,
            version_id=response.get("VersionId") or version_id,
            last_modified=_utc(response.get("LastModified")),
        )

    def discard(self, bucket: str, key: str, version_id: str | None) -> None:
        """Deletes that version for good (DeleteObjectVersion; the bucket is versioned). Without a
        version id nothing is deleted: a plain delete would only hide the object behind a marker."""
        if version_id:
            self.client.delete_object(Bucket=bucket, Key=key, VersionId=version_id)

    def _storage_class(self, bucket: str, key: str, version_id: str | None) -> str | None:
        args = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            storage_class: str | None = self.client.head_object(**args).get("StorageClass")
            return storage_class
        except ClientError:
            return None


class S3Presigner:
    """Presigned URLs: boto3 signs; the policy's conditions come from the upload plan."""

    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_s: int, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A presigned POST that accepts exactly this key, this content type and 1..max_bytes bytes, and
        exactly these user metadata values (`x-amz-meta-<name>`, each pinned with `eq`)."""
        meta_fields = {f"x-amz-meta-{name}": value for name, value in (metadata or {}).items()}
        form: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, **meta_fields},
            Conditions=[
                {"bucket": self.bucket},
                ["eq", "$key", key],
                ["eq", "$Content-Type", content_type],  # the planned raster type, so no SVG or HTML can be swapped in
                ["content-length-range", 1, max_bytes],
                *(["eq", f"${field}", value] for field, value in meta_fields.items()),
            ],
            ExpiresIn=expires_s,
        )
        return form

    def view_url(self, key: str, expires_s: int, content_type: str) -> str:
        """A link whose response type is `content_type` (a raster type the decoder found), never the
        stored Content-Type: a drone can store any type, and a browser renders by it."""
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": "inline",
        }
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return url


class S3Folder:
    """Listing and uploading for sync and reprocess."""

    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def list(self, prefix: str) -> Iterator[tuple[str, int, str, datetime]]:
        """Yield (key, size, etag, last_modified) under `prefix`."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"], obj["Size"], obj["ETag"].strip('"'), obj["LastModified"]

    def upload(self, path: Path, key: str, content_type: str, multipart_threshold: int, chunk_size: int) -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=chunk_size, use_threads=False
        )
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=config)


class S3Inspector:
    """HEAD requests: whether an object exists, and what would stop the classify function reading it."""

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return ObjectHead(
            size=head.get("ContentLength", 0),
            storage_class=head.get("StorageClass"),
            archive_status=head.get("ArchiveStatus"),
            restore=head.get("Restore"),
        )
