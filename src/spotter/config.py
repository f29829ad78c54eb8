"""Settings read from the environment, with defaults that suit the local stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "model"
LAMBDA_MODEL_DIR = Path("/opt/model")
DEFAULT_MODEL_FILE = "skin-lesion-int8.tflite"


def default_model_path() -> Path:
    """The shipped demo model: from the Lambda layer when deployed, else from the repo."""
    for folder in (LAMBDA_MODEL_DIR, REPO_MODEL_DIR):
        candidate = folder / DEFAULT_MODEL_FILE
        if candidate.exists():
            return candidate
    return REPO_MODEL_DIR / DEFAULT_MODEL_FILE


def _int(env: dict, name: str, default: int) -> int:
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
    idempotency_table: str | None = None
    model_path: Path = field(default_factory=default_model_path)
    max_upload_bytes: int = 25 * MiB
    max_image_pixels: int = 89_000_000
    top_k: int = 3
    upload_url_ttl: int = 300
    view_url_ttl: int = 900
    allowed_origins: tuple[str, ...] = ("*",)
    num_threads: int | None = None
    auth_enabled: bool = False

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        defaults = cls()
        origins = env.get("ALLOWED_ORIGINS", "")
        threads = env.get("MODEL_THREADS")
        return cls(
            uploads_bucket=env.get("UPLOADS_BUCKET", defaults.uploads_bucket),
            predictions_table=env.get("PREDICTIONS_TABLE", defaults.predictions_table),
            idempotency_table=env.get("IDEMPOTENCY_TABLE") or None,
            model_path=Path(env["SPOTTER_MODEL"]) if env.get("SPOTTER_MODEL") else default_model_path(),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", defaults.max_image_pixels),
            top_k=_int(env, "TOP_K", defaults.top_k),
            upload_url_ttl=_int(env, "UPLOAD_URL_TTL", defaults.upload_url_ttl),
            view_url_ttl=_int(env, "VIEW_URL_TTL", defaults.view_url_ttl),
            allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()) or defaults.allowed_origins,
            num_threads=int(threads) if threads else None,
            auth_enabled=env.get("AUTH_ENABLED", "false").strip().lower() == "true",
        )
