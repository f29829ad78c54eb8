"""S3's checks of a browser-form POST upload (a presigned POST), which moto does not make.

Runs inside the moto server process, as WSGI middleware in front of moto's app. A POST whose body is
`multipart/form-data` with a `policy` field is an upload through a presigned POST: before moto sees
it, it is checked as S3 checks it, and refused with S3's status, error code and XML body:

- the signature: SigV4 (`x-amz-algorithm` AWS4-HMAC-SHA256, `x-amz-credential`, `x-amz-date`,
  `x-amz-signature`: HMAC-SHA256 of the base64 policy with the key derived from the secret key), or
  SigV2 (`AWSAccessKeyId`, `signature`: HMAC-SHA1). The local stack's credentials are throwaway
  (`spotter.config.use_local_aws`): every access key id has the secret key `local`.
  Bad signature: 403 SignatureDoesNotMatch;
- the policy's `expiration`: past it, 403 AccessDenied "Invalid according to Policy: Policy expired.";
- every condition: `{"field": value}` and `["eq", "$field", value]` (exact), `["starts-with",
  "$field", prefix]`, `{"bucket": name}` (against the bucket posted to) and `["content-length-range",
  min, max]` (against the file's size: 400 EntityTooSmall / EntityTooLarge). A failed condition:
  403 AccessDenied "Invalid according to Policy: Policy Condition failed: [...]";
- every form field is named by a condition, except `file`, `policy`, `x-amz-signature`, the SigV2
  `AWSAccessKeyId` and `signature`, and `x-ignore-*`: else 403 AccessDenied "... Extra input fields: ...";
- exactly one file part, and no field twice (S3 takes the first of fields sent twice and ignores
  fields after the file; moto reads them all, so the local stack refuses such a form: 400).

Field names are compared without regard to case, as S3 does. The body is read once from the socket
into a spooled temporary file (memory up to `SPOOL_BYTES`, then disk), parsed with werkzeug's own
multipart decoder (the one moto's request parsing uses, so both read the same fields) and handed to
moto only when every check passes. Any other request, and a multipart POST without a `policy` (not a
presigned POST), goes to moto as it came (a multipart one from the buffered copy).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

LOCAL_SECRET_KEY = "local"  # nosec B105: the throwaway secret spotter.config.use_local_aws gives the local stack
MAX_POST_BYTES = 5 * 1024**3  # S3: a POST upload carries at most 5 GB
SPOOL_BYTES = 8 * 1024 * 1024  # a body up to this size stays in memory; a larger one goes to a temporary file
CHUNK_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024 * 1024  # all fields but the file together; S3 allows 20 KB before the file
MAX_PARTS = 1000
EXEMPT_FIELDS = frozenset({"file", "policy", "x-amz-signature", "awsaccesskeyid", "signature"})
_CREDENTIAL = re.compile(r"^([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request\Z")


def local_secret(access_key_id: str) -> str | None:
    """The secret key of an access key id on the local stack: the same for all."""
    return LOCAL_SECRET_KEY


class PolicyError(Exception):
    """The request is refused: S3's status, code and message (and any extra XML elements)."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def xml(self) -> bytes:
        elements = "".join(f"<{name}>{html.escape(value, quote=False)}</{name}>" for name, value in self.extra.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{html.escape(self.message, quote=False)}</Message>{elements}"
            "<RequestId>0000000000000000</RequestId><HostId>spotter-local</HostId></Error>"
        ).encode()


def _invalid_argument(message: str, name: str = "", value: str = "") -> PolicyError:
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return PolicyError(400, "InvalidArgument", message, **extra)


def _missing_field(name: str) -> PolicyError:
    return _invalid_argument(
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields.",
        name,
    )


def _denied(message: str) -> PolicyError:
    return PolicyError(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _invalid_policy(message: str) -> PolicyError:
    return PolicyError(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


@dataclass(frozen=True)
class FormUpload:
    """What a browser-form POST carries: the bucket posted to, its fields (names as sent, in order,
    the file excluded) and the file parts' sizes."""

    bucket: str
    fields: list[tuple[str, str]]
    file_sizes: list[int] = field(default_factory=list)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def sigv4_signature(secret_key: str, date: str, region: str, service: str, policy: str) -> str:
    """SigV4 for a POST policy: the signing key of (date, region, service) over the base64 policy."""
    key = _hmac(f"AWS4{secret_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, policy.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_signature(fields: dict[str, str], secret_for: Callable[[str], str | None]) -> None:
    policy = fields["policy"]
    if "x-amz-algorithm" in fields or "x-amz-signature" in fields or "x-amz-credential" in fields:
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
            if name not in fields:
                raise _missing_field(name.title())
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise _invalid_argument(
                "Invalid algorithm; only AWS4-HMAC-SHA256 is supported.", "X-Amz-Algorithm", fields["x-amz-algorithm"]
            )
        credential = _CREDENTIAL.match(fields["x-amz-credential"])
        if credential is None:
            raise _invalid_argument(
                "Invalid credential; expected <access key id>/<date>/<region>/<service>/aws4_request",
                "X-Amz-Credential",
                fields["x-amz-credential"],
            )
        access_key_id, date, region, service = credential.groups()
        if not fields["x-amz-date"].startswith(date):
            raise _invalid_argument(
                "Invalid credential date. Date is not the same as X-Amz-Date.", "X-Amz-Date", fields["x-amz-date"]
            )
        secret = secret_for(access_key_id)
        if secret is None:
            raise PolicyError(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                AWSAccessKeyId=access_key_id,
            )
        expected = sigv4_signature(secret, date, region, service, policy)
        if not hmac.compare_digest(expected, fields["x-amz-signature"].lower()):
            raise PolicyError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                AWSAccessKeyId=access_key_id,
                StringToSign=policy,
                SignatureProvided=fields["x-amz-signature"],
            )
        return
    if "signature" not in fields or "awsaccesskeyid" not in fields:  # SigV2
        raise _missing_field("AWSAccessKeyId" if "signature" in fields else "Signature")
    access_key_id = fields["awsaccesskeyid"]
    secret = secret_for(access_key_id)
    if secret is None:
        raise PolicyError(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key_id,
        )
    expected_v2 = base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected_v2, fields["signature"]):
        raise PolicyError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key_id,
            StringToSign=policy,
            SignatureProvided=fields["signature"],
        )


