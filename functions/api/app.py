"""HTTP API for the web page and scripts: presigned uploads, predictions, CSV, the model card."""

import base64
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import (
    NotFoundError,
    ServiceError,
    UnauthorizedError,
)
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from spotter.adapters.wiring import (
    batch_removal,
    batch_tombstones,
    prediction_queries,
    predictions,
    presigner,
    refusal_counter,
)
from spotter.config import Settings, running_in_lambda
from spotter.errors import BatchGone
from spotter.keys import ORIGINAL_NAME_METADATA, encode_original_name, sanitise_file_name
from spotter.ports import (
    BatchObjects,
    BatchTombstones,
    PredictionQueries,
    PredictionStore,
    Presigner,
    RecordRemover,
    RefusalCounter,
)
from spotter.records import PredictionRecord
from spotter.results.names import CachedNames, visible_names
from spotter.results.query import PredictionQuery, QueryError, all_pages
from spotter.results.scoring import TruthError, parse_truth_table, score_batch, score_records
from spotter.results.stats import OBJECTS_COLUMN, counting_note, matching_records, parse_dimensions, scans, summarise
from spotter.results.versions import spanned
from spotter.web.access import AccessDenied, Caller, cross_site_refusal
from spotter.web.batches import (
    BATCHES_PAGE_RECORDS,
    batch_prefix,
    batches_page,
    remove_batch,
    summarise_batches,
    web_batches_query,
)
from spotter.web.responses import RESPONSE_BUDGET_BYTES, csv_pages, json_page
from spotter.web.uploads import (
    MAX_BODY_BYTES,
    PlannedUpload,
    TooManyRefusals,
    UploadRequestError,
    check_refusal_cap,
    parse_body,
    parse_files,
    plan_uploads,
    refusal_record,
    reserve_refusals,
)
from spotter.web.views import ModelInfo, query_from_params, record_view, view_type

logger = Logger(service="spotter-api")
router = APIGatewayHttpRouter()  # the routes; `init` puts them behind a resolver with the settings' CORS
STATS_MAX_RECORDS = 20_000  # about what a 10 s function reads; past it: narrow the filters, or Athena


@dataclass
class Services:
    """What the routes use, built once per cold start from the settings (`init`)."""

    settings: Settings
    app: APIGatewayHttpResolver
    model: ModelInfo
    queries: PredictionQueries
    store: PredictionStore
    signer: Presigner
    batch_objects: BatchObjects
    record_remover: RecordRemover
    tombstones: BatchTombstones
    refusals: RefusalCounter
    csv_budget_bytes: int = RESPONSE_BUDGET_BYTES
    batches_page_records: int = BATCHES_PAGE_RECORDS  # records a GET /batches page reads
    batch_read_page: int = 1000  # records a batch's describe or delete reads a page (tests lower it)
    names: CachedNames | None = None  # label/source/model lookups (built from `queries` when None)

    def __post_init__(self) -> None:
        if self.names is None:
            self.names = CachedNames(self.queries)


def resolver(settings: Settings) -> APIGatewayHttpResolver:
    """The routes behind a resolver that answers CORS for the settings' origins."""
    origins = list(settings.allowed_origins)
    cors = CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:] or None,
        max_age=600,
        allow_headers=["Content-Type", "Authorization"],
        expose_headers=["X-Next-Cursor", "X-Notes"],
    )
    app = APIGatewayHttpResolver(cors=cors)
    app.include_router(router)
    return app


def build(settings: Settings) -> Services:
    batch_objects, record_remover = batch_removal(settings)
    return Services(
        settings=settings,
        app=resolver(settings),
        model=ModelInfo.load(settings.model_path, settings.labels_path),
        queries=prediction_queries(settings),
        store=predictions(settings),
        signer=presigner(settings),
        batch_objects=batch_objects,
        record_remover=record_remover,
        tombstones=batch_tombstones(settings),
        refusals=refusal_counter(settings),
    )


# Built once per cold start by `init`: at Lambda's INIT (below), or by whoever loads this module
# (the local stack and tests, spotter.local.lambda_runtime), with settings of their own.
_services: Services | None = None


def init(settings: Settings | None = None, services: Services | None = None) -> Services:
    """Build the services from `settings` (default: the environment's), or take `services` as built."""
    global _services
    if services is None:
        settings = settings if settings is not None else Settings.from_env()
        if settings.log_level:
            logger.setLevel(settings.log_level)
        services = build(settings)
    _services = services
    return services


def services() -> Services:
    """The services this cold start built (building them now if nothing has)."""
    return _services if _services is not None else init()


