"""HTTP API for the web page and scripts: presigned uploads, predictions, CSV, the model card."""

import base64
import json
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import (
    NotFoundError,
    UnauthorizedError,
)

from spotter.access import AccessDenied, Caller
from spotter.adapters.wiring import batch_removal, prediction_queries, predictions, presigner
from spotter.api_views import ModelInfo, query_from_params, record_view, view_type
from spotter.batches import owned_by, remove_batch, summarise_batches, web_batches_query
from spotter.config import Settings
from spotter.keys import ORIGINAL_NAME_METADATA, encode_original_name, sanitise_file_name
from spotter.names import stored_names
from spotter.query import QueryError
from spotter.responses import RESPONSE_BUDGET_BYTES, csv_pages, json_page
from spotter.stats import matching_records, parse_dimensions, scans, summarise
from spotter.uploads import (
    PlannedUpload,
    UploadRequestError,
    parse_body,
    parse_files,
    plan_uploads,
    refusal_record,
)

settings = Settings.from_env()
logger = Logger(service="spotter-api")
origins = list(settings.allowed_origins)
cors = CORSConfig(
    allow_origin=origins[0],
    extra_origins=origins[1:] or None,
    max_age=600,
    allow_headers=["Content-Type", "Authorization"],
    expose_headers=["X-Next-Cursor"],
)
app = APIGatewayHttpResolver(cors=cors)
model = ModelInfo.load(settings.model_path)
queries, store, signer = prediction_queries(settings), predictions(settings), presigner(settings)
batch_objects, record_remover = batch_removal(settings)
CSV_BUDGET_BYTES = RESPONSE_BUDGET_BYTES
STATS_MAX_RECORDS = 20_000  # about what a 10 s function reads; past it: narrow the filters, or Athena


def _caller() -> Caller:
    if not settings.auth_enabled:
        return Caller.anonymous()
    claims = (
        (app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    )
    if not claims or "sub" not in claims:
        raise UnauthorizedError("sign in first")
    return Caller.from_claims(claims)


def _error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps({"message": message}))


@app.exception_handler(AccessDenied)
def access_denied(exc: AccessDenied):
    return _error(403, str(exc))


@app.exception_handler([QueryError, UploadRequestError])
def bad_request(exc: ValueError):
    return _error(400, str(exc))


def _view(record) -> dict:
    kind = view_type(record)
    return record_view(record, signer.view_url(record.key, settings.view_url_ttl, kind) if kind else None)


def _raw_body() -> bytes:
    """The body as bytes: Powertools' `decoded_body` decodes base64 bodies as UTF-8 and raises on
    anything else, which would be a 500 for a client's mistake."""
    event = app.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8", "surrogatepass")


@app.post("/uploads")
def create_uploads():
    files, batch = parse_files(parse_body(_raw_body()))
    batch = _caller().batch_for_upload(batch)
    uploads = []
    for plan in plan_uploads(files, batch, settings.uploads_bucket, settings.max_upload_bytes):
        if isinstance(plan, PlannedUpload):
            # the name as chosen rides along as signed metadata; the key holds only a sanitised copy
            metadata = {ORIGINAL_NAME_METADATA: encode_original_name(plan.name)}
            form = signer.upload_form(
                plan.key, plan.content_type, settings.max_upload_bytes, settings.upload_url_ttl, metadata
            )
            uploads.append({"name": plan.name, "key": plan.key, "objectId": plan.object_id, **form})
        else:  # recorded, so the batch still lists it after a reload and in its CSV
            store.put(refusal_record(plan, batch, settings.uploads_bucket, model.card["name"], model.card["version"]))
            uploads.append({"name": plan.name, "error": plan.error, "objectId": plan.object_id})
    logger.info("upload batch planned", extra={"batch": batch, "files": len(files)})
    return {
        "batch": batch,
        "expiresIn": settings.upload_url_ttl,
        "maxBytes": settings.max_upload_bytes,
        "uploads": uploads,
    }


def _query(limit_default: int = 100):
    query = query_from_params(app.current_event.query_string_parameters or {}, model.model_id, limit_default)
    _caller().check_listing(query.batch)
    return query


@app.get("/predictions")
def list_predictions():
    return json_page(queries.query, _query(), _view)


@app.get("/predictions.csv")
def predictions_csv():
    """Every matching record, in whole pages up to the response budget; past it the reply names the
    cursor for the rest in `X-Next-Cursor` (`spotter export` has no such limit)."""
    query = _query(limit_default=500)
    body, cursor = csv_pages(queries.query, query, CSV_BUDGET_BYTES)
    name = sanitise_file_name(f"spotter-{query.batch or query.source or 'predictions'}.csv")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if cursor:
        headers["X-Next-Cursor"] = cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


@app.get("/stats")
def prediction_stats():
    """Counts and score summaries per group (`by=label,source,...`) of what /predictions would list.
    Label, source and model match without regard to case, as in `spotter stats` (`notes` says where
    the case differed); an unknown one is a 400 listing the known names."""
    by = parse_dimensions((app.current_event.query_string_parameters or {}).get("by"))
    query, notes = stored_names(_query(), queries)
    rows = summarise(matching_records(queries.query, query, STATS_MAX_RECORDS), by)
    return {
        "by": list(by),
        "groups": rows,
        "records": sum(r["count"] for r in rows),
        "scanned": scans(query),
        "notes": notes,
    }


@app.get("/predictions/<object_id>")
def get_prediction(object_id: str):
    record = store.get(object_id, model.model_id)
    if record is None or not _caller().may_read(record):  # someone else's: as if it did not exist
        raise NotFoundError(f"no prediction yet for {object_id}")
    return _view(record)


@app.get("/batches")
def list_batches():
    """The caller's web batches of the last 90 days, newest first, with counts by status and outcome
    (decision, or label) under the current model. Signed in: only the caller's own."""
    caller = _caller()
    prefix = caller.batch_prefix if caller.subject is not None else None
    records = matching_records(queries.query, web_batches_query(model.model_id), STATS_MAX_RECORDS)
    return {"batches": [s.as_dict() for s in summarise_batches(filter(owned_by(prefix), records))]}


def _batch_records(batch: str, model_id: str | None):
    _caller().check_listing(batch)
    query = query_from_params({"batch": batch, "model": model_id or "all"}, model.model_id)
    return list(matching_records(queries.query, query, STATS_MAX_RECORDS))


@app.get("/batches/<batch>")
def describe_batch(batch: str):
    """What deleting the batch would remove: its files (every model version's records counted once per
    file) and the names of up to 50 of them."""
    batch = unquote(batch)
    records = _batch_records(batch, None)
    summaries = summarise_batches([r for r in records if r.model == model.model_id] or records, keep_names=True)
    if not summaries:
        raise NotFoundError(f"no batch {batch}")
    return {**summaries[0].as_dict(), "names": summaries[0].names, "records": len(records)}


@app.delete("/batches/<batch>")
def delete_batch(batch: str):
    """Deletes the batch's images (every stored version) and then its records (every model version)."""
    batch = unquote(batch)
    removal = remove_batch(batch, _batch_records(batch, None), batch_objects, record_remover)
    logger.info("batch deleted", extra=removal.as_dict())
    return removal.as_dict()


@app.get("/model")
def get_model():
    _caller()
    return model.card


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