def _decode_policy(policy: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(policy.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _invalid_policy("Invalid 'Base64' encoding.") from None
    try:
        document = json.loads(raw)
    except ValueError:
        raise _invalid_policy("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid_policy("Invalid JSON.")
    return document


def _parse_expiration(value: object) -> datetime:
    if not isinstance(value, str):
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _condition_text(condition: object) -> str:
    return json.dumps(condition, separators=(", ", ": "))


def _size_bound(value: object, condition: object) -> int:
    if isinstance(value, bool):
        raise _invalid_policy(f"Invalid content-length-range: {_condition_text(condition)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _invalid_policy(f"Invalid content-length-range: {_condition_text(condition)}")


def verify(
    form: FormUpload,
    secret_for: Callable[[str], str | None] = local_secret,
    now: datetime | None = None,
) -> None:
    """Raise PolicyError unless S3 would accept this presigned POST (the form must hold `policy`)."""
    fields: dict[str, str] = {}
    for name, value in form.fields:
        lowered = name.lower()
        if lowered in fields:
            raise _invalid_argument(f"The form field '{name}' is sent more than once.", name, value)
        fields[lowered] = value
    if len(form.file_sizes) != 1:
        raise _invalid_argument("POST requires exactly one file upload per request.", "file", str(len(form.file_sizes)))
    if not any(name == "key" for name, _ in form.fields):  # moto reads exactly "key"
        raise _missing_field("key")
    _check_signature(fields, secret_for)

    document = _decode_policy(fields["policy"])
    if "expiration" not in document:
        raise _invalid_policy("Policy missing expiration.")
    if _parse_expiration(document["expiration"]) <= (now or datetime.now(UTC)):
        raise _denied("Policy expired.")
    conditions = document.get("conditions")
    if not isinstance(conditions, list):
        raise _invalid_policy("Policy missing conditions.")

    covered: set[str] = set()
    size = form.file_sizes[0]
    for condition in conditions:
        if isinstance(condition, dict):
            if len(condition) != 1:
                raise _invalid_policy(f"Invalid Simple-Condition: {_condition_text(condition)}")
            ((name, expected),) = condition.items()
            operation, subject = "eq", f"${name}"
        elif isinstance(condition, list) and len(condition) == 3 and isinstance(condition[0], str):
            operation, subject, expected = condition[0].lower(), condition[1], condition[2]
        else:
            raise _invalid_policy(f"Invalid Condition: {_condition_text(condition)}")
        if operation == "content-length-range":
            low, high = _size_bound(subject, condition), _size_bound(expected, condition)
            if size < low:
                raise PolicyError(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    ProposedSize=str(size),
                    MinSizeAllowed=str(low),
                )
            if size > high:
                raise PolicyError(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    ProposedSize=str(size),
                    MaxSizeAllowed=str(high),
                )
            continue
        if operation not in ("eq", "starts-with") or not isinstance(subject, str) or not subject.startswith("$"):
            raise _invalid_policy(f"Invalid Condition: {_condition_text(condition)}")
        if not isinstance(expected, str):
            raise _invalid_policy(f"Invalid Condition: {_condition_text(condition)}")
        name = subject[1:].lower()
        covered.add(name)
        actual = form.bucket if name == "bucket" else fields.get(name, "")
        ok = actual == expected if operation == "eq" else actual.startswith(expected)
        if not ok:
            raise _denied(f"Policy Condition failed: {_condition_text(condition)}")

    extra = [
        name
        for name, _ in form.fields
        if name.lower() not in EXEMPT_FIELDS
        and not name.lower().startswith("x-ignore-")
        and name.lower() not in covered
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")


# -- the middleware ------------------------------------------------------------------------------


def _respond(error: PolicyError, start_response: StartResponse) -> list[bytes]:
    body = error.xml()
    reason = {400: "Bad Request", 403: "Forbidden", 411: "Length Required"}.get(error.status, "Error")
    start_response(
        f"{error.status} {reason}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


def _bucket_posted_to(environ: WSGIEnvironment) -> str:
    """The bucket as moto reads it from the request (path style, or the host's first label)."""
    from moto.s3.responses import S3Response
    from moto.s3.utils import bucket_name_from_url
    from moto.s3bucket_path.utils import bucket_name_from_url as bucketpath_bucket_name_from_url
    from werkzeug.wrappers import Request

    request = Request(environ)  # headers and URL only: the body is not touched
    if S3Response.subdomain_based_buckets(request):
        return bucket_name_from_url(request.url) or ""
    return bucketpath_bucket_name_from_url(request.url) or ""


def parse_form(body: IO[bytes], boundary: bytes, bucket: str) -> FormUpload:
    """The form's fields and file sizes, decoded as werkzeug (moto's request parsing) decodes them."""
    from werkzeug.formparser import MultiPartParser
    from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

    decoder = MultipartDecoder(boundary, max_form_memory_size=MAX_FIELD_BYTES, max_parts=MAX_PARTS)
    charset_of = MultiPartParser().get_part_charset
    fields: list[tuple[str, str]] = []
    sizes: list[int] = []
    field_bytes = 0
    part: Field | File | None = None
    value: list[bytes] = []
    size = 0
    done = False
    try:
        while not done:
            chunk = body.read(CHUNK_BYTES)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while not isinstance(event, NeedData):
                if isinstance(event, Epilogue):
                    done = True
                    break
                if isinstance(event, (Field, File)):
                    part, value, size = event, [], 0
                elif isinstance(event, Data) and part is not None:
                    if isinstance(part, Field):
                        field_bytes += len(event.data)
                        if field_bytes > MAX_FIELD_BYTES:
                            raise PolicyError(
                                400,
                                "MaxPostPreDataLengthExceeded",
                                "Your POST request fields preceding the upload file were too large.",
                            )
                        value.append(event.data)
                    else:
                        size += len(event.data)
                    if not event.more_data:
                        if isinstance(part, Field):
                            fields.append((part.name, b"".join(value).decode(charset_of(part.headers), "replace")))
                        else:
                            sizes.append(size)
                        part = None
                event = decoder.next_event()
            if not chunk and not done:
                raise ValueError("the body ends before the closing boundary")
    except ValueError:
        raise PolicyError(
            400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
        ) from None
    return FormUpload(bucket=bucket, fields=fields, file_sizes=sizes)


def _is_form_post(environ: WSGIEnvironment) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and str(environ.get("CONTENT_TYPE", "")).lower().startswith(
        "multipart/form-data"
    )


class PostPolicyApp:
    """WSGI middleware: S3's checks of a presigned POST before moto stores anything."""

    def __init__(self, app: WSGIApplication, secret_for: Callable[[str], str | None] = local_secret) -> None:
        self.app = app
        self.secret_for = secret_for

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not _is_form_post(environ):
            return self.app(environ, start_response)
        from werkzeug.http import parse_options_header
        from werkzeug.wsgi import ClosingIterator

        length_header = str(environ.get("CONTENT_LENGTH") or "")
        if not length_header.isdigit():
            return _respond(
                PolicyError(411, "MissingContentLength", "You must provide the Content-Length HTTP header."),
                start_response,
            )
        length = int(length_header)
        if length > MAX_POST_BYTES:
            error = PolicyError(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=str(length),
                MaxSizeAllowed=str(MAX_POST_BYTES),
            )
            return _respond(error, start_response)
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        handed_over = False
        try:
            stream = environ["wsgi.input"]
            left = length
            while left > 0:
                chunk = stream.read(min(CHUNK_BYTES, left))
                if not chunk:
                    return _respond(
                        PolicyError(
                            400,
                            "IncompleteBody",
                            "You did not provide the number of bytes specified by the Content-Length HTTP header",
                        ),
                        start_response,
                    )
                body.write(chunk)
                left -= len(chunk)
            body.seek(0)
            boundary = parse_options_header(str(environ.get("CONTENT_TYPE", "")))[1].get("boundary", "")
            try:
                if not boundary:
                    raise PolicyError(
                        400,
                        "MalformedPOSTRequest",
                        "The body of your POST request is not well-formed multipart/form-data.",
                    )
                form = parse_form(body, boundary.encode("latin-1"), _bucket_posted_to(environ))
                if not any(name.lower() == "policy" for name, _ in form.fields):
                    # no policy: an anonymous POST, which S3 refuses on a bucket without public writes
                    raise _denied("Anonymous POST is not allowed on this bucket: the form needs a signed policy.")
                verify(form, self.secret_for)
            except PolicyError as error:
                return _respond(error, start_response)
            body.seek(0)
            environ["wsgi.input"] = body
            environ["CONTENT_LENGTH"] = str(length)
            result = ClosingIterator(self.app(environ, start_response), [body.close])
            handed_over = True
            return result
        finally:
            if not handed_over:
                body.close()