def _caller() -> Caller:
    if not services().settings.auth_enabled:
        return Caller.anonymous()
    claims = (
        (router.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    )
    if not claims or "sub" not in claims:
        raise UnauthorizedError("sign in first")
    return Caller.from_claims(claims)


# Every error a route may raise, and the HTTP status it answers with: the one place they are mapped.
ERROR_STATUS: dict[type[Exception], int] = {
    QueryError: 400,
    UploadRequestError: 400,
    UnauthorizedError: 401,
    AccessDenied: 403,
    NotFoundError: 404,
    TooManyRefusals: 429,
    BatchGone: 410,
    TruthError: 400,
}


def error_response(exc: Exception) -> Response:
    """`exc` as its status from ERROR_STATUS, with its message as JSON (Powertools' own error shape)."""
    status = next(status for kind, status in ERROR_STATUS.items() if isinstance(exc, kind))
    message = exc.msg if isinstance(exc, ServiceError) else str(exc)
    return Response(
        status_code=status, content_type="application/json", body=json.dumps({"statusCode": status, "message": message})
    )


router.exception_handler(list(ERROR_STATUS))(error_response)


def _view(record) -> dict:
    s = services()
    kind = view_type(record)
    return record_view(record, s.signer.view_url(record.key, s.settings.view_url_ttl, kind) if kind else None)


def _raw_body() -> bytes:
    """The body as bytes: Powertools' `decoded_body` decodes base64 bodies as UTF-8 and raises on
    anything else, which would be a 500 for a client's mistake."""
    event = router.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8", "surrogatepass")


@router.post("/uploads")
def create_uploads():
    s = services()
    settings = s.settings
    files, batch = parse_files(parse_body(_raw_body()))
    batch = _caller().batch_for_upload(batch)
    if s.tombstones.is_deleted(batch):  # a page still uploading into a batch it deleted: nothing is signed
        raise BatchGone(f"batch {batch} has been deleted: start a new batch to upload")
    plans = plan_uploads(files, batch, settings.uploads_bucket, settings.max_upload_bytes)
    caller = _caller()
    refused = sum(not isinstance(plan, PlannedUpload) for plan in plans)
    owner = caller.owner if caller.subject is not None else None
    check_refusal_cap(s.queries.query, owner, refused, settings.max_refused_per_hour)  # 429 before anything
    reserve_refusals(s.refusals, owner, refused, settings.max_refused_per_hour)  # atomic: no race past it
    uploads = []
    for plan in plans:
        if isinstance(plan, PlannedUpload):
            # the name as chosen rides along as signed metadata; the key holds only a sanitised copy
            metadata = {ORIGINAL_NAME_METADATA: encode_original_name(plan.name)}
            form = s.signer.upload_form(
                plan.key, plan.content_type, settings.max_upload_bytes, settings.upload_url_ttl, metadata
            )
            uploads.append({"name": plan.name, "key": plan.key, "objectId": plan.object_id, **form})
        else:  # recorded, so the batch still lists it after a reload and in its CSV
            s.store.put(
                refusal_record(plan, batch, settings.uploads_bucket, s.model.card["name"], s.model.card["version"])
            )
            uploads.append({"name": plan.name, "error": plan.error, "objectId": plan.object_id})
    logger.info("upload batch planned", extra={"batch": batch, "files": len(files)})
    return {
        "batch": batch,
        "expiresIn": settings.upload_url_ttl,
        "maxBytes": settings.max_upload_bytes,
        "uploads": uploads,
    }


def _query(limit_default: int = 100) -> tuple[PredictionQuery, list[str]]:
    """The query string as a query, after the caller's access check, with label, source and model
    as the table spells them, and the notes saying where the case differed. A caller who may see every
    record (sign-in off, analysts) gets `stored_names` as `spotter query` does, through `CachedNames`
    (an unknown name is a 400 listing the known ones, from a list read at most every few minutes, never
    a scan per name); a researcher gets `visible_names`: no table lookup, no list of others' names.
    The model this API serves by default is not looked up: only one the caller named."""
    s = services()
    params = router.current_event.query_string_parameters or {}
    query = query_from_params(params, s.model.model_id, limit_default)
    caller = _caller()
    caller.check_listing(query.batch)
    if not caller.sees_everything:
        return visible_names(query, s.model.card.get("labels") or [], s.model.model_id)
    if s.names is None:  # wired for every caller who sees everything
        raise RuntimeError("the API was wired without its name lookups")
    if params.get("model"):
        return s.names.stored_names(query)
    resolved, notes = s.names.stored_names(query.replace(model=None))
    return resolved.replace(model=query.model), notes


@router.get("/predictions")
def list_predictions():
    query, notes = _query()
    page = json_page(services().queries.query, query, _view)
    note = spanned(item.get("model") for item in page["items"])  # model=all: this page mixes versions
    return {**page, "notes": [*notes, note] if note else notes}


@router.get("/predictions.csv")
def predictions_csv():
    """Every matching record, in whole pages up to the response budget; past it the reply names the
    cursor for the rest in `X-Next-Cursor` (`spotter export` has no such limit). Where a name's case
    differed, `X-Notes` says so (a JSON list, as `notes` in /predictions)."""
    s = services()
    query, notes = _query(limit_default=500)
    body, cursor = csv_pages(s.queries.query, query, s.csv_budget_bytes)
    name = sanitise_file_name(f"spotter-{query.batch or query.source or 'predictions'}.csv")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if cursor:
        headers["X-Next-Cursor"] = cursor
    if notes:
        headers["X-Notes"] = json.dumps(notes)  # ASCII: any other character as a \u escape
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


@router.get("/stats")
def prediction_stats():
    """Counts and score summaries per group (`by=label,source,...`) of what /predictions would list.
    Label, source and model match without regard to case, as in `spotter stats` and /predictions
    (`notes` says where the case differed); an unknown one is a 400 listing the known names.
    An object detector's records count their objects per label, and add `objects` to every group and
    to the reply (spotter.results.stats.summarise); `records` counts records."""
    queries = services().queries
    by = parse_dimensions((router.current_event.query_string_parameters or {}).get("by"))
    query, notes = _query()
    models: Counter[str] = Counter()

    def counted(records: Iterable[PredictionRecord]) -> Iterator[PredictionRecord]:
        for record in records:
            models[record.model] += 1
            yield record

    rows = summarise(counted(matching_records(queries.query, query, STATS_MAX_RECORDS)), by, label=query.label)
    note = spanned(models.elements(), by_model="model" in by)  # model=all: say that versions are mixed
    counting = counting_note(rows, by)  # a detector's records by label: `count` counts objects
    notes = [*notes, *(n for n in (note, counting) if n)]
    reply = {
        "by": list(by),
        "groups": rows,
        "records": sum(models.values()),
        "scanned": scans(query),
        "notes": notes,
    }
    if any(OBJECTS_COLUMN in r for r in rows):  # some detector's records: every group has `objects`
        reply["objects"] = sum(r[OBJECTS_COLUMN] or 0 for r in rows)
    return reply


@router.get("/predictions/<object_id>")
def get_prediction(object_id: str):
    s = services()
    record = s.store.get(object_id, s.model.model_id)
    if record is None or not _caller().may_read(record):  # someone else's: as if it did not exist
        raise NotFoundError(f"no prediction yet for {object_id}")
    return _view(record)


@router.get("/batches")
def list_batches():
    """The caller's web batches of the last 90 days, newest first, with counts by status and outcome
    (decision, or label) under the current model. Signed in: only the caller's own, read through the
    by-owner index (nobody else's records are read). A page reads up to `batches_page_records` records;
    `next` is the cursor for the rest (`?cursor=`), and a batch cut by the page boundary is summarised
    on both pages (add up the summaries of one name)."""
    s = services()
    caller = _caller()
    owner = caller.owner if caller.subject is not None else None
    cursor = (router.current_event.query_string_parameters or {}).get("cursor") or None
    query = web_batches_query(s.model.model_id, owner).replace(cursor=cursor)
    summaries, next_cursor = batches_page(s.queries.query, query, s.batches_page_records)
    return {"batches": [b.as_dict() for b in summaries], "next": next_cursor}


def _batch_records(batch: str, model_id: str | None) -> Iterator[PredictionRecord]:
    """Every record of the batch (of `model_id`, or every model version), page by page through the
    batch index: no cap, so a batch of any size can be described and deleted."""
    s = services()
    _caller().check_listing(batch)
    query = query_from_params({"batch": batch, "model": model_id or "all"}, s.model.model_id)
    for page in all_pages(s.queries.query, query.replace(limit=s.batch_read_page, cursor=None)):
        yield from page


@router.get("/batches/<batch>")
def describe_batch(batch: str):
    """What deleting the batch would remove: its files (every model version's records counted once per
    file) and the names of up to 50 of them."""
    batch = unquote(batch)
    records = list(_batch_records(batch, None))
    summaries = summarise_batches(
        [r for r in records if r.model == services().model.model_id] or records, keep_names=True
    )
    if not summaries:
        raise NotFoundError(f"no batch {batch}")
    return {**summaries[0].as_dict(), "names": summaries[0].names, "records": len(records)}


@router.delete("/batches/<batch>")
def delete_batch(batch: str):
    """Deletes the batch's images (every stored version) and then its records (every model version)."""
    batch = unquote(batch)
    s = services()
    batch_prefix(batch)  # a malformed name is a 400 before anything is stored
    _caller().check_listing(batch)
    removal = remove_batch(batch, lambda: _batch_records(batch, None), s.batch_objects, s.record_remover, s.tombstones)
    logger.info("batch deleted", extra=removal.as_dict())
    return removal.as_dict()


def _batch_to_score(batch: str) -> tuple[list[PredictionRecord], tuple[str, ...], str | None]:
    """The batch's records under the served model (404 when it has none), its labels and positive label.
    A record without a truth takes the one its image has under another model version: a diagnosis is
    the researcher's, about the image, whichever model scored it."""
    s = services()
    every = list(_batch_records(batch, None))
    records = [r for r in every if r.model == s.model.model_id]
    if not records:
        raise NotFoundError(f"no batch {batch} under the model served now ({s.model.model_id})")
    elsewhere = {r.object_id: r.truth for r in every if r.truth is not None and r.model != s.model.model_id}
    for record in records:
        if record.truth is None and record.object_id in elsewhere:
            record.truth = elsewhere[record.object_id]
    card = s.model.card
    decision = card.get("decision") or {}
    labels = tuple(card.get("labels") or ())
    positive = decision.get("positive", labels[1] if len(labels) == 2 else None) if decision else None
    return records, labels, positive


@router.put("/batches/<batch>/truth")
def set_batch_truth(batch: str):
    """The researcher's diagnoses for the batch's images, as CSV (`{"csv": "file_name,diagnosis\\n..."}`):
    stored on the records as `truth` (the owner only; images the file does not name lose theirs), and
    the batch scored against them (spotter.results.scoring)."""
    batch = unquote(batch)
    batch_prefix(batch)
    _caller().check_owner(batch)
    raw = _raw_body()
    if len(raw) > MAX_BODY_BYTES:
        raise TruthError(
            f"the diagnoses file is over {MAX_BODY_BYTES // (1024 * 1024)} MB: keep only the name and truth "
            "columns of this batch's images, or score it with `spotter score`"
        )
    body = parse_body(raw)
    if not isinstance(body, dict) or not isinstance(body.get("csv"), str):
        raise TruthError('send {"csv": "<the diagnoses file\'s text>"}: a name column and a truth column')
    table = parse_truth_table(body["csv"])
    records, labels, positive = _batch_to_score(batch)
    score = score_batch(table, records, labels, positive)
    if not score.truths:
        raise TruthError(
            f"no row of the file gave an image of the batch a truth ({len(score.unmatched_rows)} matched no image, "
            f"{len(score.unknown_truths)} had a truth that is not one of {', '.join(labels)}, "
            f"{len(score.ambiguous_rows)} fit several images): nothing was changed"
        )
    store = services().store
    saved = 0
    for record in records:
        if record.object_id in score.kept:  # named with a truth that could not be used: its own stays
            continue
        truth = score.truths.get(record.object_id)
        if truth != record.truth:
            saved += store.set_truth(record.object_id, record.model, truth)
    for record in records:  # what is stored now: an image named with an unusable truth keeps its own
        if record.object_id not in score.kept:
            record.truth = score.truths.get(record.object_id)
    answer = score_records(records, labels, positive)  # the same answer a reload (GET .../score) gives
    answer.unmatched_rows, answer.unknown_truths = score.unmatched_rows, score.unknown_truths
    answer.ambiguous_rows, answer.conflicting_rows = score.ambiguous_rows, score.conflicting_rows
    answer.name_column, answer.truth_column = score.name_column, score.truth_column
    answer.kept = {r.object_id for r in records if r.object_id in score.kept and r.truth}  # had one to keep
    logger.info("batch truth set", extra={"batch": batch, "matched": answer.matched, "changed": saved})
    return {"batch": batch, **answer.as_dict()}


@router.get("/batches/<batch>/score")
def get_batch_score(batch: str):
    """The batch scored against the diagnoses stored with its records (empty when none were given)."""
    batch = unquote(batch)
    batch_prefix(batch)  # a malformed name is a 400
    _caller().check_listing(batch)
    try:
        records, labels, positive = _batch_to_score(batch)
    except NotFoundError:  # nothing classified yet under the model served now: nothing scored yet
        if next(iter(_batch_records(batch, None)), None) is None:
            raise NotFoundError(f"no batch {batch}") from None  # deleted, or never made: as GET /batches/{batch}
        card = services().model.card
        labels = tuple(card.get("labels") or ())
        positive = (card.get("decision") or {}).get("positive")
        records = []
    return {"batch": batch, **score_records(records, labels, positive).as_dict()}


@router.get("/model")
def get_model():
    _caller()
    return services().model.card


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    s = services()
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "")
    refusal = cross_site_refusal(method, event.get("headers") or {}, s.settings.allowed_origins)
    if refusal is not None:
        status, message = refusal
        body = json.dumps({"statusCode": status, "message": message})
        return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}
    return s.app.resolve(event, context)


if running_in_lambda():  # Lambda's INIT: the clients and the model card are ready before the first event
    init()
