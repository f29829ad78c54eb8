"""Settings read from the environment, with defaults that suit the local stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from spotter.limits import MAX_FRAMES, MAX_IMAGE_PIXELS, MAX_JPEG_SCANS, MAX_UPLOAD_BYTES

CHECKOUT = Path(__file__).resolve().parents[2]  # the repository, when the package runs from one
REPO_MODEL_DIR = CHECKOUT / "model"  # where `spotter model build` writes
LAMBDA_MODEL_DIR = Path("/opt/model")
DEFAULT_MODEL_FILE = "skin-lesion-int8.tflite"
# Shipped models by short name (`spotter up --model count`, `make run MODEL=count`)
SHIPPED_MODELS = {"skin-lesion": DEFAULT_MODEL_FILE, "count": "coco-ssd-mobilenet-v1.tflite"}


def shipped(relative: str) -> Path:
    """A file or folder the CLI needs beside the code (`model/...`, `frontend`, `infra/template.yaml`,
    `functions`), by its path in the checkout: the package data a built wheel carries in
    `spotter/_data/` (setup.py copies it there), else the checkout itself (an editable install)."""
    packaged = resources.files("spotter").joinpath("_data", *relative.split("/"))
    if isinstance(packaged, Path) and packaged.exists():  # a package on disk, not in a zip
        return packaged
    return CHECKOUT / relative


def default_model_path() -> Path:
    """The demo model: from the Lambda layer when deployed, else the one shipped with the package."""
    deployed = LAMBDA_MODEL_DIR / DEFAULT_MODEL_FILE
    return deployed if deployed.exists() else shipped(f"model/{DEFAULT_MODEL_FILE}")


def aws_endpoint_url(env: Mapping[str, str] | None = None) -> str | None:
    """The AWS endpoint override (a moto server) as the environment says now; None: AWS itself."""
    return (os.environ if env is None else env).get("AWS_ENDPOINT_URL") or None


def running_in_lambda(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process is a Lambda runtime's (its runtime API is set): handlers build their
    services at INIT there; elsewhere whoever loads them does (spotter.local.lambda_runtime)."""
    return bool((os.environ if env is None else env).get("AWS_LAMBDA_RUNTIME_API"))


