"""HTTP API for the web page and scripts: presigned uploads, predictions, CSV, the model card."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    NotFoundError,
    UnauthorizedError,
)

from spotter.access import AccessDenied, Caller
from spotter.adapters.wiring import prediction_queries, predictions, presigner
from spotter.api_views import ModelInfo, query_from_params, record_view
from spotter.config import Settings
from spotter.export import to_csv
from spotter.query import QueryError
from spotter.uploads import PlannedUpload, UploadRequestError, parse_files, plan_uploads

settings = Settings.from_env()
logger = Logger(service="spotter-api")
origins = list(settings.allowed_origins)
cors = CORSConfig(allow_origin=origins[0], extra_origins=origins[1:] or None, max_age=600,
                  allow_headers=["Content-Type", "Authorization"], expose_headers=["X-Next-Cursor"])
app = APIGatewayHttpResolver(cors=cors)
model = ModelInfo.load(settings.model_path)
queries, store, signer = prediction_queries(settings), predictions(settings), presigner(settings)


def _caller() -> Caller:
    if not settings.auth_enabled:
        return Caller.anonymous()
    claims = (app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    if not claims or "sub" not in claims:
        raise UnauthorizedError("sign in first")
    return Caller.from_claims(claims)


@app.exception_handler(AccessDenied)
def access_denied(exc: AccessDenied):
    return Response(status_code=403, content_type="application/json", body=json.dumps({"message": str(exc)}))


def _view(record) -> dict:
    return record_view(record, signer.view_url(record.key, settings.view_url_ttl))


@app.post("/uploads")
def create_uploads():
    try:
        files, batch = parse_files(app.current_event.json_body)
    except (UploadRequestError, ValueError) as exc:
        raise BadRequestError(str(exc)) from None
    batch = _caller().batch_for_upload(batch)
    uploads = []
    for plan in plan_uploads(files, batch, settings.uploads_bucket, settings.max_upload_bytes):
        if isinstance(plan, PlannedUpload):
            form = signer.upload_form(plan.key, plan.content_type, settings.max_upload_bytes, settings.upload_url_ttl)
            uploads.append({"name": plan.name, "key": plan.key, "objectId": plan.object_id, **form})
        else:
            uploads.append({"name": plan.name, "error": plan.error})
    logger.info("upload batch planned", extra={"batch": batch, "files": len(files)})
    return {"batch": batch, "expiresIn": settings.upload_url_ttl, "maxBytes": settings.max_upload_bytes,
            "uploads": uploads}


def _query(limit_default: int = 100):
    try:
        query = query_from_params(app.current_event.query_string_parameters or {}, model.model_id, limit_default)
    except QueryError as exc:
        raise BadRequestError(str(exc)) from None
    _caller().check_listing(query.batch)
    return query


@app.get("/predictions")
def list_predictions():
    try:
        records, cursor = queries.query(_query())
    except QueryError as exc:
        raise BadRequestError(str(exc)) from None
    return {"items": [_view(r) for r in records], "next": cursor}


CSV_BUDGET_BYTES = 4_500_000  # a Lambda response is at most 6 MB; pages of 500 rows stay well under the rest


@app.get("/predictions.csv")
def predictions_csv():
    """Every matching record; past the budget the reply stops at a page boundary and names the cursor
    for the rest in `X-Next-Cursor` (`spotter export` has no such limit)."""
    query, parts, size = _query(limit_default=500), [], 0
    while True:
        try:
            page, cursor = queries.query(query)
        except QueryError as exc:
            raise BadRequestError(str(exc)) from None
        parts.append(to_csv(page, header=not parts))
        size += len(parts[-1].encode())
        if not cursor or size >= CSV_BUDGET_BYTES:
            break
        query = query.replace(cursor=cursor)
    name = f"spotter-{query.batch or query.source or 'predictions'}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if cursor:
        headers["X-Next-Cursor"] = cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body="".join(parts), headers=headers)


@app.get("/predictions/<object_id>")
def get_prediction(object_id: str):
    record = store.get(object_id, model.model_id)
    if record is None or not _caller().may_read(record):  # someone else's: as if it did not exist
        raise NotFoundError(f"no prediction yet for {object_id}")
    return _view(record)


@app.get("/model")
def get_model():
    _caller()
    return model.card


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
