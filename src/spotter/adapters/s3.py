"""S3 adapter: size-capped reads for the classifier, presigned URLs for the web page."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..errors import ObjectMissing
from ..ports import StoredObject

_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}


class S3Objects:
    def __init__(self, client):
        self.client = client

    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> StoredObject:
        args = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{max_bytes}"}
        if version_id:
            args["VersionId"] = version_id
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                raise ObjectMissing(f"s3://{bucket}/{key}") from None
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
            version_id=response.get("VersionId"),
        )