def target_names_from_env(env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The deployed names the environment gives the command line (`spotter.cli.target`)."""
    env = os.environ if env is None else env
    return {
        "bucket": env.get("UPLOADS_BUCKET"),
        "table": env.get("PREDICTIONS_TABLE"),
        "queue_url": env.get("CLASSIFY_QUEUE_URL"),
        "dead_letter_queue_url": env.get("CLASSIFY_DLQ_URL"),
    }


def model_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    """SPOTTER_MODEL (a path, or a shipped model's short name), or the shipped demo model."""
    env = os.environ if env is None else env
    return resolve_model(env["SPOTTER_MODEL"]) if env.get("SPOTTER_MODEL") else default_model_path()


def resolve_model(value: str | Path) -> Path:
    """A model path as given, or a shipped model's short name (SHIPPED_MODELS: `count`, `skin-lesion`)
    when no such file is here: from the Lambda layer when deployed, else from the package."""
    path = Path(value)
    name = str(value)
    if name in SHIPPED_MODELS and not path.exists():
        deployed = LAMBDA_MODEL_DIR / SHIPPED_MODELS[name]
        return deployed if deployed.exists() else shipped(f"model/{SHIPPED_MODELS[name]}")
    return path


def sql_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where `spotter sql` keeps its exports between runs: $SPOTTER_CACHE_DIR, else
    $XDG_CACHE_HOME/spotter/sql, else ~/.cache/spotter/sql."""
    env = os.environ if env is None else env
    if env.get("SPOTTER_CACHE_DIR"):
        return Path(env["SPOTTER_CACHE_DIR"])
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spotter" / "sql"


FULL_DISK_ENV = "SPOTTER_TEST_FULL_DISK_WHILE"


def full_disk_flag(env: Mapping[str, str] | None = None) -> str | None:
    """Tests only: the file whose existence makes every write to the local state folder fail as on a
    full disk (`spotter.local.persist`)."""
    return (os.environ if env is None else env).get(FULL_DISK_ENV) or None


def use_local_aws(endpoint_url: str, region: str = "us-east-1", keep_endpoint: bool = False) -> None:
    """Point this process's AWS SDK at a local moto server (the local stack) with throwaway
    credentials: any work there, and real ones must never be sent there. The one writer of the
    environment, for what botocore's credential chain and Powertools read from it themselves
    (`keep_endpoint`: an endpoint already set, e.g. by --endpoint-url, stays)."""
    if keep_endpoint:
        os.environ.setdefault("AWS_ENDPOINT_URL", endpoint_url)
    else:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ.update(
        AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION=region, AWS_REGION=region
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no metrics to print locally


def use_aws_endpoint(endpoint_url: str) -> None:
    """An explicit endpoint (`--endpoint-url`) for this process's clients, e.g. a moto server."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    uploads_bucket: str = "spotter-uploads"
    predictions_table: str = "spotter-predictions"
    model_path: Path = field(default_factory=default_model_path)
    labels_path: Path | None = None  # SPOTTER_LABELS: a labels file overriding the model card's labels
    detect_tiling: str | None = None  # DETECT_TILING: a detector's tiling over the card's (Tiling.overridden)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    top_k: int = 3
    upload_url_ttl: int = 300
    view_url_ttl: int = 900
    allowed_origins: tuple[str, ...] = ("*",)
    num_threads: int | None = None
    auth_enabled: bool = False
    # The decode budget (spotter.ingest.decode_sandbox): every image decodes in a worker process within
    # `decode_seconds` of wall time and `decode_memory_mb` of memory, or is rejected saying which.
    function_memory_mb: int = 1024  # AWS_LAMBDA_FUNCTION_MEMORY_SIZE (Lambda sets it)
    function_timeout_s: int = 30  # CLASSIFY_TIMEOUT_S: the template's ClassifyTimeout
    batch_size: int = 10  # CLASSIFY_BATCH_SIZE: the template's ClassifyBatchSize
    handler_reserve_mb: int = 320  # the classify process (model, boto3, ~210 MB) + the idle worker (~35 MB) + slack
    batch_reserve_s: float = 3.0  # per batch: S3 reads, inference and DynamoDB writes of every image
    decode_memory_override_mb: int | None = None  # DECODE_MEMORY_MB
    decode_seconds_override: float | None = None  # DECODE_SECONDS
    decode_isolation: str = "process"  # DECODE_ISOLATION: "process" (bounded) or "inline" (unbounded, tests)
    max_frames: int = MAX_FRAMES
    max_jpeg_scans: int = MAX_JPEG_SCANS
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL: clients are built for it (the local stack: moto)
    snap_start: bool = False  # AWS_LAMBDA_INITIALIZATION_TYPE=snap-start: this INIT is for a SnapStart snapshot
    log_level: str | None = None  # POWERTOOLS_LOG_LEVEL: the handlers' log level (None: Powertools' default)
    copy_bucket: str | None = None  # COPY_BUCKET: where the Parquet copy lives (its function only)
    copy_prefix: str = "predictions/"  # COPY_PREFIX
    # MAX_REFUSED_PER_HOUR: refused files one caller may have recorded in an hour (POST /uploads: 429 past it)
    max_refused_per_hour: int = 2000
    # CURSOR_KEY: signs the API's paging cursors (spotter.results.cursors); on AWS read from CURSOR_KEY_SECRET.
    # None: a random key per process (the local stack's cursors last while it runs).
    cursor_key: str | None = field(default=None, repr=False)
    cursor_key_secret: str | None = None  # CURSOR_KEY_SECRET: a Secrets Manager secret holding it (AWS)

    @property
    def decode_memory_mb(self) -> int:
        """Memory one decode may use on top of the worker's baseline: what the function has, less the
        classify process and the idle worker. 1024 MB -> 704 MB."""
        if self.decode_memory_override_mb:
            return self.decode_memory_override_mb
        return max(128, self.function_memory_mb - self.handler_reserve_mb)

    @property
    def decode_seconds(self) -> float:
        """Wall time one decode may take: a whole batch of images at the limit still fits the
        function's timeout. 30 s, batches of 10 -> 2.7 s."""
        if self.decode_seconds_override:
            return self.decode_seconds_override
        return round(max(1.0, (self.function_timeout_s - self.batch_reserve_s) / max(1, self.batch_size)), 2)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        defaults = cls()
        origins = env.get("ALLOWED_ORIGINS", "")
        threads = env.get("MODEL_THREADS")
        return cls(
            uploads_bucket=env.get("UPLOADS_BUCKET", defaults.uploads_bucket),
            predictions_table=env.get("PREDICTIONS_TABLE", defaults.predictions_table),
            model_path=model_path_from_env(env),
            labels_path=Path(env["SPOTTER_LABELS"]) if env.get("SPOTTER_LABELS") else None,
            detect_tiling=env.get("DETECT_TILING") or None,
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", defaults.max_image_pixels),
            top_k=_int(env, "TOP_K", defaults.top_k),
            upload_url_ttl=_int(env, "UPLOAD_URL_TTL", defaults.upload_url_ttl),
            view_url_ttl=_int(env, "VIEW_URL_TTL", defaults.view_url_ttl),
            allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()) or defaults.allowed_origins,
            num_threads=int(threads) if threads else None,
            auth_enabled=env.get("AUTH_ENABLED", "false").strip().lower() == "true",
            function_memory_mb=_int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", defaults.function_memory_mb),
            function_timeout_s=_int(env, "CLASSIFY_TIMEOUT_S", defaults.function_timeout_s),
            batch_size=_int(env, "CLASSIFY_BATCH_SIZE", defaults.batch_size),
            handler_reserve_mb=_int(env, "DECODE_RESERVE_MB", defaults.handler_reserve_mb),
            decode_memory_override_mb=_int(env, "DECODE_MEMORY_MB", 0) or None,
            decode_seconds_override=float(env["DECODE_SECONDS"]) if env.get("DECODE_SECONDS") else None,
            decode_isolation=env.get("DECODE_ISOLATION", defaults.decode_isolation).strip().lower() or "process",
            max_frames=_int(env, "MAX_IMAGE_FRAMES", defaults.max_frames),
            max_jpeg_scans=_int(env, "MAX_JPEG_SCANS", defaults.max_jpeg_scans),
            endpoint_url=aws_endpoint_url(env),
            snap_start=env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start",
            log_level=env.get("POWERTOOLS_LOG_LEVEL") or None,
            copy_bucket=env.get("COPY_BUCKET") or None,
            copy_prefix=env.get("COPY_PREFIX", defaults.copy_prefix),
            max_refused_per_hour=_int(env, "MAX_REFUSED_PER_HOUR", defaults.max_refused_per_hour),
            cursor_key=env.get("CURSOR_KEY") or None,
            cursor_key_secret=env.get("CURSOR_KEY_SECRET") or None,
        )
