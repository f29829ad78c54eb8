"""`spotter predict IMAGE...`: classify (or count objects in) local files with the production code path."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotter.config import Settings, resolve_model
from spotter.errors import DecoderLost, ModelError, RejectedImage
from spotter.files import read_regular
from spotter.ingest.imaging import DecodeLimits, decode_image
from spotter.limits import MAX_UPLOAD_BYTES
from spotter.model.classifier import Classifier
from spotter.model.detector import Detector
from spotter.model.loading import load_model

if TYPE_CHECKING:
    from spotter.ingest.decode_sandbox import BudgetedDecoder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "predict", help="classify local image files (or count their objects), one JSON line per image"
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument(
        "--model",
        help="a .tflite classifier or SSD detector, or a shipped one by name: 'count' or 'skin-lesion' "
        "(default: the shipped demo model)",
    )
    parser.add_argument(
        "--tiling",
        help="a detector's tiling over its card's: off, on, or tile=PX,overlap=SHARE,max_tiles=N",
    )
    parser.add_argument("--labels", type=Path, help="labels file, one per line (overrides the card)")
    parser.add_argument("--top", type=int, default=3, help="how many classes to list (default 3)")
    parser.add_argument(
        "--float-range",
        type=float,
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="input range for a float model without card or metadata (default -1 1)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The classify function's decode path: the same limits and the same budgeted decoder (a worker
    # process held to the decode memory and time budget; inline only where DECODE_ISOLATION=inline),
    # launched first so that its interpreter starts beside the model load, as in the function.
    from spotter.adapters.wiring import decode_limits, decoder

    settings = Settings.from_env()
    limits = decode_limits(settings)
    bounded = decoder(settings)
    try:
        if bounded is not None:
            bounded.start(wait=False)
        try:
            classifier = load_model(
                resolve_model(args.model) if args.model else settings.model_path,
                labels_path=args.labels or settings.labels_path,
                float_range=tuple(args.float_range),
                num_threads=settings.num_threads,
            )
            if isinstance(classifier, Detector):
                where = "--tiling" if args.tiling else "DETECT_TILING"
                tiling = classifier.tiling.overridden(args.tiling or settings.detect_tiling, where)
                classifier.with_tiling(tiling, where)
            elif args.tiling:
                raise ModelError("--tiling is for object detectors; this model is a classifier")
        except (ModelError, OSError) as exc:
            print(f"spotter predict: {exc}", file=sys.stderr)
            return 2
        return _classify_each(args, classifier, limits, bounded)
    finally:
        if bounded is not None:
            bounded.close()


def _classify_each(
    args: argparse.Namespace,
    classifier: Classifier | Detector,
    limits: DecodeLimits,
    bounded: BudgetedDecoder | None,
) -> int:
    failures = 0
    for path in args.images:
        result: dict[str, Any] = {"file": str(path)}
        try:
            data = read_regular(path, limits.max_bytes or MAX_UPLOAD_BYTES, "image")  # never a device or FIFO
            if isinstance(classifier, Detector):
                result.update(_count(classifier, data, limits, bounded))
                failures += "error" in result
                print(json.dumps(result, ensure_ascii=False), flush=True)
                continue
            if bounded is None:
                decoded = decode_image(data, classifier.input_size, limits)
            else:  # as ClassifyService.decode: the worker fits the picture to the model's input too
                decoded = bounded.decode(data, classifier.input_size, fit=classifier.contract)
            prediction = classifier.classify(decoded.image, top_k=args.top)
        except OSError as exc:
            result["error"] = f"cannot read file: {exc.strerror or exc}"
        except DecoderLost as exc:
            result["error"] = str(exc)
        except RejectedImage as exc:
            result["error"] = exc.reason
        else:
            result.update(
                label=prediction.label,
                score=prediction.score,
                top=[{"label": label, "score": score} for label, score in prediction.top],
            )
            if prediction.decision:  # the card's thresholded decision, beside the raw top label
                result.update(decision=prediction.decision, decision_rule=prediction.decision_rule)
            if prediction.positive_score is not None:  # the number the decision is taken on
                result["positive_score"] = prediction.positive_score
            if prediction.domain_distance is not None:
                result["domain_distance"] = prediction.domain_distance
        failures += "error" in result
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _count(detector: Detector, data: bytes, limits: DecodeLimits, bounded: BudgetedDecoder | None) -> dict[str, Any]:
    """A detector's JSON for one photo: counts per label, the boxes, and the tiles detected; or the
    error, as the classify function's record would say it."""
    try:
        if bounded is None:
            decoded = decode_image(data, detector.input_size, limits, use_draft=False)
            found = detector.detect_image(decoded.image)
        else:  # as ClassifyService.decode: the worker cuts and fits the tiles
            decoded = bounded.decode(
                data, detector.input_size, use_draft=False, fit=detector.contract, tiling=detector.tiling
            )
            found = detector.detect(list(decoded.views), decoded.plan)
    except DecoderLost as exc:
        return {"error": str(exc)}
    except RejectedImage as exc:
        return {"error": exc.reason}
    result: dict[str, Any] = {
        "task": "detect",
        "counts": found.counts,
        "objects": sum(found.counts.values()),
        "detections": found.stored(),
        "tiles": max(0, found.views_done - 1),
    }
    if found.tiling_note:
        result["tiling"] = found.tiling_note
    return result
